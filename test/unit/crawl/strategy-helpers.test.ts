// The helpers the engine hands every strategy beyond ids and randomness (so plugins carry no
// copies): key parts of a range, a contact index that finds the closest contacts, endpoint keys.
import { describe, expect, it } from 'vitest';
import { CrawlEngine } from '../../../src/core/crawl/engine.js';
import { inRange } from '../../../src/core/crawl/key-range.js';
import type { CrawlNode, IndexedContact, Strategy } from '../../../src/core/crawl/strategy.js';
import { buildStrategyHelpers, type BaseStrategyHelpers } from '../../../src/core/crawl/strategy-context.js';
import { attachCrawler, createTestnet } from '../../../src/core/crawl/sim-crawl.js';
import { commonPrefixBits, compareDistance, randomIdInPrefix } from '../../../src/core/dht/node-id.js';
import { Prng } from '../../../src/core/net/prng.js';
import { toHex } from '../../../src/core/wire/hex.js';

/** Seeded base helpers that count the ids they draw. */
function base(seed: number): BaseStrategyHelpers & { drawn: { whole: number; inPrefix: number } } {
  const prng = new Prng(seed);
  const drawn = { whole: 0, inPrefix: 0 };
  const randomId = (): Uint8Array => prng.bytes(20);
  return {
    drawn,
    randomId: () => {
      drawn.whole++;
      return randomId();
    },
    randomIdInPrefix: (prefix, bits) => {
      drawn.inPrefix++;
      return randomIdInPrefix(prefix, bits, randomId);
    },
    compareDistance,
    commonPrefixBits,
    toHex,
    random: () => prng.next(),
  };
}

function contacts(count: number, seed: number): Array<CrawlNode & { id: Uint8Array }> {
  const prng = new Prng(seed);
  return Array.from({ length: count }, (_, i) => ({ id: prng.bytes(20), host: `10.2.${i >> 8}.${i & 255}`, port: 6000 + i, family: 4 as const }));
}

const endpoints = (list: IndexedContact[]): string[] => list.map((c) => `${c.host}|${c.port}`);

describe('keyPart', () => {
  it('without a range is the whole keyspace: ids from randomId(), every id inside', () => {
    const b = base(1);
    const part = buildStrategyHelpers(b).keyPart();
    expect(part.whole).toBe(true);
    expect(part.bits).toBe(0);
    expect(Array.from(part.start)).toEqual(Array(20).fill(0));
    expect(part.randomId()).toEqual(new Prng(1).bytes(20));
    expect(b.drawn).toEqual({ whole: 1, inPrefix: 0 });
    expect(part.has(new Uint8Array(20).fill(0xff))).toBe(true);
  });

  it('with a range draws every id inside it, from the context randomness, and tells ids inside from outside', () => {
    const b = base(2);
    const range = { bits: 3, index: 5 };
    const part = buildStrategyHelpers(b).keyPart(range);
    expect(part.whole).toBe(false);
    expect(part.bits).toBe(3);
    // 101 then zeros
    expect(part.start[0]).toBe(0xa0);
    expect(Array.from(part.start.subarray(1))).toEqual(Array(19).fill(0));
    const again = buildStrategyHelpers(base(2)).keyPart(range);
    for (let i = 0; i < 200; i++) {
      const id = part.randomId();
      expect(inRange(range, id)).toBe(true);
      expect(part.has(id)).toBe(true);
      expect(again.randomId()).toEqual(id);
    }
    expect(b.drawn).toEqual({ whole: 0, inPrefix: 200 });
    const prng = new Prng(3);
    let inside = 0;
    for (let i = 0; i < 400; i++) {
      const id = prng.bytes(20);
      expect(part.has(id)).toBe(inRange(range, id));
      if (part.has(id)) inside++;
    }
    // an eighth of the keyspace
    expect(inside).toBeGreaterThan(20);
    expect(inside).toBeLessThan(90);
  });
});

describe('contactIndex', () => {
  it('finds the closest contacts to a target, closest first, as sorting them all would', () => {
    const index = buildStrategyHelpers(base(4)).contactIndex(10_000);
    const all = contacts(3000, 5);
    for (const c of all) expect(index.add(c)).toBe(true);
    expect(index.size).toBe(3000);
    const prng = new Prng(6);
    for (let i = 0; i < 50; i++) {
      const target = i === 0 ? Uint8Array.from(all[17].id) : prng.bytes(20);
      const count = 1 + (i % 20);
      const want = [...all].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, count);
      expect(endpoints(index.closest(target, count))).toEqual(endpoints(want));
    }
    // with a filter: only the contacts it accepts, still the closest of those
    const target = prng.bytes(20);
    const even = (c: CrawlNode): boolean => c.port % 2 === 0;
    const want = all.filter(even).sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 8);
    expect(endpoints(index.closest(target, 8, even))).toEqual(endpoints(want));
  });

  it('keeps one contact per endpoint, refuses contacts without a 20-byte id and adds past capacity, and forgets removed ones', () => {
    const index = buildStrategyHelpers(base(7)).contactIndex(3);
    const [a, b, c, d] = contacts(4, 8);
    expect(index.capacity).toBe(3);
    const empty = index.bytes;
    expect(index.add({ host: a.host, port: a.port, family: 4 })).toBe(false);
    expect(index.add({ ...a, id: a.id.subarray(0, 19) })).toBe(false);
    expect(index.add(a)).toBe(true);
    // the same endpoint under another id keeps its first entry
    expect(index.add({ ...a, id: b.id })).toBe(false);
    expect(index.closest(b.id, 1)[0].id).toEqual(a.id);
    expect(index.add(b)).toBe(true);
    expect(index.add(c)).toBe(true);
    expect(index.add(d)).toBe(false);
    expect(index.size).toBe(3);
    expect(index.bytes).toBeGreaterThan(empty);
    // the index keeps its own copy of the id
    a.id[0] ^= 0xff;
    expect(index.closest(a.id, 3).map((x) => x.host).sort()).toEqual([a.host, b.host, c.host].sort());
    expect(index.closest(a.id, 3).find((x) => x.host === a.host)!.id[0]).toBe(a.id[0] ^ 0xff);
    index.remove(a.host, a.port);
    index.remove(a.host, a.port);
    expect(index.size).toBe(2);
    expect(endpoints(index.closest(a.id, 5)).sort()).toEqual([`${b.host}|${b.port}`, `${c.host}|${c.port}`].sort());
    expect(index.add(d)).toBe(true);
  });
});

describe('endpointKey', () => {
  it('keys an endpoint by host and port, IPv4 and IPv6 apart', () => {
    const { endpointKey } = buildStrategyHelpers(base(9));
    expect(endpointKey('10.0.0.1', 6881)).toBe('10.0.0.1|6881');
    expect(endpointKey('10.0.0.1', 6881)).not.toBe(endpointKey('10.0.0.1', 6882));
    expect(endpointKey('::ffff:10.0.0.1', 6881)).not.toBe(endpointKey('10.0.0.1', 6881));
    expect(endpointKey('2001:db8::1', 1)).toBe('2001:db8::1|1');
  });
});

describe('the engine context', () => {
  it('hands every strategy these helpers, its key parts seeded like its other ids', () => {
    const net = createTestnet({ nodes: 50, seed: 3 });
    const idle: Strategy = { name: 'idle', seed: async () => {}, next: () => ({ done: true }), onReply: () => {}, onFailure: () => {}, progress: () => 0 };
    const a = new CrawlEngine({ node: attachCrawler(net), strategy: idle, seed: 11 }).context.helpers;
    const b = new CrawlEngine({ node: attachCrawler(net, { port: 7001 }), strategy: idle, seed: 11 }).context.helpers;
    const range = { bits: 4, index: 9 };
    const id = a.keyPart(range).randomId();
    expect(inRange(range, id)).toBe(true);
    expect(b.keyPart(range).randomId()).toEqual(id);
    const index = a.contactIndex(10);
    for (const c of contacts(5, 10)) index.add(c);
    expect(index.closest(id, 5).length).toBe(5);
    expect(a.endpointKey('10.0.0.2', 1)).toBe('10.0.0.2|1');
  });
});
