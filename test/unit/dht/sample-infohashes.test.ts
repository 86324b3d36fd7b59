// BEP 51 (DHT infohash indexing), the sample_infohashes method: the reply on the wire, the
// rules a reply must meet (interval 0-21600 s, num, samples a multiple of 20 bytes), a client
// asking a node, and how the crawl uses what comes back (samples, num, and the interval it waits).
import { describe, expect, it } from 'vitest';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { attachCrawler, createTestnet, driveCrawl, type Testnet } from '../../../src/core/crawl/sim-crawl.js';
import type { CrawlTask, NextResult, Strategy, StrategyContext, TaskReply } from '../../../src/core/crawl/strategy.js';
import { MAX_SAMPLE_INTERVAL_S, checkResponse } from '../../../src/core/net/response-rules.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { toHex } from '../../../src/core/wire/hex.js';
import { decodeMessage, encodeQuery, encodeResponse, type ArgsDict } from '../../../src/core/wire/krpc-codec.js';
import type { KrpcResponse } from '../../../src/core/wire/types.js';
import { runUntilSettled } from '../../support/virtual-time.js';
import { tempDir } from '../store/helpers.js';

const T = new Uint8Array([0x61, 0x61]);
const ID = new Uint8Array(20).fill(0x11);
const hash = (b: number): Uint8Array => new Uint8Array(20).fill(b);
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** Encodes a reply body and decodes it again, as a crawler receives it. */
function roundTrip(body: ArgsDict): KrpcResponse {
  const m = decodeMessage(encodeResponse(T, { id: ID, ...body }));
  if (!m.ok || m.value.y !== 'r') throw new Error('not a reply');
  return m.value;
}

describe('BEP 51 on the wire', () => {
  it('a query carries target and want', () => {
    const m = decodeMessage(encodeQuery(T, 'sample_infohashes', { id: ID, target: hash(0x22), want: ['n4', 'n6'] }));
    if (!m.ok || m.value.y !== 'q') throw new Error('not a query');
    expect(m.value.q).toBe('sample_infohashes');
    expect(toHex(m.value.a.target!)).toBe(toHex(hash(0x22)));
    expect(m.value.a.want).toEqual(['n4', 'n6']);
  });

  it('the samples string of a reply decodes to 20-byte infohashes in order, with interval and num', () => {
    const r = roundTrip({ interval: 21600, num: 95, samples: concat([hash(1), hash(2), hash(3)]) });
    expect(r.r.samples!.map(toHex)).toEqual([hash(1), hash(2), hash(3)].map(toHex));
    expect(r.r.interval).toBe(21600);
    expect(r.r.num).toBe(95);
    expect(checkResponse('sample_infohashes', r)).toBeNull();
  });

  it('an empty samples string is a valid answer with no samples (a node that stores nothing)', () => {
    const r = roundTrip({ interval: 0, num: 0, samples: new Uint8Array(0) });
    expect(r.r.samples).toEqual([]);
    expect(checkResponse('sample_infohashes', r)).toBeNull();
  });

  it('a samples string that is not a multiple of 20 bytes is dropped by the decoder, and the reply refused', () => {
    const r = roundTrip({ interval: 60, num: 3, samples: new Uint8Array(30) });
    expect(r.r.samples).toBeUndefined();
    expect(r.warnings).toEqual(['samples: not a string whose length is a multiple of 20, ignored']);
    expect(checkResponse('sample_infohashes', r)).toMatch(/length 30 is not a multiple of 20/);
  });
});

describe('BEP 51 reply rules', () => {
  const samples = concat([hash(5)]);
  it.each([
    ['interval 0 (sample again at will)', { interval: 0, num: 1, samples }],
    [`interval ${MAX_SAMPLE_INTERVAL_S} (the 6 h most)`, { interval: MAX_SAMPLE_INTERVAL_S, num: 1, samples }],
    ['num larger than the samples sent', { interval: 60, num: 1_000_000, samples }],
    ['nodes alongside the samples', { interval: 60, num: 1, samples, nodes: new Uint8Array(0) }],
  ])('accepts %s', (_what, body) => {
    expect(checkResponse('sample_infohashes', roundTrip(body))).toBeNull();
  });

  it.each([
    ['interval past 6 h', { interval: MAX_SAMPLE_INTERVAL_S + 1, num: 1, samples }, /interval 21601 out of range/],
    ['a negative interval', { interval: -1, num: 1, samples }, /interval -1 out of range/],
    ['no interval', { num: 1, samples }, /without interval/],
    ['no num', { interval: 60, samples }, /without num/],
    ['a negative num', { interval: 60, num: -1, samples }, /num -1 is negative/],
    ['no samples', { interval: 60, num: 1 }, /without samples/],
    ['nodes only (no BEP 51)', { nodes: new Uint8Array(0) }, /not supported \(nodes without samples\)/],
  ])('refuses %s', (_what, body, why) => {
    expect(checkResponse('sample_infohashes', roundTrip(body))).toMatch(why);
  });
});

// world flags: 1 BEP 51, 2 answers 204, 4 rate-limited (left out: it would make replies depend on timing)
function bep51Node(net: Testnet, pred: (i: number) => boolean = () => true): number {
  const w = net.world;
  for (let i = 0; i < w.size; i++) if (w.isResponsive(i) && w.flags[i] === 1 && w.storedBy(i) > 0 && pred(i)) return i;
  throw new Error('no such node');
}

/** A node that answers sample_infohashes like find_node (nodes, no samples). */
function nodesOnlyNode(net: Testnet): number {
  const w = net.world;
  for (let i = 0; i < w.size; i++) if (w.isResponsive(i) && w.flags[i] === 0) return i;
  throw new Error('no such node');
}

function storedHexes(net: Testnet, i: number): Set<string> {
  const w = net.world;
  return new Set(Array.from({ length: w.storedBy(i) }, (_, k) => w.infohashHex(w.hold[w.holdStart[i] + k])));
}

describe('BEP 51 from a client', () => {
  it('DhtClient.sample gets stored infohashes (at most 20), the store size as num, and the interval the node asks for', async () => {
    const net = createTestnet({ nodes: 300, infohashes: 3000, seed: 41, world: { intervalS: 120 } });
    const client = attachCrawler(net);
    const i = bep51Node(net, (n) => net.world.storedBy(n) > 20);
    const out = await runUntilSettled(net.clock, client.sample({ ...net.world.endpointOf(i), id: net.world.idOf(i) }, hash(0)));
    if (!out.ok) throw new Error(`sample failed: ${out.kind}`);
    expect(out.msg.r.interval).toBe(120);
    expect(out.msg.r.num).toBe(net.world.storedBy(i));
    const got = out.msg.r.samples!.map(toHex);
    expect(got).toHaveLength(20);
    expect(new Set(got).size).toBe(20);
    const stored = storedHexes(net, i);
    for (const s of got) expect(stored.has(s)).toBe(true);
  });

  it('a node without BEP 51 that answers with nodes only is a bad reply, not an empty sample', async () => {
    const net = createTestnet({ nodes: 600, seed: 42 });
    const out = await runUntilSettled(net.clock, attachCrawler(net).sample(net.world.endpointOf(nodesOnlyNode(net)), hash(0)));
    expect(out).toMatchObject({ ok: false, kind: 'bad_reply', message: expect.stringMatching(/not supported/) });
  });
});

/** Hands out one sample_infohashes per call of `ask`, and notes what each reply brought. */
class SampleScript implements Strategy {
  readonly name = 'sample-script';
  readonly seen: Array<{ reply: TaskReply; now: number; allowedAt: number }> = [];
  private readonly queue: CrawlTask[] = [];
  private inFlight = 0;
  constructor(private readonly net: Testnet) {}
  ask(i: number): void {
    this.queue.push({ node: { ...this.net.world.endpointOf(i), id: this.net.world.idOf(i), family: 4 }, method: 'sample_infohashes', target: hash(0) });
  }
  async seed(): Promise<void> {}
  next(): NextResult {
    const task = this.queue.shift();
    if (task) {
      this.inFlight++;
      return { task };
    }
    return this.inFlight > 0 ? { wait: true } : { done: true };
  }
  onReply(task: CrawlTask, reply: TaskReply, ctx: StrategyContext): void {
    this.inFlight--;
    this.seen.push({ reply, now: ctx.now(), allowedAt: ctx.sampleAllowedAt(task.node) });
  }
  onFailure(): void {
    this.inFlight--;
  }
  progress(): number {
    return 0;
  }
}

describe('BEP 51 in the crawl', () => {
  it('hands the strategy samples, num and interval, and allows the next sample once the interval has passed, in whole seconds', async () => {
    const net = createTestnet({ nodes: 300, infohashes: 3000, seed: 43, world: { intervalS: 120 } });
    const i = bep51Node(net, (n) => net.world.storedBy(n) > 20);
    const script = new SampleScript(net);
    script.ask(i);
    await driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy: script, bootstrapBelow: 0 }));
    expect(script.seen).toHaveLength(1);
    const { reply, now, allowedAt } = script.seen[0];
    expect(reply.interval).toBe(120);
    expect(reply.num).toBe(net.world.storedBy(i));
    expect(reply.samples).toHaveLength(20);
    expect(reply.newSamples).toBe(20);
    expect(allowedAt % 1000).toBe(0);
    expect(allowedAt - now).toBeGreaterThanOrEqual(120_000);
    expect(allowedAt - now).toBeLessThan(121_000);
  });

  it('--min-interval replaces the wait, while the reply still reports the interval the node asked for', async () => {
    const net = createTestnet({ nodes: 300, seed: 44, world: { intervalS: 120 } });
    const script = new SampleScript(net);
    script.ask(bep51Node(net));
    await driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy: script, bootstrapBelow: 0, minIntervalS: 30 }));
    const { reply, now, allowedAt } = script.seen[0];
    expect(reply.interval).toBe(120);
    expect(allowedAt - now).toBeGreaterThanOrEqual(30_000);
    expect(allowedAt - now).toBeLessThan(31_000);
  });

  it('a node asking for interval 0 may be sampled again at once, and samples already seen are not new', async () => {
    const net = createTestnet({ nodes: 300, seed: 45, world: { intervalS: 0 } });
    const i = bep51Node(net);
    const script = new SampleScript(net);
    script.ask(i);
    script.ask(i);
    const s = await driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy: script, bootstrapBelow: 0, concurrency: 1 }));
    expect(s.interval_skips).toBe(0);
    expect(net.world.sampled[i]).toBe(2);
    expect(script.seen.map((x) => x.allowedAt)).toEqual([0, 0]);
    const [first, second] = script.seen.map((x) => x.reply);
    expect(first.newSamples).toBe(first.samples!.length);
    const firstSet = new Set(first.samples!.map(toHex));
    expect(second.newSamples).toBe(second.samples!.filter((x) => !firstSet.has(toHex(x))).length);
  });

  it('stores each sampled node with its interval and num, and a node answering with nodes only as not BEP 51', async () => {
    const net = createTestnet({ nodes: 600, seed: 46, world: { intervalS: 90 } });
    const w = net.world;
    const yes = bep51Node(net);
    const no = nodesOnlyNode(net);
    const store = new SqliteStore(`${tempDir()}/bep51.db`);
    try {
      const script = new SampleScript(net);
      script.ask(yes);
      script.ask(no);
      await driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy: script, bootstrapBelow: 0, store }));
      const rows = new Map([...store.listNodes()].map((r) => [r.addr, r]));
      const addr = (i: number): string => `${w.endpointOf(i).host}:${w.endpointOf(i).port}`;
      expect(rows.get(addr(yes))).toMatchObject({ id: toHex(w.idOf(yes)), bep51: true, sample_interval_s: 90, num: w.storedBy(yes) });
      expect(rows.get(addr(yes))!.last_sampled).not.toBeNull();
      expect(rows.get(addr(no))).toMatchObject({ bep51: false, sample_interval_s: null, num: null, last_sampled: null });
    } finally {
      store.close();
    }
  });
});
