// The random-target plugin on its own: a lookup towards each target, then samples of the k
// closest; a new target only when the old one has lived its seconds; a crawl of a simulated DHT.
// (The tests import the engine from the repository; the plugin itself imports nothing.)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commonPrefixBits, compareDistance, randomIdInPrefix } from '../../../src/core/dht/node-id.js';
import { Prng } from '../../../src/core/net/prng.js';
import { toHex } from '../../../src/core/wire/hex.js';
import { attachCrawler, createTestnet, driveCrawl } from '../../../src/core/crawl/sim-crawl.js';
import { inRange } from '../../../src/core/crawl/key-range.js';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { buildStrategyHelpers } from '../../../src/core/crawl/strategy-context.js';
import type { CrawlNode, CrawlTask, KeyRange, StrategyContext, TaskReply } from '../../../src/core/crawl/strategy.js';
import strategiesHook from '../lib/hooks/strategies.js';
import { RandomTargetStrategy, randomTargetDefinition } from '../lib/random-target.js';

const PLUGIN = new URL('..', import.meta.url).pathname;

interface Fake {
  ctx: StrategyContext;
  clock: { ms: number };
}

/** A context over a fixed set of known nodes; randomId() hands out `ids` in order. */
function fakeContext(known: CrawlNode[], ids: Uint8Array[], sampleAllowedAt: (n: CrawlNode) => number = () => 0): Fake {
  const prng = new Prng(7);
  const clock = { ms: 0 };
  const ctx: StrategyContext = {
    now: () => clock.ms,
    family: 4,
    helpers: buildStrategyHelpers({
      randomId: () => ids.shift() ?? prng.bytes(20),
      randomIdInPrefix,
      compareDistance,
      commonPrefixBits,
      toHex: (id) => Buffer.from(id).toString('hex'),
      random: () => prng.next(),
    }),
    closestKnown: (target, count) => [...known].sort((a, b) => compareDistance(a.id!, b.id!, target)).slice(0, count),
    lookup: async () => {
      throw new Error('not used');
    },
    allowed: () => true,
    sampleAllowedAt,
    log: () => {},
    slots: () => 16,
  };
  return { ctx, clock };
}

function nodes(count: number, seed: number): Array<CrawlNode & { id: Uint8Array }> {
  const prng = new Prng(seed);
  return Array.from({ length: count }, (_, i) => ({ id: prng.bytes(20), host: `10.1.${i >> 8}.${i & 255}`, port: 7000 + i, family: 4 as const }));
}

const reply = (task: CrawlTask, extra: Partial<TaskReply> = {}): TaskReply => ({ id: task.node.id!, nodes: [], newSamples: 0, ...extra });

/** Collects tasks until the strategy says wait or done. */
function drain(s: RandomTargetStrategy, ctx: StrategyContext): { tasks: CrawlTask[]; last: ReturnType<RandomTargetStrategy['next']> } {
  const tasks: CrawlTask[] = [];
  for (let i = 0; i < 1000; i++) {
    const r = s.next(ctx);
    if (!('task' in r)) return { tasks, last: r };
    tasks.push(r.task);
  }
  throw new Error('strategy never waits');
}

const key = (n: CrawlNode): string => `${n.host}:${n.port}`;

describe('random-target strategy', () => {
  it('looks up the target with find_node, then samples the k closest nodes that answered', async () => {
    const known = nodes(40, 1);
    const target = new Prng(99).bytes(20);
    const { ctx } = fakeContext(known, [new Uint8Array(20), target]);
    const s = new RandomTargetStrategy({ k: 4, rotateS: 5 });
    await s.seed(ctx);

    const first = drain(s, ctx);
    expect(first.tasks.length).toBe(4);
    for (const t of first.tasks) {
      expect(t.method).toBe('find_node');
      expect(t.target).toEqual(target);
    }
    const closest4 = ctx.closestKnown(target, 4).map(key);
    expect(first.tasks.map((t) => key(t.node))).toEqual(closest4);
    // still waiting for those answers: nothing else to ask, the next target comes at 5 s
    expect(first.last).toEqual({ wait: true, retryAt: 5000 });

    for (const t of first.tasks) s.onReply(t, reply(t), ctx);
    const second = drain(s, ctx);
    expect(second.tasks.map((t) => t.method)).toEqual(Array(4).fill('sample_infohashes'));
    expect(second.tasks.map((t) => key(t.node))).toEqual(closest4);
    expect(second.last).toEqual({ wait: true, retryAt: 5000 });
    for (const t of second.tasks) s.onReply(t, reply(t, { samples: [], num: 0, interval: 0 }), ctx);
    expect(s.next(ctx)).toEqual({ wait: true, retryAt: 5000 });
    expect(s.rounds).toBe(1);
  });

  it('follows closer contacts from the answers, and forgets nodes that time out', async () => {
    const known = nodes(20, 2);
    const target = new Prng(5).bytes(20);
    const { ctx } = fakeContext(known, [new Uint8Array(20), target]);
    const s = new RandomTargetStrategy({ k: 2 });
    await s.seed(ctx);
    const [a, b] = drain(s, ctx).tasks;
    // a lists two contacts right next to the target; b times out
    const near = [1, 2].map((i) => ({ id: randomIdInPrefix(target, 150), host: `10.9.0.${i}`, port: 9000 + i, family: 4 as const }));
    s.onReply(a, reply(a, { nodes: near }), ctx);
    s.onFailure(b, 'timeout', ctx);
    expect(s.contacts).toBe(19);
    const next = drain(s, ctx).tasks;
    expect(next.length).toBe(2);
    expect(new Set(next.map((t) => key(t.node)))).toEqual(new Set(near.map(key)));
  });

  it('starts a new random target only when the old one has lived rotate seconds', async () => {
    const known = nodes(30, 3);
    const t1 = new Prng(11).bytes(20);
    const t2 = new Prng(12).bytes(20);
    const { ctx, clock } = fakeContext(known, [new Uint8Array(20), t1, t2]);
    const s = new RandomTargetStrategy({ k: 2, rotateS: 3 });
    await s.seed(ctx);
    const one = drain(s, ctx);
    for (const t of one.tasks) s.onReply(t, reply(t), ctx);
    drain(s, ctx);
    clock.ms = 2999;
    expect(s.next(ctx)).toEqual({ wait: true, retryAt: 3000 });
    clock.ms = 3000;
    const r = s.next(ctx);
    expect('task' in r && r.task.target).toEqual(t2);
    expect(s.rounds).toBe(2);
  });

  it('does not sample a node whose interval has not passed, nor one without BEP 51', async () => {
    const known = nodes(10, 4);
    const target = new Prng(13).bytes(20);
    const closest = fakeContext(known, []).ctx.closestKnown(target, 3);
    const later = key(closest[0]);
    // the same target twice in a row
    const { ctx, clock } = fakeContext(known, [new Uint8Array(20), target, Uint8Array.from(target)], (n) => (key(n) === later ? 60_000 : 0));
    const s = new RandomTargetStrategy({ k: 3 });
    await s.seed(ctx);
    const lookupRound = (): CrawlTask[] => {
      const lookup = drain(s, ctx).tasks;
      expect(lookup.map((t) => t.method)).toEqual(['find_node', 'find_node', 'find_node']);
      for (const t of lookup) s.onReply(t, reply(t), ctx);
      return drain(s, ctx).tasks;
    };
    const samples = lookupRound();
    expect(samples.map((t) => key(t.node))).toEqual([key(closest[1]), key(closest[2])]);
    // closest[1] answers without samples (no BEP 51): it is not sampled for the next target
    s.onReply(samples[0], reply(samples[0]), ctx);
    s.onReply(samples[1], reply(samples[1], { samples: [], num: 0, interval: 0 }), ctx);
    clock.ms = 5000;
    expect(lookupRound().map((t) => key(t.node))).toEqual([key(closest[2])]);
  });

  it('reads --strategy-opt values and refuses unknown or bad ones', () => {
    const s = randomTargetDefinition.create({ concurrency: 8, params: { rotate: '2.5', k: '4', rounds: '3', pool: '100' } });
    expect(s).toBeInstanceOf(RandomTargetStrategy);
    expect((s as RandomTargetStrategy).rotateMs).toBe(2500);
    expect(s.progress()).toBe(0);
    expect(() => randomTargetDefinition.create({ concurrency: 8, params: { speed: '1' } })).toThrow(/unknown --strategy-opt 'speed' \(known: rotate, k, rounds, pool, dry-rounds\)/);
    expect(() => randomTargetDefinition.create({ concurrency: 8, params: { k: '0' } })).toThrow(/'k=0': expected an integer within 1\.\.64/);
    expect(() => randomTargetDefinition.create({ concurrency: 8, params: { rounds: '-1' } })).toThrow(/rounds=-1/);
    // every option has a range, and a bad value is an error bitscrape reports as bad input (by its name)
    for (const params of <Array<Record<string, string>>>[{ rotate: 'abc' }, { rotate: '0' }, { rotate: '1e12' }, { rotate: '3601' }, { pool: '1000001' }, { rounds: '1.5' }]) {
      let error: unknown;
      try {
        randomTargetDefinition.create({ concurrency: 8, params });
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(params)).toBeInstanceOf(Error);
      expect((error as Error).name, JSON.stringify(params)).toBe('StrategyOptionError');
    }
  });

  it('is a dependency-free oclif plugin: the hook answers the definition, the code imports only itself', async () => {
    // a bitscrape older than plugin API 2 has no ctx.helpers.keyPart etc.: the hook refuses it, saying so
    expect(() => strategiesHook({ api: 1 })).toThrow(/bitscrape-plugin-random-target needs bitscrape's plugin API 2 or later; this bitscrape speaks 1: update bitscrape/);
    expect(await strategiesHook({ api: 2 })).toEqual([randomTargetDefinition]);
    const pjson = JSON.parse(readFileSync(join(PLUGIN, 'package.json'), 'utf8'));
    expect(pjson.oclif.hooks.strategies).toBe('./lib/hooks/strategies.js');
    expect(pjson.dependencies ?? {}).toEqual({});
    const files = readdirSync(join(PLUGIN, 'lib'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) {
      const code = readFileSync(join(PLUGIN, 'lib', f), 'utf8');
      for (const m of code.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) expect(m[1], `${f} imports ${m[1]}`).toMatch(/^\.\.?\//);
    }
  });

  it('crawls a simulated DHT for a number of targets, within every node\'s BEP 51 interval', async () => {
    const net = createTestnet({ nodes: 3000, infohashes: 6000, seed: 21 });
    const node = attachCrawler(net, { seed: 5 });
    const strategy = randomTargetDefinition.create({ concurrency: 16, params: { rounds: '80' } }) as RandomTargetStrategy;
    const found = new Set<string>();
    const crawl = createCrawl({ node, strategy, concurrency: 16, seed: 3, onInfohash: (r) => found.add(toHex(r.infohash)) });
    const summary = await driveCrawl(net, crawl, 3600_000);
    const world = net.world;
    await world.close();

    expect(summary.stopped_by).toBe('done');
    expect(strategy.rounds).toBe(80);
    expect(world.counters.earlySamples).toBe(0);
    const all = world.allInfohashes();
    expect(found.size).toBe(summary.unique_infohashes);
    for (const ih of found) expect(all.has(ih)).toBe(true);
    // 80 targets x up to 8 sampled nodes x up to 20 samples each, with replicas overlapping
    expect(found.size).toBeGreaterThan(1000);
    expect(summary.nodes_answered_sample).toBeGreaterThan(100);
    // a lookup and k samples per target: a few dozen queries, not hundreds
    expect(summary.queries_sent / 80).toBeLessThan(60);
    // sampled nodes cluster around the targets: most BEP 51 nodes are never asked
    let sampledNodes = 0;
    for (let i = 0; i < world.size; i++) if (world.sampled[i] > 0) sampledNodes++;
    expect(sampledNodes).toBe(summary.nodes_answered_sample);
    expect(sampledNodes).toBeLessThan(world.responsiveBep51().length);
  }, 60_000);
});

describe('random-target under a range (crawl --leases, --shard)', () => {
  it('draws every target inside the range, samples only nodes inside it, each once, and ends after dry-rounds dry targets', async () => {
    const known = nodes(60, 8);
    const range: KeyRange = { bits: 2, index: 2 };
    const inside = known.filter((n) => inRange(range, n.id));
    expect(inside.length).toBeGreaterThan(5);
    const { ctx, clock } = fakeContext(known, []);
    const s = randomTargetDefinition.create({ concurrency: 8, params: { k: '3', rotate: '1', 'dry-rounds': '4' }, range }) as RandomTargetStrategy;
    await s.seed(ctx);
    const sampled: string[] = [];
    let end: ReturnType<RandomTargetStrategy['next']> | undefined;
    for (let round = 0; round < 500 && !end; round++) {
      const lookup = drain(s, ctx);
      if ('done' in lookup.last) end = lookup.last;
      for (const t of lookup.tasks) {
        expect(inRange(range, t.target), 'target').toBe(true);
        s.onReply(t, reply(t), ctx);
      }
      const samples = drain(s, ctx);
      for (const t of samples.tasks) {
        expect(t.method).toBe('sample_infohashes');
        expect(inRange(range, t.target), 'target').toBe(true);
        expect(inRange(range, t.node.id!), 'sampled node').toBe(true);
        sampled.push(key(t.node));
        s.onReply(t, reply(t, { samples: [], num: 0, interval: 0 }), ctx);
      }
      clock.ms += 1000;
    }
    expect(end).toEqual({ done: true });
    expect(new Set(sampled).size).toBe(sampled.length);
    // the lookups found nothing new (the replies list no contacts): the range's nodes the known ones reach
    expect(sampled.length).toBeGreaterThanOrEqual(Math.min(3, inside.length));
    // the last four targets sampled nobody new: that is the end
    expect(s.rounds).toBeGreaterThan(4);
  });

  it('without a range it has no dry end (dry-rounds 0) unless asked for one', () => {
    expect((randomTargetDefinition.create({ concurrency: 8, params: {} }) as RandomTargetStrategy).dryLimit).toBe(0);
    expect((randomTargetDefinition.create({ concurrency: 8, params: {}, range: { bits: 4, index: 3 } }) as RandomTargetStrategy).dryLimit).toBe(8);
    expect((randomTargetDefinition.create({ concurrency: 8, params: { 'dry-rounds': '2' } }) as RandomTargetStrategy).dryLimit).toBe(2);
  });

  it('walks one quarter of a simulated DHT to its end: samples only there, each node once, most of its BEP 51 nodes', async () => {
    const net = createTestnet({ nodes: 3000, infohashes: 6000, seed: 22 });
    const node = attachCrawler(net, { seed: 6 });
    const range: KeyRange = { bits: 2, index: 1 };
    const strategy = randomTargetDefinition.create({ concurrency: 16, params: {}, range }) as RandomTargetStrategy;
    const crawl = createCrawl({ node, strategy, concurrency: 16, seed: 4 });
    const summary = await driveCrawl(net, crawl, 6 * 3600_000);
    const world = net.world;
    await world.close();

    expect(summary.stopped_by).toBe('done');
    let outside = 0;
    let twice = 0;
    let covered = 0;
    for (let i = 0; i < world.size; i++) {
      if (world.sampled[i] > 1) twice++;
      if (world.sampled[i] > 0 && !inRange(range, world.idOf(i))) outside++;
    }
    const targets = world.responsiveBep51([4]).filter((i) => inRange(range, world.idOf(i)));
    for (const i of targets) if (world.sampled[i] > 0) covered++;
    expect(outside).toBe(0);
    expect(twice).toBe(0);
    expect(covered / targets.length).toBeGreaterThan(0.75);
  }, 120_000);
});
