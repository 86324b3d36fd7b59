import { randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EndpointMap, EndpointSet, Key20Set, v4Key, v4KeyToEndpoint } from '../../../src/core/crawl/compact-sets.js';

describe('Key20Set', () => {
  it('adds each 20-byte key once, across growth', () => {
    const keys = randomFillSync(new Uint8Array(20 * 5000));
    const set = new Key20Set(16);
    for (let i = 0; i < 5000; i++) expect(set.add(keys, i * 20)).toBe(true);
    for (let i = 0; i < 5000; i++) expect(set.add(keys.subarray(i * 20, i * 20 + 20))).toBe(false);
    expect(set.size).toBe(5000);
    expect(set.has(keys, 20 * 4999)).toBe(true);
    expect(set.has(new Uint8Array(20))).toBe(false);
    // all-zero and colliding prefixes are ordinary keys
    const zero = new Uint8Array(20);
    const almost = new Uint8Array(20);
    almost[19] = 1;
    expect(set.add(zero)).toBe(true);
    expect(set.add(almost)).toBe(true);
    expect(set.has(zero) && set.has(almost)).toBe(true);
    // 20 bytes a slot, between 4/3 and 2 slots a key
    expect(set.bytes / set.size).toBeLessThanOrEqual(41);
  });
});

describe('endpoint keys', () => {
  it('packs IPv4 endpoints into one number and refuses anything else', () => {
    const k = v4Key('81.2.3.4', 6881);
    expect(k).toBeGreaterThan(0);
    expect(v4KeyToEndpoint(k)).toEqual({ host: '81.2.3.4', port: 6881 });
    expect(v4Key('256.1.1.1', 1)).toBe(-1);
    expect(v4Key('1.2.3', 1)).toBe(-1);
    expect(v4Key('::1', 1)).toBe(-1);
    expect(v4Key('1.2.3.4', 0)).toBe(-1);
  });
});

describe('EndpointMap', () => {
  it('keeps a state byte and 32 bits per endpoint, IPv4 and IPv6, and prunes by predicate', () => {
    const m = new EndpointMap(4);
    for (let i = 0; i < 3000; i++) expect(m.set(`10.0.${i >> 8}.${i & 255}`, 6881, 1 + (i % 3), i)).toBe(0);
    expect(m.set('2001:db8::1', 6881, 2, 77)).toBe(0);
    expect(m.set('10.0.0.5', 6881, 3, 5)).toBe(1 + (5 % 3));
    expect(m.size).toBe(3001);
    expect(m.get('10.0.11.183', 6881)).toBe(1 + (2999 % 3)); // i = 11 * 256 + 183
    expect(m.extraOf('10.0.1.0', 6881)).toBe(256);
    expect(m.get('2001:db8::1', 6881)).toBe(2);
    expect(m.extraOf('2001:db8::1', 6881)).toBe(77);
    expect(m.get('10.0.0.5', 6882)).toBe(0);
    const gone = m.prune((value, extra) => value === 3 || extra >= 2000);
    expect(gone).toBeGreaterThan(1000);
    expect(m.get('10.0.0.5', 6881)).toBe(0);
    expect(m.get('2001:db8::1', 6881)).toBe(2);
    expect(m.extraOf('10.0.1.0', 6881)).toBe(256);
    const entries = [...m.entries()];
    expect(entries.length).toBe(m.size);
    expect(entries.some((e) => e.key === '2001:db8::1|6881')).toBe(true);
  });

  it('ORs bits into a value and sets extra data without touching the other', () => {
    const m = new EndpointMap(4);
    expect(m.addBits('81.2.3.4', 6881, 1)).toBe(0);
    expect(m.setExtra('81.2.3.4', 6881, 12345)).toBe(true);
    expect(m.addBits('81.2.3.4', 6881, 2)).toBe(1);
    expect(m.get('81.2.3.4', 6881)).toBe(3);
    expect(m.extraOf('81.2.3.4', 6881)).toBe(12345);
    expect(m.setExtra('81.2.3.5', 6881, 1)).toBe(false);
    expect(m.addBits('2001:db8::1', 1, 4)).toBe(0);
    expect(m.setExtra('2001:db8::1', 1, 9)).toBe(true);
    expect(m.addBits('2001:db8::1', 1, 8)).toBe(4);
    expect(m.get('2001:db8::1', 1)).toBe(12);
    expect(m.extraOf('2001:db8::1', 1)).toBe(9);
    // 11 bytes a slot, between 4/3 and 2 slots an endpoint
    for (let i = 0; i < 50_000; i++) m.addBits(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1 + (i % 7), 1);
    expect(m.bytes / m.size).toBeLessThanOrEqual(23);
    expect(() => m.setKey(v4Key('81.2.3.4', 1) - 1, 1)).toThrow(RangeError); // port 0
  });

  it('EndpointSet counts distinct endpoints', () => {
    const s = new EndpointSet();
    expect(s.add('81.2.3.4', 1)).toBe(true);
    expect(s.add('81.2.3.4', 1)).toBe(false);
    expect(s.add('81.2.3.4', 2)).toBe(true);
    expect(s.add('::1', 2)).toBe(true);
    expect(s.has('::1', 2)).toBe(true);
    expect(s.size).toBe(3);
  });
});
