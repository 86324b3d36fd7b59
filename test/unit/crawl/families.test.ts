// Crawls over IPv6 and over both families (BEP 32) on a simulated dual-stack DHT: one engine and
// one strategy per family, one dedup set, one database, one run, a summary per family.
import { describe, expect, it } from 'vitest';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { KeyspaceStrategy } from '../../../src/core/crawl/keyspace.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import type { RunStart } from '../../../src/core/store/types.js';
import type { CrawlTask, StrategyContext, TaskReply } from '../../../src/core/crawl/strategy.js';
import { attachCrawler, createTestnet, driveCrawl, measureRecall, measureTraffic, runTestnetCrawl, worldForFamilies } from '../../../src/core/crawl/sim-crawl.js';
import { crawlInfohashRecord, type CrawlInfohashRecord } from '../../../src/output/crawl-records.js';
import type { Family } from '../../../src/core/wire/types.js';
import { toHex } from '../../../src/core/wire/hex.js';
import type { StrategyDefinition } from '../../../src/core/crawl/strategy.js';

// the plugin is plain JavaScript (its own package, type-checked there)
const { randomTargetDefinition } = (await import(new URL('../../../plugins/random-target/lib/random-target.js', import.meta.url).href)) as { randomTargetDefinition: StrategyDefinition };

/** The keyspace strategy, also noting every sample it is handed and the family it came over. */
class NotingKeyspace extends KeyspaceStrategy {
  constructor(readonly seen: Map<string, Set<Family>>) {
    super();
  }
  override onReply(task: CrawlTask, reply: TaskReply, ctx: StrategyContext): void {
    for (const s of reply.samples ?? []) {
      const hex = toHex(s);
      const set = this.seen.get(hex) ?? new Set<Family>();
      set.add(task.node.family);
      this.seen.set(hex, set);
    }
    super.onReply(task, reply, ctx);
  }
}

/** A real store that counts the runs it was told about. */
class CountingStore extends SqliteStore {
  runs = 0;
  override beginRun(run: RunStart): number {
    this.runs++;
    return super.beginRun(run);
  }
}

const DUAL = { dualStack: 0.5, ipv6Only: 0.2 };

describe('crawl over IPv6', () => {
  it('walks an IPv6-only DHT: nodes6, want n6, a keyspace of its own', async () => {
    const r = await runTestnetCrawl({ nodes: 1500, infohashes: 750, seed: 41, families: [6] });
    expect(r.summary.stopped_by).toBe('done');
    expect(r.recall.infohash_recall).toBeGreaterThanOrEqual(0.95);
    expect(r.recall.bep51_node_recall).toBeGreaterThanOrEqual(0.9);
    expect(r.summary.by_family).toEqual({ '6': expect.objectContaining({ stopped_by: 'done', unique_infohashes: r.summary.unique_infohashes }) });
    expect(r.traffic.queries).toBe(r.summary.queries_sent);
  });
});

describe('crawl --family both', () => {
  it('walks both keyspaces in one run into one database: each infohash once, a summary per family', async () => {
    // three replicas per infohash, so that many are reachable over one family only
    const net = createTestnet({ nodes: 2000, infohashes: 1000, seed: 42, world: { ...DUAL, replicas: 3 } });
    const node = attachCrawler(net, { families: [4, 6] });
    const store = new CountingStore(':memory:');
    const seen = new Map<string, Set<Family>>();
    const printed: CrawlInfohashRecord[] = [];
    const crawl = createCrawl({ node, families: [4, 6], strategy: () => new NotingKeyspace(seen), store, seed: 6, onInfohash: (r) => printed.push(crawlInfohashRecord(r)) });
    expect(crawl.engines.map((e) => e.family)).toEqual([4, 6]);
    expect(crawl.engines[0].strategy).not.toBe(crawl.engines[1].strategy);
    const s = await driveCrawl(net, crawl);

    expect(s.stopped_by).toBe('done');
    const found = new Set(printed.map((r) => r.infohash));
    // both keyspaces were walked: what only one family reaches was found through it
    const by4 = net.world.reachableInfohashes([4]);
    const by6 = net.world.reachableInfohashes([6]);
    const only4 = [...by4].filter((h) => !by6.has(h));
    const only6 = [...by6].filter((h) => !by4.has(h));
    expect(only4.length).toBeGreaterThan(30);
    expect(only6.length).toBeGreaterThan(30);
    // (these hang on one or two nodes each: their share found follows the node recall)
    expect(only4.filter((h) => found.has(h)).length / only4.length).toBeGreaterThanOrEqual(0.8);
    expect(only6.filter((h) => found.has(h)).length / only6.length).toBeGreaterThanOrEqual(0.8);
    expect(measureRecall(net.world, found, [4, 6]).infohash_recall).toBeGreaterThanOrEqual(0.95);

    // dedup across families: many were sampled over both, each printed and stored once
    const overBoth = [...seen.values()].filter((f) => f.size === 2).length;
    expect(overBoth).toBeGreaterThan(100);
    expect(printed.length).toBe(found.size);
    expect(found.size).toBe(seen.size);
    expect(new Set([...store.listInfohashes()].map((r) => r.infohash))).toEqual(found);
    expect(s.unique_infohashes).toBe(found.size);
    expect(printed.some((r) => r.source_addr.startsWith('[fd00::'))).toBe(true);
    expect(printed.some((r) => /^10\./.test(r.source_addr))).toBe(true);

    // one run, one summary: the families add up to it
    expect(store.runs).toBe(1);
    const v4 = s.by_family!['4']!;
    const v6 = s.by_family!['6']!;
    expect(v4.stopped_by).toBe('done');
    expect(v6.stopped_by).toBe('done');
    expect(v4.unique_infohashes + v6.unique_infohashes).toBe(s.unique_infohashes);
    expect(v4.nodes_answered + v6.nodes_answered).toBe(s.nodes_answered);
    expect(v4.nodes_answered_sample).toBeGreaterThan(100);
    expect(v6.nodes_answered_sample).toBeGreaterThan(100);
    expect(v6.queries_sent).toBe(node.engine.counters.queriesSentV6);
    expect(v4.queries_sent + v6.queries_sent).toBe(s.queries_sent);
    expect(s.queries_sent).toBe(measureTraffic(net.world).queries);
    expect(s.bep51_rate).toBeGreaterThan(0.4);
    store.close();
  });

  it('applies --max-infohashes and --max-queries to the whole run', async () => {
    const net = createTestnet({ nodes: 1500, infohashes: 750, seed: 43, world: DUAL });
    const printed: string[] = [];
    const crawl = createCrawl({ node: attachCrawler(net, { families: [4, 6] }), families: [4, 6], seed: 7, limits: { maxInfohashes: 200 }, onInfohash: (r) => printed.push(toHex(r.infohash)) });
    const s = await driveCrawl(net, crawl);
    expect(s.stopped_by).toBe('max_infohashes');
    expect(printed.length).toBe(200);
    expect(new Set(printed).size).toBe(200);
    expect(s.unique_infohashes).toBe(200);

    const net2 = createTestnet({ nodes: 1500, infohashes: 750, seed: 43, world: DUAL });
    const node2 = attachCrawler(net2, { families: [4, 6] });
    const q = await driveCrawl(net2, createCrawl({ node: node2, families: [4, 6], seed: 7, concurrency: 8, limits: { maxQueries: 400 } }));
    expect(q.stopped_by).toBe('max_queries');
    expect(q.queries_sent).toBeGreaterThanOrEqual(400);
    expect(q.queries_sent).toBeLessThanOrEqual(400 + 2 * 8);
    expect(q.by_family!['4']!.queries_sent).toBeGreaterThan(0);
    expect(q.by_family!['6']!.queries_sent).toBeGreaterThan(0);
  });

  it('--resume continues the family that did not finish and leaves the finished one alone', async () => {
    // few IPv6 nodes: that family's pass ends long before the IPv4 one
    const world = { dualStack: 0.05, ipv6Only: 0.05 };
    const opts = { nodes: 2000, infohashes: 1000, seed: 44, world };
    const net = createTestnet(opts);
    const store = new SqliteStore(':memory:');
    const lines: string[] = [];
    const first = await driveCrawl(
      net,
      // 32 slots per family (not the default window of up to 512): the IPv4 family then cannot
      // spend the 1500 queries before the small IPv6 one has finished its pass
      createCrawl({ node: attachCrawler(net, { families: [4, 6] }), families: [4, 6], store, seed: 8, concurrency: 32, limits: { maxQueries: 1500 }, log: (t) => lines.push(t) }),
    );
    expect(first.by_family!['6']!.stopped_by).toBe('done');
    expect(first.by_family!['4']!.stopped_by).toBe('max_queries');
    expect(first.state_saved).toBe(true);
    expect(store.loadState('crawl:keyspace')).toMatchObject({ strategy: 'keyspace' });
    expect(store.loadState('crawl:keyspace:v6')).toBeUndefined();
    expect(store.loadState('crawl:keyspace:families')).toEqual({ v: 1, done: [6] });

    const second = await driveCrawl(
      net,
      createCrawl({ node: attachCrawler(net, { families: [4, 6], port: 6882 }), families: [4, 6], store, seed: 9, resume: true, log: (t) => lines.push(t) }),
    );
    expect(second.stopped_by).toBe('done');
    expect(second.resumed).toBe(true);
    expect(Object.keys(second.by_family!)).toEqual(['4']);
    expect(lines.join('\n')).toMatch(/IPv6: crawl: its pass finished in the interrupted run/);
    expect(store.loadState('crawl:keyspace:families')).toBeUndefined();
    expect(store.loadState('crawl:keyspace')).toBeUndefined();
    const found = new Set([...store.listInfohashes()].map((r) => r.infohash));
    expect(measureRecall(net.world, found, [4, 6]).infohash_recall).toBeGreaterThanOrEqual(0.95);
    store.close();
  });

  it('runs a plugin strategy once per family; each instance sees its own ctx.family', async () => {
    const net = createTestnet({ nodes: 1500, infohashes: 750, seed: 45, world: DUAL });
    const families: Family[] = [];
    const crawl = createCrawl({
      node: attachCrawler(net, { families: [4, 6] }),
      families: [4, 6],
      seed: 10,
      limits: { durationMs: 20 * 60_000 },
      strategy: () => {
        const inner = randomTargetDefinition.create({ concurrency: 16, params: {} });
        const seed = inner.seed.bind(inner);
        inner.seed = (ctx) => {
          families.push(ctx.family);
          return seed(ctx);
        };
        return inner;
      },
    });
    const s = await driveCrawl(net, crawl);
    expect(families.sort()).toEqual([4, 6]);
    expect(s.by_family!['4']!.unique_infohashes).toBeGreaterThan(50);
    expect(s.by_family!['6']!.unique_infohashes).toBeGreaterThan(50);
    // The engine refuses a task for a node of the other family (and one for a node already in
    // flight, which a strategy may pick twice): an instance fed the wrong family has most refused.
    for (const f of ['4', '6'] as const) expect(s.by_family![f]!.failures.refused).toBeLessThan(s.by_family![f]!.queries_sent / 100);
  });

  it('takes a strategy by name or factory for several families, not one instance for both', () => {
    const net = createTestnet({ nodes: 50, seed: 47, world: DUAL });
    const node = attachCrawler(net, { families: [4, 6] });
    expect(() => createCrawl({ node, families: [4, 6], strategy: new KeyspaceStrategy() })).toThrow(/walks one family/);
    const byName = createCrawl({ node, families: [6, 4, 6] });
    expect(byName.engines.map((e) => [e.family, e.strategy.name])).toEqual([[4, 'keyspace'], [6, 'keyspace']]);
    expect(byName.engines[0].strategy).not.toBe(byName.engines[1].strategy);
  });

  it('runTestnetCrawl builds a dual-stack world and a dual-stack crawler for both', async () => {
    expect(worldForFamilies([4])).toEqual({});
    expect(worldForFamilies([6])).toEqual({ ipv6Only: 1 });
    const r = await runTestnetCrawl({ nodes: 1000, infohashes: 500, seed: 46, families: [4, 6] });
    expect(r.summary.stopped_by).toBe('done');
    expect(Object.keys(r.summary.by_family!)).toEqual(['4', '6']);
    expect(r.recall.infohash_recall).toBeGreaterThanOrEqual(0.95);
  });
});
