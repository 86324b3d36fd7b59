// JSON views of lookup results shared by find-node, get-peers and announce.
import { commonPrefixBits } from '../core/dht/node-id.js';
import type { LookupNode, LookupResult } from '../core/dht/lookup.js';
import { toHex } from '../core/wire/hex.js';
import { address, versionFields } from './records.js';

export interface NodeRecord {
  id: string;
  address: string;
  distance_bits: number;
  rtt_ms: number;
  client: string | null;
  version_hex: string | null;
}

export function lookupNodeRecord(n: LookupNode, target: Uint8Array): NodeRecord {
  return {
    id: toHex(n.id),
    address: address(n),
    distance_bits: commonPrefixBits(n.id, target),
    rtt_ms: n.rttMs,
    ...versionFields(n.version),
  };
}

export function lookupStats(r: LookupResult): Record<string, unknown> {
  return {
    queries: r.stats.queries,
    replies: r.stats.replies,
    timeouts: r.stats.timeouts,
    errors: r.stats.errors,
    rounds: r.stats.rounds,
    duration_ms: r.stats.ms,
    end: r.end,
  };
}

export function statsLine(r: LookupResult): string {
  const s = r.stats;
  return `${s.queries} queries, ${s.replies} replies, ${s.timeouts} timeouts, ${s.errors} errors, ${s.rounds} rounds, ${Math.round(s.ms)} ms (${r.end})`;
}
