// Responder-side storage of BEP 44 items, bounded in count and bytes, expiring after a TTL.
// Token checks are the responder's job; everything after the token (limits, signature, cas,
// seq) is decided here, in libtorrent's order.

import type { Clock } from '../net/clock.js';
import { KRPC_ERRORS, type Result } from '../wire/types.js';
import {
  casMismatchError,
  checkMutable,
  checkValue,
  immutableTarget,
  mutableTarget,
  seqTooOldError,
  type Bep44Error,
} from './item-rules.js';

export interface ItemStoreLimits {
  /** Most items kept; the least recently put one is evicted. Default 1000. */
  maxItems?: number;
  /** Most bytes kept (v + k + sig + salt); oldest evicted first. Default 1 MiB. */
  maxBytes?: number;
  /** An item not re-put within this time is dropped. Default 2 h (BEP 44). */
  ttlMs?: number;
}

const DEFAULT_ITEM_LIMITS: Required<ItemStoreLimits> = {
  maxItems: 1000,
  maxBytes: 1024 * 1024,
  ttlMs: 2 * 60 * 60 * 1000,
};

export interface MutablePut {
  k: Uint8Array;
  salt?: Uint8Array;
  seq: bigint;
  sig: Uint8Array;
  vRaw: Uint8Array;
  cas?: bigint;
}

/** 'stored': new or newer content; 'refreshed': same content (or same seq), only its lifetime renewed. */
export type PutOutcome = 'stored' | 'refreshed';

export interface ImmutableItem {
  kind: 'immutable';
  vRaw: Uint8Array;
}

/** v/k/sig are absent when the requester already holds this seq or newer (BEP 44 get with seq). */
export interface MutableItem {
  kind: 'mutable';
  seq: bigint;
  vRaw?: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
}

export type StoredItem = ImmutableItem | MutableItem;

interface Entry {
  kind: 'immutable' | 'mutable';
  vRaw: Uint8Array;
  k?: Uint8Array;
  salt: Uint8Array;
  seq: bigint;
  sig?: Uint8Array;
  bytes: number;
  lastPut: number;
}

const EMPTY = new Uint8Array(0);

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

// Immutable and mutable items live under separate keys (as in libtorrent's two tables), so a
// crafted immutable value can never shadow someone's mutable slot.
const keyOf = (kind: Entry['kind'], target: Uint8Array) => `${kind === 'immutable' ? 'i' : 'm'}:${hex(target)}`;

/** What a full node needs of its BEP 44 item store: ItemStore is the in-memory one. */
export interface ItemStorage {
  putImmutable(target: Uint8Array, vRaw: Uint8Array): Result<PutOutcome, Bep44Error>;
  putMutable(put: MutablePut): Result<PutOutcome, Bep44Error>;
  /** The item under `target`; a mutable one without v/k/sig when the requester holds seqAtLeast. */
  get(target: Uint8Array, seqAtLeast?: bigint): StoredItem | undefined;
  /** Items held. */
  readonly size: number;
}

export class ItemStore implements ItemStorage {
  private readonly limits: Required<ItemStoreLimits>;
  /** Insertion order = order of last put, so the oldest (and the first to expire) come first. */
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;

  constructor(
    private readonly clock: Clock,
    limits: ItemStoreLimits = {},
  ) {
    this.limits = { ...DEFAULT_ITEM_LIMITS, ...limits };
  }

  get size(): number {
    this.prune();
    return this.entries.size;
  }

  get bytes(): number {
    this.prune();
    return this.totalBytes;
  }

  /** Stores an immutable item (205, or 203 for non-canonical v or a target other than sha1(vRaw)). */
  putImmutable(target: Uint8Array, vRaw: Uint8Array): Result<PutOutcome, Bep44Error> {
    const bad = checkValue(vRaw);
    if (bad) return { ok: false, error: bad };
    if (!sameBytes(immutableTarget(vRaw), target)) {
      return { ok: false, error: { code: KRPC_ERRORS.PROTOCOL, message: 'v does not hash to the target' } };
    }
    const key = keyOf('immutable', target);
    this.prune();
    const old = this.entries.get(key);
    if (old) {
      this.touch(key, old);
      return { ok: true, value: 'refreshed' };
    }
    this.insert(key, { kind: 'immutable', vRaw, salt: EMPTY, seq: 0n, bytes: vRaw.length, lastPut: 0 });
    return { ok: true, value: 'stored' };
  }

  /**
   * Stores a mutable item after checking limits, signature and canonical v (205, 207, 203, 206), then
   * against the stored one: a cas other than the stored seq is 301, an older seq 302. An equal
   * seq renews the item but keeps the stored value (libtorrent does the same).
   */
  putMutable(put: MutablePut): Result<PutOutcome, Bep44Error> {
    // Canonical form first: libtorrent rejects such a datagram (203) before looking at anything.
    const invalid = checkValue(put.vRaw) ?? checkMutable(put);
    if (invalid) return { ok: false, error: invalid };
    const salt = put.salt ?? EMPTY;
    const key = keyOf('mutable', mutableTarget(put.k, salt));
    this.prune();
    const old = this.entries.get(key);
    if (old) {
      // Like libtorrent, cas is only checked against an item we hold.
      if (put.cas !== undefined && put.cas !== old.seq) return { ok: false, error: casMismatchError() };
      if (put.seq < old.seq) return { ok: false, error: seqTooOldError() };
      if (put.seq === old.seq) {
        this.touch(key, old);
        return { ok: true, value: 'refreshed' };
      }
      this.remove(key, old);
    }
    const bytes = put.vRaw.length + put.k.length + put.sig.length + salt.length;
    this.insert(key, { kind: 'mutable', vRaw: put.vRaw, k: put.k, salt, seq: put.seq, sig: put.sig, bytes, lastPut: 0 });
    return { ok: true, value: 'stored' };
  }

  /**
   * The item stored under `target`, or undefined. For a mutable item, when `seqAtLeast` is
   * given and the stored seq is not newer, only seq and salt are returned.
   */
  get(target: Uint8Array, seqAtLeast?: bigint): StoredItem | undefined {
    this.prune();
    const imm = this.entries.get(keyOf('immutable', target));
    if (imm) return { kind: 'immutable', vRaw: imm.vRaw };
    const mut = this.entries.get(keyOf('mutable', target));
    if (!mut) return undefined;
    if (seqAtLeast !== undefined && mut.seq <= seqAtLeast) {
      return { kind: 'mutable', seq: mut.seq };
    }
    return { kind: 'mutable', seq: mut.seq, vRaw: mut.vRaw, k: mut.k, sig: mut.sig };
  }

  /** Drops expired items. Cheap: they sit at the front of the put order. */
  prune(): void {
    const cutoff = this.clock.now() - this.limits.ttlMs;
    for (const [key, entry] of this.entries) {
      if (entry.lastPut > cutoff) break;
      this.remove(key, entry);
    }
  }

  private touch(key: string, entry: Entry): void {
    this.entries.delete(key);
    entry.lastPut = this.clock.now();
    this.entries.set(key, entry);
  }

  private insert(key: string, entry: Entry): void {
    this.prune();
    entry.lastPut = this.clock.now();
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    // Evict oldest first; the new entry is last and fits on its own (≤ 1000 + 160 bytes),
    // unless maxBytes is set absurdly low, in which case it is evicted too.
    for (const [oldKey, old] of this.entries) {
      if (this.entries.size <= this.limits.maxItems && this.totalBytes <= this.limits.maxBytes) break;
      this.remove(oldKey, old);
    }
  }

  private remove(key: string, entry: Entry): void {
    if (this.entries.delete(key)) this.totalBytes -= entry.bytes;
  }
}
