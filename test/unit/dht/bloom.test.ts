import { describe, expect, it } from 'vitest';
import { BLOOM_BYTES, ScrapeBloom, bloomEstimate, bloomUnion } from '../../../src/core/dht/bloom.js';

// BEP 33's vector: 192.0.2.0-255 and 2001:db8::0-0x3e7 (1256 addresses).
function vectorAddresses(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) out.push(Uint8Array.of(192, 0, 2, i));
  for (let i = 0; i < 1000; i++) {
    const v6 = new Uint8Array(16);
    v6.set([0x20, 0x01, 0x0d, 0xb8]);
    v6[14] = i >> 8;
    v6[15] = i & 0xff;
    out.push(v6);
  }
  return out;
}

function f0Estimate(): number {
  const f = new ScrapeBloom();
  for (const ip of vectorAddresses()) f.insertIp(ip);
  return f.estimate();
}

describe('BEP 33 bloom filter', () => {
  it('reproduces the specification vector', () => {
    const f = new ScrapeBloom();
    for (const ip of vectorAddresses()) f.insertIp(ip);
    expect(Buffer.from(f.bits.subarray(0, 8)).toString('hex')).toBe('f6c3f5eaa07ffd91');
    expect(f.zeroBits()).toBe(619);
    expect(Math.trunc(f.estimate() * 1e4) / 1e4).toBe(1224.9308); // the vector is truncated to 4 places
  });

  it('accepts the text form of addresses and ignores nothing but the port', () => {
    const a = new ScrapeBloom();
    const b = new ScrapeBloom();
    a.insertIp('192.0.2.7');
    b.insertIp(Uint8Array.of(192, 0, 2, 7));
    expect(a.bits).toEqual(b.bits);
    const c = new ScrapeBloom();
    c.insertIp('2001:db8::3e7');
    const d = new ScrapeBloom();
    const v6 = new Uint8Array(16);
    v6.set([0x20, 0x01, 0x0d, 0xb8]);
    v6[14] = 0x03;
    v6[15] = 0xe7;
    d.insertIp(v6);
    expect(c.bits).toEqual(d.bits);
    expect(() => a.insertIp('example.org')).toThrow(TypeError);
  });

  it('estimates the union of filters after OR-ing them', () => {
    const all = vectorAddresses();
    const left = new ScrapeBloom();
    const right = new ScrapeBloom();
    all.forEach((ip, i) => (i % 2 ? left : right).insertIp(ip));
    const u = bloomUnion([left, right.bits]);
    expect(u.zeroBits()).toBe(619);
    expect(u.estimate()).toBe(f0Estimate());
    expect(left.estimate()).toBeLessThan(u.estimate());
  });

  it('reads empty as 0 and saturated as Infinity', () => {
    expect(new ScrapeBloom().estimate()).toBe(0);
    const full = new ScrapeBloom(new Uint8Array(BLOOM_BYTES).fill(0xff));
    expect(full.saturated).toBe(true);
    expect(full.estimate()).toBe(Infinity);
    const one = new ScrapeBloom();
    one.insertIp('198.51.100.1');
    expect(one.estimate()).toBeGreaterThan(0.9);
    expect(one.estimate()).toBeLessThan(1.1);
    expect(bloomEstimate(one.bits)).toBe(one.estimate());
  });

  it('refuses filters that are not 256 bytes', () => {
    expect(ScrapeBloom.fromBytes(new Uint8Array(255)).ok).toBe(false);
    const ok = ScrapeBloom.fromBytes(new Uint8Array(256));
    expect(ok.ok).toBe(true);
    expect(() => new ScrapeBloom().union(new Uint8Array(10))).toThrow(RangeError);
  });
});
