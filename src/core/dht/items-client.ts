// BEP 44 as a client: `getItem` runs an iterative `get` lookup and keeps the best verified
// item (an immutable one, or the mutable one with the highest seq); `putItem` runs that lookup
// for the write tokens and the current seq, then sends `put` to the k closest token holders.
// Every item a node returns is verified (hash / signature); bad ones are ignored and counted.
import type { KrpcResponse } from '../wire/types.js';
import { decode, encode } from '../wire/bencode.js';
import {
  checkSalt,
  checkValue,
  immutableTarget,
  MAX_SEQ,
  mutableTarget,
  publicKeyFromSeed,
  signMutableItem,
  verifyItem,
} from './item-rules.js';
import { describeFailure, type DhtClient } from './dht-client.js';
import type { LookupNode, LookupOptions, LookupResult } from './lookup.js';
import { compareDistance, equals } from './node-id.js';

export interface GetItemOptions {
  /** Salt of a mutable item (readers must know it: nodes do not return it). */
  salt?: Uint8Array;
  /** Only accept mutable items signed by this key. */
  pubkey?: Uint8Array;
  /** Ask nodes to send the item only when they hold a newer seq (BEP 44 get with seq). */
  seq?: bigint;
  /** Overrides for the lookup (alpha, timeouts, caps, signal). */
  lookup?: Partial<LookupOptions>;
}

export interface FoundItem {
  kind: 'immutable' | 'mutable';
  /** The value as bencoded bytes, exactly as hashed / signed. */
  vRaw: Uint8Array;
  k?: Uint8Array;
  salt?: Uint8Array;
  seq?: bigint;
  sig?: Uint8Array;
  /** Nodes that returned this exact item. */
  from: LookupNode[];
}

export interface BadItem {
  node: LookupNode;
  reason: string;
}

export interface GetItemResult {
  target: Uint8Array;
  /** The best verified item, or null when no node returned a valid one. */
  item: FoundItem | null;
  /** Nodes that returned a valid item (any seq). */
  holders: number;
  /**
   * Highest seq a node reported without the item (it held nothing newer than the seq we
   * asked with). Unverified: only a hint that the DHT is not ahead of us.
   */
  seqOnly?: bigint;
  /** Items that failed verification (wrong hash, bad signature, other key): ignored. */
  bad: BadItem[];
  lookup: LookupResult;
}

/** Runs a BEP 44 `get` lookup for `target` and verifies every returned item. */
export async function getItem(node: DhtClient, target: Uint8Array, opts: GetItemOptions = {}): Promise<GetItemResult> {
  const salt = opts.salt && opts.salt.length > 0 ? opts.salt : undefined;
  const bad: BadItem[] = [];
  let best: FoundItem | null = null;
  let holders = 0;
  let seqOnly: bigint | undefined;

  const onReply = (msg: KrpcResponse, from: LookupNode): void => {
    const r = msg.r;
    if (msg.warnings?.some((w) => w.startsWith('v:'))) {
      // The wire layer dropped a v that was not canonical bencode: a bad item all the same.
      bad.push({ node: from, reason: 'v is not canonical bencode' });
      return;
    }
    if (r.v_raw === undefined) {
      if (r.seq !== undefined && (seqOnly === undefined || r.seq > seqOnly)) seqOnly = r.seq;
      return;
    }
    const candidate = {
      vRaw: r.v_raw,
      ...(r.k !== undefined ? { k: r.k, seq: r.seq, sig: r.sig } : {}),
      ...(salt ? { salt } : {}),
    };
    const invalid = verifyItem(target, candidate);
    if (invalid) {
      bad.push({ node: from, reason: invalid.code === 206 ? 'bad signature' : invalid.message });
      return;
    }
    if (opts.pubkey && r.k !== undefined && !equals(r.k, opts.pubkey)) {
      bad.push({ node: from, reason: 'signed by another key' });
      return;
    }
    holders++;
    best = better(best, candidate, from);
  };

  const lookup = await node.lookup(
    target,
    {
      method: 'get',
      args: () => ({ id: node.engine.id, target, ...(opts.seq !== undefined ? { seq: opts.seq } : {}) }),
      onReply,
    },
    opts.lookup ?? {},
  );
  return { target, item: best, holders, ...(seqOnly !== undefined ? { seqOnly } : {}), bad, lookup };
}

/** Keeps the item with the highest seq; the same item from another node adds a source. */
function better(
  best: FoundItem | null,
  c: { vRaw: Uint8Array; k?: Uint8Array; seq?: bigint; sig?: Uint8Array; salt?: Uint8Array },
  from: LookupNode,
): FoundItem {
  const same = best && best.seq === c.seq && equals(best.vRaw, c.vRaw) && (best.sig === undefined || equals(best.sig, c.sig!));
  if (best && same) {
    best.from.push(from);
    return best;
  }
  if (best && (c.seq === undefined || (best.seq !== undefined && c.seq <= best.seq))) return best;
  return {
    kind: c.k ? 'mutable' : 'immutable',
    vRaw: c.vRaw,
    ...(c.k ? { k: c.k, seq: c.seq!, sig: c.sig! } : {}),
    ...(c.k && c.salt ? { salt: c.salt } : {}),
    from: [from],
  };
}

// ---- put -----------------------------------------------------------------------------------

export type PutRequest =
  | { kind: 'immutable'; vRaw: Uint8Array }
  | {
      kind: 'mutable';
      /** 32-byte ed25519 seed. */
      seed: Uint8Array;
      vRaw: Uint8Array;
      salt?: Uint8Array;
      /** Default: one more than the highest seq the lookup found (1 when none). */
      seq?: bigint;
      /** Put only if the item's current seq is this (checked on the lookup, then by every node). */
      cas?: bigint;
    };

/** The wire fields of a put, minus the token. */
export interface PutPayload {
  target: Uint8Array;
  vRaw: Uint8Array;
  k?: Uint8Array;
  salt?: Uint8Array;
  seq?: bigint;
  sig?: Uint8Array;
  cas?: bigint;
}

export interface PutNodeResult {
  node: LookupNode;
  ok: boolean;
  /** KRPC error code when the node refused (301, 302, 206, ...). */
  code?: number;
  error?: string;
  rttMs?: number;
}

export type PutRefusal =
  | { reason: 'cas_mismatch'; message: string; currentSeq: bigint }
  | { reason: 'seq_overflow'; message: string }
  /** Nodes take an equal seq as a refresh and keep their value: a new value needs a new seq. */
  | { reason: 'seq_conflict'; message: string; currentSeq: bigint }
  | { reason: 'no_tokens'; message: string };

export interface PutItemResult {
  target: Uint8Array;
  kind: 'immutable' | 'mutable';
  /** What was (or would have been) sent. */
  payload: PutPayload;
  /** The lookup before the put: tokens, and the item as it was. */
  before: GetItemResult;
  results: PutNodeResult[];
  /** Set when nothing was sent, and why. */
  refused?: PutRefusal;
}

export interface PutItemOptions {
  /** Number of nodes to store on; default 8. */
  k?: number;
  lookup?: Partial<LookupOptions>;
}

/** Checks a value before any network traffic: size (1..1000 bytes) and canonical bencode. */
export function valueProblem(vRaw: Uint8Array): string | undefined {
  return checkValue(vRaw)?.message;
}

/**
 * Stores an item: a `get` lookup for tokens and the current seq, then `put` to the k closest
 * nodes that gave a token. Throws RangeError for a value, salt or seq that no node may accept
 * (caller error, checked before any traffic).
 */
export async function putItem(node: DhtClient, req: PutRequest, opts: PutItemOptions = {}): Promise<PutItemResult> {
  const bad = checkValue(req.vRaw) ?? (req.kind === 'mutable' ? checkSalt(req.salt) : undefined);
  if (bad) throw new RangeError(bad.message);
  if (req.kind === 'immutable') {
    const target = immutableTarget(req.vRaw);
    const before = await getItem(node, target, { ...(opts.lookup ? { lookup: opts.lookup } : {}) });
    const payload: PutPayload = { target, vRaw: req.vRaw };
    return finishPut(node, 'immutable', payload, before, opts.k);
  }
  if (req.seq !== undefined && (req.seq < 0n || req.seq > MAX_SEQ)) throw new RangeError('seq must be in 0..2^63-1');
  if (req.cas !== undefined && (req.cas < 0n || req.cas > MAX_SEQ)) throw new RangeError('cas must be in 0..2^63-1');
  const salt = req.salt && req.salt.length > 0 ? req.salt : undefined;
  const k = publicKeyFromSeed(req.seed);
  const target = mutableTarget(k, salt);
  const before = await getItem(node, target, { pubkey: k, ...(salt ? { salt } : {}), ...(opts.lookup ? { lookup: opts.lookup } : {}) });
  const current = before.item?.seq;
  const unsigned: PutPayload = { target, vRaw: req.vRaw, k, ...(salt ? { salt } : {}), ...(req.cas !== undefined ? { cas: req.cas } : {}) };
  if (req.cas !== undefined && current !== undefined && current !== req.cas) {
    const message = `cas mismatch: the DHT holds seq ${current}, not ${req.cas}`;
    return { target, kind: 'mutable', payload: unsigned, before, results: [], refused: { reason: 'cas_mismatch', message, currentSeq: current } };
  }
  const seq = req.seq ?? (current !== undefined ? current + 1n : 1n);
  if (seq > MAX_SEQ) {
    return { target, kind: 'mutable', payload: unsigned, before, results: [], refused: { reason: 'seq_overflow', message: 'the current seq is already the largest allowed' } };
  }
  if (current !== undefined && seq === current && !equals(before.item!.vRaw, req.vRaw)) {
    const message = `the DHT holds another value at seq ${current}; a new value needs a higher seq`;
    return { target, kind: 'mutable', payload: { ...unsigned, seq }, before, results: [], refused: { reason: 'seq_conflict', message, currentSeq: current } };
  }
  const signed = signMutableItem(req.seed, req.vRaw, seq, salt);
  return finishPut(node, 'mutable', { ...unsigned, seq, sig: signed.sig }, before, opts.k);
}

async function finishPut(node: DhtClient, kind: 'immutable' | 'mutable', payload: PutPayload, before: GetItemResult, k = 8): Promise<PutItemResult> {
  const base = { target: payload.target, kind, payload, before };
  if (before.lookup.tokens.size === 0) {
    return { ...base, results: [], refused: { reason: 'no_tokens', message: 'no node returned a write token' } };
  }
  return { ...base, results: await putToNodes(node, payload, before.lookup, k) };
}

/**
 * Sends `put` to the k token holders of `lookup` nearest the target. The lookup must come
 * from the same node (tokens are bound to our address) and be recent (tokens expire).
 */
export async function putToNodes(node: DhtClient, payload: PutPayload, lookup: LookupResult, k = 8): Promise<PutNodeResult[]> {
  const v = decode(payload.vRaw);
  // The encoder takes decoded values; only canonical bytes survive the round trip unchanged.
  if (!v.ok || !equals(encode(v.value), payload.vRaw)) throw new RangeError('value is not canonical bencode');
  const holders = [...lookup.tokens.values()]
    .sort((a, b) => compareDistance(a.node.id, b.node.id, payload.target))
    .slice(0, k);
  const args = {
    v: v.value,
    ...(payload.k ? { k: payload.k, seq: payload.seq, sig: payload.sig } : {}),
    ...(payload.salt ? { salt: payload.salt } : {}),
    ...(payload.cas !== undefined ? { cas: payload.cas } : {}),
  };
  return Promise.all(
    holders.map(async ({ node: to, token }): Promise<PutNodeResult> => {
      const out = await node.engine.query({ host: to.host, port: to.port }, 'put', { ...args, token }, { expectId: to.id });
      if (out.ok) return { node: to, ok: true, rttMs: out.rttMs };
      return { node: to, ok: false, error: describeFailure(out), ...(out.kind === 'error' ? { code: out.code, rttMs: out.rttMs } : {}) };
    }),
  );
}
