// The `node` command's stats record (NDJSON `stats` events and the final summary, docs/output.md)
// and its one-line text form.
import type { FullNode } from '../core/dht/full-node.js';
import { idToHex } from '../core/dht/node-id.js';

/** What the command knows beyond the node's own counters. */
export interface NodeRunFigures {
  uptimeMs: number;
  infohashesSeen: number;
  infohashesDistinct: number;
  /** --json events the reader was too slow for (dropped rather than queued without bound). */
  eventsDropped: number;
  cpu: { user: number; system: number };
  rssBytes: number;
}

export function nodeStatsRecord(node: FullNode, run: NodeRunFigures, at: Date = new Date()): Record<string, unknown> {
  const client = node.client;
  const t = client.table.stats();
  const c = node.responder.counters;
  const k = client.engine.counters;
  const byMethod: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(c.byMethod)) if (m.received > 0) byMethod[name] = { ...m };
  const consensus = client.externalIp.consensus();
  return {
    at: at.toISOString(),
    uptime_ms: run.uptimeMs,
    id: idToHex(client.table.id),
    nodes: t.nodes,
    good: t.good,
    questionable: t.questionable,
    bad: t.bad,
    replacements: t.replacements,
    buckets: t.buckets,
    queries_in: c.queries,
    answered: c.answered,
    errors: c.errors,
    refused: c.refused,
    rate_limited: c.rateLimited,
    malformed: c.malformed,
    read_only: c.readOnly,
    bad_tokens: c.badTokens,
    by_method: byMethod,
    infohashes_seen: run.infohashesSeen,
    infohashes_distinct: run.infohashesDistinct,
    infohashes_stored: node.peers.infohashCount,
    peers_stored: node.peers.peerCount,
    items_stored: node.items.size,
    item_puts_stored: node.itemStats.stored,
    queries_out: k.queriesSent,
    replies_in: k.responses,
    timeouts: k.timeouts,
    pings_sent: node.service.counters.pingsSent,
    refreshes: node.service.counters.refreshes,
    external_ip: consensus?.ip ?? null,
    events_dropped: run.eventsDropped,
    cpu_user_us: run.cpu.user,
    cpu_system_us: run.cpu.system,
    rss_bytes: run.rssBytes,
  };
}

export function humanNodeStats(s: Record<string, unknown>): string {
  const uptimeS = Math.max(1, Number(s.uptime_ms ?? 0) / 1000);
  const rate = (Number(s.queries_in ?? 0) / uptimeS).toFixed(1);
  return (
    `${s.nodes} nodes (${s.good} good, ${s.buckets} buckets); ` +
    `${s.queries_in} queries in (${rate}/s), ${s.answered} answered, ${s.errors} errors, ${s.rate_limited} rate-limited, ${s.refused} refused; ` +
    `${s.infohashes_seen} info-hashes seen (${s.infohashes_distinct} distinct), ${s.infohashes_stored} stored; ` +
    (Number(s.events_dropped) > 0 ? `${s.events_dropped} events dropped (slow reader); ` : '') +
    `rss ${Math.round(Number(s.rss_bytes ?? 0) / 1048576)} MB`
  );
}
