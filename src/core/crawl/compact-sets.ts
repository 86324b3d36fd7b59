// Compact sets for a crawl that meets millions of infohashes and nodes: open addressing over
// typed arrays instead of JS Sets of hex strings (a 40-char hex string in a Set costs ~100 B;
// a 20-byte slot here costs 20 B). Tables grow by half (not doubling) and up to 3/4 full, so
// a table of n keys holds between 1.33n and 2n slots: at a million keys, doubling could leave
// one with four times the slots it needs.
import { ipv4ToNumber, numberToIpv4 } from '../wire/ip.js';
import { endpointKey } from '../net/endpoint-key.js';

const MAX_LOAD = 0.75;

/** The slot count for `needed` keys: 16, then ×1.5 steps, until needed fits at MAX_LOAD. */
function capacityFor(needed: number): number {
  let cap = 16;
  while (cap * MAX_LOAD < needed) cap = Math.ceil(cap * 1.5);
  return cap;
}

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

function isZero20(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 20; i++) if (b[off + i] !== 0) return false;
  return true;
}

/**
 * A set of 20-byte keys (infohashes, node ids) in one slab. An all-zero slot is empty; the
 * all-zero key itself is kept by a flag.
 */
export class Key20Set {
  private keys: Uint8Array;
  private cap: number;
  private count = 0;
  private hasZero = false;

  constructor(initialCapacity = 1024) {
    this.cap = capacityFor(initialCapacity);
    this.keys = new Uint8Array(this.cap * 20);
  }

  get size(): number {
    return this.count + (this.hasZero ? 1 : 0);
  }

  /** Bytes held by the table (what a crawl reports as dedup memory). */
  get bytes(): number {
    return this.keys.byteLength;
  }

  has(key: Uint8Array, off = 0): boolean {
    if (isZero20(key, off)) return this.hasZero;
    return this.find(key, off) >= 0;
  }

  /** Adds the key at key[off, off+20); true when it was not there before. */
  add(key: Uint8Array, off = 0): boolean {
    if (isZero20(key, off)) {
      if (this.hasZero) return false;
      this.hasZero = true;
      return true;
    }
    if (this.count + 1 > this.cap * MAX_LOAD) this.grow();
    const { keys, cap } = this;
    let slot = hash20(key, off) % cap;
    for (;;) {
      if (isZero20(keys, slot * 20)) {
        keys.set(key.subarray(off, off + 20), slot * 20);
        this.count++;
        return true;
      }
      if (same20(keys, slot * 20, key, off)) return false;
      if (++slot === cap) slot = 0;
    }
  }

  private find(key: Uint8Array, off: number): number {
    const { keys, cap } = this;
    let slot = hash20(key, off) % cap;
    while (!isZero20(keys, slot * 20)) {
      if (same20(keys, slot * 20, key, off)) return slot;
      if (++slot === cap) slot = 0;
    }
    return -1;
  }

  private grow(): void {
    const old = this.keys;
    const oldCap = this.cap;
    this.cap = capacityFor(this.count + 1);
    this.keys = new Uint8Array(this.cap * 20);
    this.count = 0;
    for (let s = 0; s < oldCap; s++) if (!isZero20(old, s * 20)) this.add(old, s * 20);
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

/** Port 0 never belongs to an endpoint (v4Key refuses it): it marks an empty slot. */
const EMPTY_PORT = 0;

function hashEndpoint(ip: number, port: number): number {
  let h = Math.imul(ip ^ Math.imul(port, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * A map from endpoint to a small unsigned value (a state byte plus 32 bits of extra data), IPv4
 * endpoints in typed arrays (11 B a slot: address, port, value, extra; port 0 marks an empty
 * slot), IPv6 in a plain Map. Value 0 = absent.
 */
export class EndpointMap {
  private ips: Uint32Array;
  private ports: Uint16Array;
  private vals: Uint8Array;
  private extra: Uint32Array;
  private cap: number;
  private count = 0;
  private readonly v6 = new Map<string, { v: number; x: number }>();

  constructor(initialCapacity = 1024) {
    this.cap = capacityFor(initialCapacity);
    this.ips = new Uint32Array(this.cap);
    this.ports = new Uint16Array(this.cap);
    this.vals = new Uint8Array(this.cap);
    this.extra = new Uint32Array(this.cap);
  }

  get size(): number {
    return this.count + this.v6.size;
  }

  /** Approximate bytes held (typed arrays exactly; IPv6 entries estimated at 120 B). */
  get bytes(): number {
    return this.ips.byteLength + this.ports.byteLength + this.vals.byteLength + this.extra.byteLength + this.v6.size * 120;
  }

  get(host: string, port: number): number {
    const k = v4Key(host, port);
    if (k < 0) return this.v6.get(endpointKey(host, port))?.v ?? 0;
    const s = this.slotOf(k);
    return s >= 0 ? this.vals[s] : 0;
  }

  /** The extra 32 bits stored with the endpoint (0 when absent). */
  extraOf(host: string, port: number): number {
    const k = v4Key(host, port);
    if (k < 0) return this.v6.get(endpointKey(host, port))?.x ?? 0;
    const s = this.slotOf(k);
    return s >= 0 ? this.extra[s] : 0;
  }

  /** Sets the value (1–255) and extra data; returns the previous value (0 when new). */
  set(host: string, port: number, value: number, extra = 0): number {
    const k = v4Key(host, port);
    if (k < 0) {
      const key = endpointKey(host, port);
      const old = this.v6.get(key);
      this.v6.set(key, { v: value, x: extra >>> 0 });
      return old?.v ?? 0;
    }
    return this.setKey(k, value, extra);
  }

  /** ORs bits into the value, keeping the extra data (0 for a new entry); returns the previous value. */
  addBits(host: string, port: number, bits: number): number {
    const k = v4Key(host, port);
    if (k < 0) {
      const key = endpointKey(host, port);
      const old = this.v6.get(key);
      if (!old) {
        this.v6.set(key, { v: bits, x: 0 });
        return 0;
      }
      const before = old.v;
      old.v |= bits;
      return before;
    }
    const s = this.slotOf(k);
    if (s < 0) return this.setKey(k, bits, 0);
    const before = this.vals[s];
    this.vals[s] = before | bits;
    return before;
  }

  /** Clears bits of the value of an endpoint present in the map (a value of 0 would read as absent: keep one bit set). */
  clearBits(host: string, port: number, bits: number): void {
    const k = v4Key(host, port);
    if (k < 0) {
      const e = this.v6.get(endpointKey(host, port));
      if (e) e.v &= ~bits;
      return;
    }
    const s = this.slotOf(k);
    if (s >= 0) this.vals[s] &= ~bits;
  }

  /** Sets the extra data of an endpoint present in the map; false when it is absent. */
  setExtra(host: string, port: number, extra: number): boolean {
    const k = v4Key(host, port);
    if (k < 0) {
      const e = this.v6.get(endpointKey(host, port));
      if (e) e.x = extra >>> 0;
      return e !== undefined;
    }
    const s = this.slotOf(k);
    if (s >= 0) this.extra[s] = extra >>> 0;
    return s >= 0;
  }

  /** setKey with a v4Key() number. */
  setKey(k: number, value: number, extra = 0): number {
    if (this.count + 1 > this.cap * MAX_LOAD) this.grow();
    const ip = Math.floor(k / 65536);
    const port = k % 65536;
    if (!(port >= 1 && ip < 2 ** 32)) throw new RangeError('EndpointMap: not an IPv4 endpoint key');
    const { ips, ports, cap } = this;
    let s = hashEndpoint(ip, port) % cap;
    while (ports[s] !== EMPTY_PORT) {
      if (ips[s] === ip && ports[s] === port) {
        const old = this.vals[s];
        this.vals[s] = value;
        this.extra[s] = extra >>> 0;
        return old;
      }
      if (++s === cap) s = 0;
    }
    ips[s] = ip;
    ports[s] = port;
    this.vals[s] = value;
    this.extra[s] = extra >>> 0;
    this.count++;
    return 0;
  }

  /** Every entry: IPv4 ones as numeric keys (v4Key), IPv6 ones as 'host|port' strings. */
  *entries(): IterableIterator<{ key: number | string; value: number; extra: number }> {
    for (let s = 0; s < this.cap; s++) {
      if (this.ports[s] !== EMPTY_PORT) yield { key: this.ips[s] * 65536 + this.ports[s], value: this.vals[s], extra: this.extra[s] };
    }
    for (const [key, e] of this.v6) yield { key, value: e.v, extra: e.x };
  }

  /** Drops the entries for which drop(value, extra) holds; returns how many went. */
  prune(drop: (value: number, extra: number) => boolean): number {
    let kept = 0;
    for (let s = 0; s < this.cap; s++) if (this.ports[s] !== EMPTY_PORT && !drop(this.vals[s], this.extra[s])) kept++;
    const before = this.count;
    this.rebuild(kept + 1, (value, extra) => !drop(value, extra));
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
    const ip = Math.floor(k / 65536);
    const port = k % 65536;
    const { ips, ports, cap } = this;
    let s = hashEndpoint(ip, port) % cap;
    while (ports[s] !== EMPTY_PORT) {
      if (ips[s] === ip && ports[s] === port) return s;
      if (++s === cap) s = 0;
    }
    return -1;
  }

  private grow(): void {
    this.rebuild(this.count + 1, () => true);
  }

  /** Re-inserts the kept entries into a table sized for `room` keys. */
  private rebuild(room: number, keep: (value: number, extra: number) => boolean): void {
    const { ips, ports, vals, extra, cap } = this;
    this.cap = capacityFor(room);
    this.ips = new Uint32Array(this.cap);
    this.ports = new Uint16Array(this.cap);
    this.vals = new Uint8Array(this.cap);
    this.extra = new Uint32Array(this.cap);
    this.count = 0;
    for (let s = 0; s < cap; s++) {
      if (ports[s] !== EMPTY_PORT && keep(vals[s], extra[s])) this.setKey(ips[s] * 65536 + ports[s], vals[s], extra[s]);
    }
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
