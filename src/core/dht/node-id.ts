// 160-bit node ids and info-hashes as 20-byte Uint8Arrays, with the XOR metric.
// Everything here works byte by byte: no bigint on the hot path.
import { randomFillSync } from 'node:crypto';
import type { Result } from '../wire/types.js';

export const ID_BYTES = 20;
export const ID_BITS = 160;

export type NodeId = Uint8Array;

/** a XOR b, as a new 20-byte array. */
export function xorDistance(a: NodeId, b: NodeId): Uint8Array {
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i] ^ b[i];
  return out;
}

/**
 * Orders a and b by distance to target: negative when a is closer, positive when b is,
 * 0 when equally far (which for XOR means a equals b).
 */
export function compareDistance(a: NodeId, b: NodeId, target: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i] ^ target[i];
    const db = b[i] ^ target[i];
    if (da !== db) return da - db;
  }
  return 0;
}

/** Number of leading bits a and b share (0–160). */
export function commonPrefixBits(a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

export function equals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function randomId(): NodeId {
  return randomFillSync(new Uint8Array(ID_BYTES));
}

/** A random id whose first `bits` bits are those of `prefix`; `random` supplies 20 fresh bytes (a seeded PRNG in simulations). */
export function randomIdInPrefix(prefix: NodeId, bits: number, random: () => Uint8Array = randomId): NodeId {
  if (!Number.isInteger(bits) || bits < 0 || bits > ID_BITS) throw new RangeError(`prefix bits out of range: ${bits}`);
  const out = random();
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) out[i] = prefix[i];
  const rest = bits & 7;
  if (rest > 0) {
    const mask = (0xff << (8 - rest)) & 0xff;
    out[whole] = (prefix[whole] & mask) | (out[whole] & ~mask & 0xff);
  }
  return out;
}

const HEX_ID = /^[0-9a-fA-F]{40}$/;

/** Whether `v` is exactly 40 hex digits (either case); checks without decoding. */
export function isHexId(v: unknown): v is string {
  return typeof v === 'string' && HEX_ID.test(v);
}

/** Parses exactly 40 hex digits (either case); anything else is an error. */
export function idFromHex(hex: string): Result<NodeId, string> {
  if (!isHexId(hex)) {
    return { ok: false, error: `expected 40 hex digits, got ${describeBadHex(hex)}` };
  }
  return { ok: true, value: new Uint8Array(Buffer.from(hex, 'hex')) };
}

function describeBadHex(hex: unknown): string {
  if (typeof hex !== 'string') return typeof hex;
  if (hex.length !== 40) return `${hex.length} characters`;
  return 'a non-hex character';
}

/** 40 lowercase hex digits. */
export function idToHex(id: NodeId): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
