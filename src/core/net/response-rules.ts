// What a reply must contain, per method. The decoder already checked every field's type and
// length; this checks presence and method-level consistency. A reply that fails is reported as
// 'bad_reply' (counted as a failure, like libtorrent does for sample_infohashes).
import type { BValue, KrpcResponse } from '../wire/types.js';

/** Largest interval BEP 51 allows (6 h). */
export const MAX_SAMPLE_INTERVAL_S = 21600;

/** Returns why a response to `method` is unusable, or null when it is acceptable. */
export function checkResponse(method: string, msg: KrpcResponse): string | null {
  const r = msg.r;
  if (!(r.id instanceof Uint8Array) || r.id.length !== 20) return 'reply id is not 20 bytes';
  switch (method) {
    case 'find_node':
      // An empty nodes string is a valid "I know nobody closer"; a missing one is not an answer.
      if (r.nodes === undefined && r.nodes6 === undefined) return 'find_node reply without nodes or nodes6';
      return null;
    case 'get_peers':
      if (r.token === undefined && r.values === undefined && r.nodes === undefined && r.nodes6 === undefined) {
        return 'get_peers reply without token, values or nodes';
      }
      return null;
    case 'sample_infohashes':
      return checkSamples(msg);
    case 'get':
      return checkGet(msg);
    default:
      // ping, announce_peer, put and unknown methods: the id is the whole answer.
      return null;
  }
}

function checkSamples(msg: KrpcResponse): string | null {
  const r = msg.r;
  const raw = msg.rawBody;
  if (raw.samples === undefined) {
    return r.nodes !== undefined || r.nodes6 !== undefined
      ? 'sample_infohashes not supported (nodes without samples)'
      : 'sample_infohashes reply without samples';
  }
  if (raw.samples instanceof Uint8Array && raw.samples.length % 20 !== 0) {
    return `sample_infohashes samples length ${raw.samples.length} is not a multiple of 20`;
  }
  if (r.samples === undefined) return 'sample_infohashes samples unreadable';
  const interval = numberOf(raw.interval);
  if (interval === undefined) return 'sample_infohashes reply without interval';
  if (interval < 0 || interval > MAX_SAMPLE_INTERVAL_S) return `sample_infohashes interval ${interval} out of range (0-21600)`;
  const num = numberOf(raw.num);
  if (num === undefined) return 'sample_infohashes reply without num';
  if (num < 0) return `sample_infohashes num ${num} is negative`;
  return null;
}

function checkGet(msg: KrpcResponse): string | null {
  const r = msg.r;
  if (r.token === undefined && r.v === undefined && r.nodes === undefined && r.nodes6 === undefined) {
    return 'get reply without token, v or nodes';
  }
  // A mutable item travels with its key, signature and sequence number, or not at all.
  if (r.k !== undefined || r.sig !== undefined) {
    if (r.v === undefined) return 'get reply with k/sig but no v';
    if (r.k === undefined || r.sig === undefined || r.seq === undefined) return 'get reply with a mutable item lacking k, sig or seq';
  }
  return null;
}

function numberOf(v: BValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}
