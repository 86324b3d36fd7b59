// A KRPC reply dictionary (`r`) as JSON for `query` and `--raw`: the keys we know are decoded
// with the wire layer's decoders (ids as hex, compact nodes and peers as addresses, samples as
// infohashes, BEP 33 filters with their estimate); what we cannot place keeps the generic form
// of bvalueToJson, `hex:` included. A known key whose value has the wrong shape (a 19-byte id, a
// ragged nodes string) is shown generically too, so nothing is hidden or misread.
import { bloomEstimate } from '../core/dht/bloom.js';
import { roundEstimate } from '../core/scrape/tally.js';
import { decodeNodes, decodePeer, ID_LENGTH, NODE4_LENGTH, NODE6_LENGTH } from '../core/wire/compact.js';
import { toHex } from '../core/wire/hex.js';
import { BLOOM_LENGTH } from '../core/wire/krpc-view.js';
import type { BDict, BValue } from '../core/wire/types.js';
import { address, bvalueToJson } from './records.js';

type Decoder = (v: BValue) => unknown;

function bytes(v: BValue): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** Opaque bytes with a meaning (ids, tokens, keys): plain hex, optionally of one exact length. */
const hexOf =
  (length?: number): Decoder =>
  (v) =>
    bytes(v) && (length === undefined || v.length === length) ? toHex(v) : undefined;

const nodesOf =
  (family: 4 | 6): Decoder =>
  (v) => {
    const size = family === 4 ? NODE4_LENGTH : NODE6_LENGTH;
    if (!bytes(v) || v.length % size !== 0) return undefined;
    return decodeNodes(v, family).nodes.map((n) => ({ id: toHex(n.id), address: address(n) }));
  };

function peerOf(v: BValue): string | undefined {
  const p = bytes(v) ? decodePeer(v) : null;
  return p ? address(p) : undefined;
}

function samplesOf(v: BValue): string[] | undefined {
  if (!bytes(v) || v.length % ID_LENGTH !== 0) return undefined;
  const out: string[] = [];
  for (let i = 0; i < v.length; i += ID_LENGTH) out.push(toHex(v.subarray(i, i + ID_LENGTH)));
  return out;
}

/** `values`: each compact peer as `host:port`; an entry of another shape keeps the generic form. */
function valuesOf(v: BValue): unknown[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((p) => peerOf(p) ?? bvalueToJson(p));
}

/** A BEP 33 filter: the estimated count of distinct IPs (one decimal, null when saturated) and its bits. */
function bloomOf(v: BValue): Record<string, unknown> | undefined {
  if (!bytes(v) || v.length !== BLOOM_LENGTH) return undefined;
  const estimate = roundEstimate(bloomEstimate(v));
  return { estimate, ...(estimate === null ? { saturated: true } : {}), hex: toHex(v) };
}

const KNOWN: Record<string, Decoder> = {
  id: hexOf(ID_LENGTH),
  target: hexOf(ID_LENGTH),
  info_hash: hexOf(ID_LENGTH),
  token: hexOf(),
  nodes: nodesOf(4),
  nodes6: nodesOf(6),
  values: valuesOf,
  samples: samplesOf,
  BFsd: bloomOf,
  BFse: bloomOf,
  BFpe: bloomOf,
  ip: peerOf,
  k: hexOf(32),
  sig: hexOf(64),
};

/** The reply dictionary with every key we know decoded (see the file comment). */
export function replyToJson(body: BDict): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(body)) {
    const decoded = Object.hasOwn(KNOWN, key) ? KNOWN[key](body[key]) : undefined;
    out[key] = decoded !== undefined ? decoded : bvalueToJson(body[key]);
  }
  return out;
}
