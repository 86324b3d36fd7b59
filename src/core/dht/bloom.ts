// BEP 33 scrape bloom filters: 2048 bits, two hash positions per IP taken from sha1(ip).
import { createHash } from 'node:crypto';
import { parseHostIp, unmapV4 } from '../wire/ip.js';
import type { Result } from '../wire/types.js';

export const BLOOM_BYTES = 256;
export const BLOOM_BITS = BLOOM_BYTES * 8;

export class ScrapeBloom {
  readonly bits: Uint8Array;

  constructor(bits?: Uint8Array) {
    this.bits = bits ? Uint8Array.from(bits) : new Uint8Array(BLOOM_BYTES);
    if (this.bits.length !== BLOOM_BYTES) throw new RangeError(`a BEP 33 filter is ${BLOOM_BYTES} bytes, got ${this.bits.length}`);
  }

  /** Reads a filter from the wire; anything but 256 bytes is refused. */
  static fromBytes(bytes: Uint8Array): Result<ScrapeBloom, string> {
    if (bytes.length !== BLOOM_BYTES) return { ok: false, error: `bloom filter must be ${BLOOM_BYTES} bytes, got ${bytes.length}` };
    return { ok: true, value: new ScrapeBloom(bytes) };
  }

  /** Adds an address: 4 or 16 bytes, or its text form. The port never goes in. */
  insertIp(ip: Uint8Array | string): void {
    const raw = typeof ip === 'string' ? parseHostIp(ip) : ip;
    if (!raw || (raw.length !== 4 && raw.length !== 16)) throw new TypeError(`not an IP address: ${String(ip)}`);
    const h = createHash('sha1').update(unmapV4(raw)).digest();
    this.setBit((h[0] | (h[1] << 8)) % BLOOM_BITS);
    this.setBit((h[2] | (h[3] << 8)) % BLOOM_BITS);
  }

  /** ORs `other` into this filter (the union of two sets). */
  union(other: ScrapeBloom | Uint8Array): this {
    const bits = other instanceof ScrapeBloom ? other.bits : other;
    if (bits.length !== BLOOM_BYTES) throw new RangeError(`a BEP 33 filter is ${BLOOM_BYTES} bytes, got ${bits.length}`);
    for (let i = 0; i < BLOOM_BYTES; i++) this.bits[i] |= bits[i];
    return this;
  }

  zeroBits(): number {
    return bloomZeroBits(this.bits);
  }

  /** Estimated number of distinct IPs inserted; Infinity when saturated. */
  estimate(): number {
    return bloomEstimate(this.bits);
  }

  get saturated(): boolean {
    return this.zeroBits() === 0;
  }

  private setBit(i: number): void {
    // Bit i is bit (i & 7), least significant first, of byte i >> 3.
    this.bits[i >> 3] |= 1 << (i & 7);
  }
}

function bloomZeroBits(bits: Uint8Array): number {
  let ones = 0;
  for (let i = 0; i < bits.length; i++) {
    let b = bits[i];
    while (b) {
      b &= b - 1;
      ones++;
    }
  }
  return bits.length * 8 - ones;
}

/**
 * BEP 33 size estimate from the count of zero bits. An empty filter is 0 (the formula gives
 * 0.5 there); a filter with no zero bits is saturated and reads as Infinity.
 */
export function bloomEstimate(bits: Uint8Array): number {
  const z = bloomZeroBits(bits);
  if (z === 0) return Infinity;
  if (z >= BLOOM_BITS) return 0;
  const c = Math.min(BLOOM_BITS - 1, z);
  return Math.log(c / BLOOM_BITS) / (2 * Math.log(1 - 1 / BLOOM_BITS));
}

/** The union of several filters (e.g. BFsd from every responder of a scrape). */
export function bloomUnion(filters: Iterable<ScrapeBloom | Uint8Array>): ScrapeBloom {
  const out = new ScrapeBloom();
  for (const f of filters) out.union(f);
  return out;
}
