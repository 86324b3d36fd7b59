// The multi-table plugin on its own: temporary tables homed at random ids, filled closest to the
// home first, swapped when they stop yielding; a crawl of a simulated DHT.
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
import { MultiTableStrategy, multiTableDefinition } from '../lib/multi-table.js';

const PLUGIN = new URL('..', import.meta.url).pathname;

/** A context over a fixed set of known nodes; randomId() hands out `ids` in order. */
function fakeContext(known: CrawlNode[], ids: Uint8Array[]): StrategyContext {
  const prng = new Prng(7);
  return {
    now: () => 0,
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
    sampleAllowedAt: () => 0,
    log: () => {},
    slots: () => 16,
  };
}

function nodes(count: number, seed: number): Array<CrawlNode & { id: Uint8Array }> {
  const prng = new Prng(seed);
  return Array.from({ length: count }, (_, i) => ({ id: prng.bytes(20), host: `10.1.${i >> 8}.${i & 255}`, port: 7000 + i, family: 4 as const }));
}

const reply = (task: CrawlTask, extra: Partial<TaskReply> = {}): TaskReply => ({ id: task.node.id!, nodes: [], newSamples: 0, ...extra });
const key = (n: CrawlNode): string => `${n.host}:${n.port}`;

function nextTask(s: MultiTableStrategy, ctx: StrategyContext): CrawlTask {
  const r = s.next(ctx);
  if (!('task' in r)) throw new Error(`expected a task, got ${JSON.stringify(r)}`);
  return r.task;
}

describe('multi-table strategy', () => {
  it('fills several tables at once, each starting with the known node closest to its home', async () => {
    const known = nodes(60, 1);
    const homes = [new Prng(31).bytes(20), new Prng(32).bytes(20), new Prng(33).bytes(20)];
    const ctx = fakeContext(known, [new Uint8Array(20), ...homes.map((h) => Uint8Array.from(h))]);
    const s = new MultiTableStrategy({ tables: 3, k: 4 });
    await s.seed(ctx);
    expect(s.tablesStarted).toBe(3);
    const first = [nextTask(s, ctx), nextTask(s, ctx), nextTask(s, ctx)];
    for (let i = 0; i < 3; i++) {
      // turns go round the tables; a node met for the first time is sampled, aiming at the home
      expect(first[i].method).toBe('sample_infohashes');
      expect(first[i].target).toEqual(homes[i]);
      expect(key(first[i].node)).toBe(key(ctx.closestKnown(homes[i], 1)[0]));
    }
  });

  it('aims at the home while converging, then fills the other buckets with targets inside them', async () => {
    const known = nodes(40, 2);
    const home = new Prng(41).bytes(20);
    const ctx = fakeContext(known, [new Uint8Array(20), Uint8Array.from(home)]);
    const s = new MultiTableStrategy({ tables: 1, k: 2 });
    await s.seed(ctx);
    const a = nextTask(s, ctx);
    // a knows two nodes deep in the home's neighbourhood
    const near = [1, 2].map((i) => ({ id: randomIdInPrefix(home, 40 + i), host: `10.9.0.${i}`, port: 9000 + i, family: 4 as const }));
    s.onReply(a, reply(a, { nodes: near, samples: [], num: 0, interval: 0, newSamples: 3 }), ctx);
    const b = nextTask(s, ctx);
    const c = nextTask(s, ctx);
    expect(new Set([key(b.node), key(c.node)])).toEqual(new Set(near.map(key)));
    s.onReply(b, reply(b, { samples: [], num: 0, interval: 0, newSamples: 1 }), ctx);
    s.onReply(c, reply(c, { samples: [], num: 0, interval: 0, newSamples: 1 }), ctx);
    // farther candidates now go with a random target in their own bucket (not the home)
    const d = nextTask(s, ctx);
    const bucket = commonPrefixBits(d.node.id!, home);
    expect(bucket).toBeLessThan(40);
    expect(commonPrefixBits(d.target, home)).toBe(bucket);
    expect(commonPrefixBits(d.target, d.node.id!)).toBeGreaterThan(bucket);
  });

  it('swaps a table out after `window` answers in a row without a new infohash', async () => {
    const known = nodes(200, 3);
    const h1 = new Prng(51).bytes(20);
    const h2 = new Prng(52).bytes(20);
    const ctx = fakeContext(known, [new Uint8Array(20), Uint8Array.from(h1), Uint8Array.from(h2)]);
    const s = new MultiTableStrategy({ tables: 1, k: 8, window: 4 });
    await s.seed(ctx);
    for (let i = 0; i < 4; i++) {
      const t = nextTask(s, ctx);
      expect(t.target).not.toEqual(h2);
      // each answer brings candidates, but no new infohash
      s.onReply(t, reply(t, { nodes: nodes(3, 100 + i), samples: [], num: 0, interval: 0 }), ctx);
    }
    const t = nextTask(s, ctx);
    expect(s.tablesStarted).toBe(2);
    expect(s.tablesRetired).toBe(1);
    expect(t.target).toEqual(h2);
  });

  it('asks a node met before only to converge, and never samples it twice', async () => {
    const known = nodes(30, 4);
    const home = new Prng(61).bytes(20);
    const ctx = fakeContext(known, [new Uint8Array(20), Uint8Array.from(home), Uint8Array.from(home)]);
    const s = new MultiTableStrategy({ tables: 1, k: 8, window: 2, tablesTotal: 2 });
    await s.seed(ctx);
    const firstTable: CrawlTask[] = [];
    for (let i = 0; i < 2; i++) firstTable.push(nextTask(s, ctx));
    for (const t of firstTable) s.onReply(t, reply(t, { samples: [], num: 0, interval: 0 }), ctx);
    // dried up: the second table has the same home and meets the same nodes
    const again = nextTask(s, ctx);
    expect(s.tablesStarted).toBe(2);
    expect(again.method).toBe('find_node');
    expect(again.target).toEqual(home);
    expect(s.progress()).toBe(0.5);
  });

  it('reads --strategy-opt values and refuses unknown or bad ones', () => {
    const s = multiTableDefinition.create({ concurrency: 8, params: { tables: '4', k: '6', window: '10', 'tables-total': '3', pool: '500' } }) as MultiTableStrategy;
    expect(s).toBeInstanceOf(MultiTableStrategy);
    expect([s.width, s.k, s.window, s.tablesTotal]).toEqual([4, 6, 10, 3]);
    expect(() => multiTableDefinition.create({ concurrency: 8, params: { depth: '1' } })).toThrow(/unknown --strategy-opt 'depth' \(known: tables, k, window, tables-total, pool, dry-tables\)/);
    expect(() => multiTableDefinition.create({ concurrency: 8, params: { tables: '0' } })).toThrow(/'tables=0': expected an integer within 1\.\.256/);
    expect(() => multiTableDefinition.create({ concurrency: 8, params: { k: '300' } })).toThrow(/k=300/);
    // every option has a range, and a bad value is an error bitscrape reports as bad input (by its name)
    for (const params of <Array<Record<string, string>>>[{ tables: '257' }, { window: '1e12' }, { 'tables-total': '-1' }, { pool: 'abc' }, { k: '2.5' }, { pool: 'Infinity' }]) {
      let error: unknown;
      try {
        multiTableDefinition.create({ concurrency: 8, params });
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(params)).toBeInstanceOf(Error);
      expect((error as Error).name, JSON.stringify(params)).toBe('StrategyOptionError');
    }
  });

  it('is a dependency-free oclif plugin: the hook answers the definition, the code imports only itself', async () => {
    // a bitscrape older than plugin API 2 has no ctx.helpers.keyPart etc.: the hook refuses it, saying so
    expect(() => strategiesHook({ api: 1 })).toThrow(/bitscrape-plugin-multi-table needs bitscrape's plugin API 2 or later; this bitscrape speaks 1: update bitscrape/);
    expect(await strategiesHook({ api: 2 })).toEqual([multiTableDefinition]);
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

  it('crawls a simulated DHT through a number of tables, sampling each node at most once', async () => {
    const net = createTestnet({ nodes: 3000, infohashes: 6000, seed: 22 });
    const node = attachCrawler(net, { seed: 6 });
    const strategy = multiTableDefinition.create({ concurrency: 16, params: { 'tables-total': '60' } }) as MultiTableStrategy;
    const found = new Set<string>();
    const crawl = createCrawl({ node, strategy, concurrency: 16, seed: 4, onInfohash: (r) => found.add(toHex(r.infohash)) });
    const summary = await driveCrawl(net, crawl, 3600_000);
    const world = net.world;
    await world.close();

    expect(summary.stopped_by).toBe('done');
    expect(strategy.tablesStarted).toBe(60);
    expect(strategy.tablesRetired).toBe(60);
    const all = world.allInfohashes();
    expect(found.size).toBe(summary.unique_infohashes);
    for (const ih of found) expect(all.has(ih)).toBe(true);
    let most = 0;
    let sampledNodes = 0;
    for (let i = 0; i < world.size; i++) {
      most = Math.max(most, world.sampled[i]);
      if (world.sampled[i] > 0) sampledNodes++;
    }
    // world.sampled counts honest nodes only (the engine asks an id spoofer twice to check it)
    expect(most).toBe(1);
    expect(sampledNodes).toBeGreaterThan(200);
    expect(found.size).toBeGreaterThan(2000);
  }, 60_000);
});

describe('multi-table under a range (crawl --leases, --shard)', () => {
  it('homes its tables inside the range, samples only nodes inside it, asks outside nodes only towards the home, and ends after dry-tables dry tables', async () => {
    const known = nodes(80, 9);
    const range: KeyRange = { bits: 3, index: 5 };
    const ctx = fakeContext(known, []);
    const s = multiTableDefinition.create({ concurrency: 8, params: { tables: '2', k: '2', 'dry-tables': '3' }, range }) as MultiTableStrategy;
    await s.seed(ctx);
    const sampled: string[] = [];
    let last: ReturnType<MultiTableStrategy['next']> | undefined;
    for (let i = 0; i < 2000; i++) {
      last = s.next(ctx);
      if (!('task' in last)) break;
      const t = last.task;
      const tag = t.tag as { table: { home: Uint8Array } };
      expect(inRange(range, tag.table.home), 'home').toBe(true);
      expect(inRange(range, t.target), 'target').toBe(true);
      if (t.method === 'sample_infohashes') {
        expect(inRange(range, t.node.id!), 'sampled node').toBe(true);
        sampled.push(key(t.node));
      } else if (!inRange(range, t.node.id!)) {
        // outside: only on the way in, towards the home
        expect(t.target).toEqual(tag.table.home);
      }
      // every answer lists a few known nodes, so the tables have somewhere to go
      s.onReply(t, reply(t, { nodes: known.slice(i % 70, (i % 70) + 6) }), ctx);
    }
    expect(last).toEqual({ done: true });
    expect(new Set(sampled).size).toBe(sampled.length);
    expect(sampled.length).toBeGreaterThan(0);
    expect(s.tablesRetired).toBe(s.tablesStarted);
  });

  it('without a range it has no dry end (dry-tables 0) unless asked for one', () => {
    expect((multiTableDefinition.create({ concurrency: 8, params: {} }) as MultiTableStrategy).dryLimit).toBe(0);
    expect((multiTableDefinition.create({ concurrency: 8, params: {}, range: { bits: 4, index: 3 } }) as MultiTableStrategy).dryLimit).toBe(16);
    expect((multiTableDefinition.create({ concurrency: 8, params: { 'dry-tables': '2' } }) as MultiTableStrategy).dryLimit).toBe(2);
  });

  it('walks one quarter of a simulated DHT to its end: samples only there, each node once, most of its BEP 51 nodes', async () => {
    const net = createTestnet({ nodes: 3000, infohashes: 6000, seed: 22 });
    const node = attachCrawler(net, { seed: 6 });
    const range: KeyRange = { bits: 2, index: 2 };
    const strategy = multiTableDefinition.create({ concurrency: 16, params: {}, range }) as MultiTableStrategy;
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
    expect(covered / targets.length).toBeGreaterThan(0.9);
  }, 120_000);
});
