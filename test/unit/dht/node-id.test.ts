import { describe, expect, it } from 'vitest';
import {
  commonPrefixBits,
  compareDistance,
  equals,
  idFromHex,
  idToHex,
  randomId,
  randomIdInPrefix,
  xorDistance,
} from '../../../src/core/dht/node-id.js';

const hex = (s: string): Uint8Array => {
  const r = idFromHex(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const toBig = (id: Uint8Array): bigint => BigInt('0x' + idToHex(id));

describe('node ids', () => {
  it('xors byte by byte', () => {
    const a = hex('ff00000000000000000000000000000000000001');
    const b = hex('0f00000000000000000000000000000000000003');
    expect(idToHex(xorDistance(a, b))).toBe('f000000000000000000000000000000000000002');
  });

  it('compares distances like 160-bit unsigned integers would', () => {
    for (let i = 0; i < 2000; i++) {
      const a = randomId();
      const b = i % 7 === 0 ? a : randomId();
      const t = randomId();
      if (i % 5 === 0) b.set(a.subarray(0, 10)); // long shared prefixes exercise later bytes
      const expected = Math.sign(Number((toBig(a) ^ toBig(t)) - (toBig(b) ^ toBig(t))));
      expect(Math.sign(compareDistance(a, b, t))).toBe(expected);
    }
  });

  it('counts common prefix bits', () => {
    const a = hex('0000000000000000000000000000000000000000');
    expect(commonPrefixBits(a, a)).toBe(160);
    expect(commonPrefixBits(a, hex('8000000000000000000000000000000000000000'))).toBe(0);
    expect(commonPrefixBits(a, hex('0100000000000000000000000000000000000000'))).toBe(7);
    expect(commonPrefixBits(a, hex('0000800000000000000000000000000000000000'))).toBe(16);
    expect(commonPrefixBits(a, hex('0000000000000000000000000000000000000001'))).toBe(159);
  });

  it('draws random ids inside a prefix', () => {
    const prefix = hex('abcdef0123456789abcdef0123456789abcdef01');
    for (const bits of [0, 1, 7, 8, 13, 80, 159, 160]) {
      for (let i = 0; i < 50; i++) {
        const id = randomIdInPrefix(prefix, bits);
        expect(commonPrefixBits(id, prefix)).toBeGreaterThanOrEqual(bits);
      }
    }
    // With 13 prefix bits the remaining bits must still vary.
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(idToHex(randomIdInPrefix(prefix, 13)));
    expect(seen.size).toBe(20);
    expect(() => randomIdInPrefix(prefix, 161)).toThrow(RangeError);
  });

  it('parses exactly 40 hex digits', () => {
    expect(idToHex(hex('ABCDEF0123456789abcdef0123456789ABCDEF01'))).toBe('abcdef0123456789abcdef0123456789abcdef01');
    for (const bad of ['', 'ab', 'g'.repeat(40), 'a'.repeat(39), 'a'.repeat(41), ' ' + 'a'.repeat(39), 'a'.repeat(39) + '\n']) {
      const r = idFromHex(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/40 hex digits/);
    }
  });

  it('compares ids for equality', () => {
    const a = randomId();
    expect(equals(a, Uint8Array.from(a))).toBe(true);
    const b = Uint8Array.from(a);
    b[19] ^= 1;
    expect(equals(a, b)).toBe(false);
    expect(equals(a, a.subarray(0, 19))).toBe(false);
  });
});
