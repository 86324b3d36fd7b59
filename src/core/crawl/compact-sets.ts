// Compact sets for a crawl that meets millions of infohashes and nodes: open addressing over
// typed arrays instead of JS Sets of hex strings (a 40-char hex string in a Set costs ~100 B;
// a 20-byte slot here costs ~27 B at the maximum load factor).
import { ipv4ToNumber, numberToIpv4 } from '../wire/ip.js';

const EMPTY = 0;

/** Mixes five 32-bit words of a 20-byte key (keys come from the network: do not trust them to be random). */
export function hash20(b: Uint8Array, off = 0): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 20; i += 4) {
    const w = b[off + i] | (b[off + i + 1] << 8) | (b[off + i + 2] << 16) | (b[off + i + 3] << 24);
    h = Math.imul(h ^ w, 0x01000193);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A set of 20-byte keys (infohashes, node ids) in one slab. */
export class Key20Set {
  private keys: Uint8Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 1.34) cap *= 2;
    this.keys = new Uint8Array(cap * 20);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table (what a crawl reports as dedup memory). */
  get bytes(): number {
    return this.keys.byteLength + this.used.byteLength;
  }

  has(key: Uint8Array, off = 0): boolean {
    return this.find(key, off) >= 0;
  }

  /** Adds the key at key[off, off+20); true when it was not there before. */
  add(key: Uint8Array, off = 0): boolean {
    if ((this.count + 1) * 4 > this.used.length * 3) this.grow();
    const { keys, used, mask } = this;
    let slot = hash20(key, off) & mask;
    for (;;) {
      if (used[slot] === EMPTY) {
        used[slot] = 1;
        keys.set(key.subarray(off, off + 20), slot * 20);
        this.count++;
        return true;
      }
      if (same20(keys, slot * 20, key, off)) return false;
      slot = (slot + 1) & mask;
    }
  }

  private find(key: Uint8Array, off: number): number {
    const { keys, used, mask } = this;
    let slot = hash20(key, off) & mask;
    while (used[slot] !== EMPTY) {
      if (same20(keys, slot * 20, key, off)) return slot;
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldUsed = this.used;
    const cap = oldUsed.length * 2;
    this.keys = new Uint8Array(cap * 20);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    this.count = 0;
    for (let s = 0; s < oldUsed.length; s++) if (oldUsed[s] !== EMPTY) this.add(oldKeys, s * 20);
  }
}

function same20(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 20; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/** ip * 65536 + port for a dotted-quad IPv4 host (exact in a double, never 0 for port ≥ 1), else -1. */
export function v4Key(host: string, port: number): number {
  if (!(port >= 1 && port <= 65535)) return -1;
  const ip = ipv4ToNumber(host);
  return ip < 0 ? -1 : ip * 65536 + port;
}

export function v4KeyToEndpoint(key: number): { host: string; port: number } {
  return { host: numberToIpv4(Math.floor(key / 65536)), port: key % 65536 };
}

function hashNumber(k: number): number {
  let h = Math.imul((k >>> 0) ^ Math.floor(k / 4294967296), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * A map from endpoint to a small unsigned value (a state byte plus 32 bits of extra data), IPv4
 * endpoints in typed arrays (~26 B each at most load), IPv6 in a plain Map. Value 0 = absent.
 */
export class EndpointMap {
  private keys: Float64Array;
  private vals: Uint8Array;
  private extra: Uint32Array;
  private mask: number;
  private count = 0;
  private readonly v6 = new Map<string, { v: number; x: number }>();

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.vals = new Uint8Array(cap);
    this.extra = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count + this.v6.size;
  }

  /** Approximate bytes held (typed arrays exactly; IPv6 entries estimated at 120 B). */
  get bytes(): number {
    return this.keys.byteLength + this.vals.byteLength + this.extra.byteLength + this.v6.size * 120;
  }

  get(host: string, port: number): number {
    const k = v4Key(host, port);
    if (k < 0) return this.v6.get(`${host}|${port}`)?.v ?? 0;
    const s = this.slotOf(k);
    return s >= 0 ? this.vals[s] : 0;
  }

  /** The extra 32 bits stored with the endpoint (0 when absent). */
  extraOf(host: string, port: number): number {
    const k = v4Key(host, port);
    if (k < 0) return this.v6.get(`${host}|${port}`)?.x ?? 0;
    const s = this.slotOf(k);
    return s >= 0 ? this.extra[s] : 0;
  }

  /** Sets the value (1–255) and extra data; returns the previous value (0 when new). */
  set(host: string, port: number, value: number, extra = 0): number {
    const k = v4Key(host, port);
    if (k < 0) {
      const key = `${host}|${port}`;
      const old = this.v6.get(key);
      this.v6.set(key, { v: value, x: extra >>> 0 });
      return old?.v ?? 0;
    }
    return this.setKey(k, value, extra);
  }

  setKey(k: number, value: number, extra = 0): number {
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const { keys, mask } = this;
    let s = hashNumber(k) & mask;
    while (keys[s] !== EMPTY) {
      if (keys[s] === k) {
        const old = this.vals[s];
        this.vals[s] = value;
        this.extra[s] = extra >>> 0;
        return old;
      }
      s = (s + 1) & mask;
    }
    keys[s] = k;
    this.vals[s] = value;
    this.extra[s] = extra >>> 0;
    this.count++;
    return 0;
  }

  /** Every entry: IPv4 ones as numeric keys, IPv6 ones as 'host|port' strings. */
  *entries(): IterableIterator<{ key: number | string; value: number; extra: number }> {
    for (let s = 0; s < this.keys.length; s++) {
      if (this.keys[s] !== EMPTY) yield { key: this.keys[s], value: this.vals[s], extra: this.extra[s] };
    }
    for (const [key, e] of this.v6) yield { key, value: e.v, extra: e.x };
  }

  /** Drops the entries for which drop(value, extra) holds; returns how many went. */
  prune(drop: (value: number, extra: number) => boolean): number {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldExtra = this.extra;
    let kept = 0;
    for (let s = 0; s < oldKeys.length; s++) if (oldKeys[s] !== EMPTY && !drop(oldVals[s], oldExtra[s])) kept++;
    let cap = 16;
    while (cap < kept * 2 + 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.vals = new Uint8Array(cap);
    this.extra = new Uint32Array(cap);
    this.mask = cap - 1;
    const before = this.count;
    this.count = 0;
    for (let s = 0; s < oldKeys.length; s++) {
      if (oldKeys[s] !== EMPTY && !drop(oldVals[s], oldExtra[s])) this.setKey(oldKeys[s], oldVals[s], oldExtra[s]);
    }
    let gone = before - this.count;
    for (const [key, e] of this.v6) {
      if (drop(e.v, e.x)) {
        this.v6.delete(key);
        gone++;
      }
    }
    return gone;
  }

  private slotOf(k: number): number {
    const { keys, mask } = this;
    let s = hashNumber(k) & mask;
    while (keys[s] !== EMPTY) {
      if (keys[s] === k) return s;
      s = (s + 1) & mask;
    }
    return -1;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldExtra = this.extra;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap);
    this.vals = new Uint8Array(cap);
    this.extra = new Uint32Array(cap);
    this.mask = cap - 1;
    this.count = 0;
    for (let s = 0; s < oldKeys.length; s++) if (oldKeys[s] !== EMPTY) this.setKey(oldKeys[s], oldVals[s], oldExtra[s]);
  }
}

/** A set of endpoints (distinct nodes seen, queried, answered). */
export class EndpointSet {
  private readonly map = new EndpointMap();

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.map.bytes;
  }

  has(host: string, port: number): boolean {
    return this.map.get(host, port) !== 0;
  }

  /** True when the endpoint was not in the set. */
  add(host: string, port: number): boolean {
    return this.map.set(host, port, 1) === 0;
  }
}
