import { describe, expect, it } from 'vitest';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { estimateFrom, keyspaceDefinition } from '../../../src/core/crawl/keyspace.js';
import { StripedKeyspace, stripeBitsFor } from '../../../src/core/crawl/keyspace-stripes.js';
import { attachCrawler, createTestnet, driveCrawl, measureRecall, measureTraffic } from '../../../src/core/crawl/sim-crawl.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { toHex } from '../../../src/core/wire/hex.js';
import { commonPrefixBits } from '../../../src/core/dht/node-id.js';
import type { CrawlTask } from '../../../src/core/crawl/strategy.js';

describe('keyspace stripes', () => {
  it('one stripe per 32 slots, at most 64', () => {
    expect([16, 32, 63, 64, 512, 4096].map(stripeBitsFor)).toEqual([0, 0, 0, 1, 4, 6]);
  });

  it('pools the size estimate: the median of the stripes with evidence, else of the seed lookups', () => {
    const part = 1 / 4;
    const walk = (replied: number, swept: number, seed = 0) => ({ replied, swept, seed });
    // one cursor ran ahead of its answers (100 over a whole stripe): the median ignores it
    expect(estimateFrom([walk(100, 0.25), walk(300, 0.01), walk(400, 0.01), walk(500, 0.01)], part)).toBe(35_000);
    // stripes below 2% of their part or 64 answers give no evidence yet: the seeds' median
    expect(estimateFrom([walk(63, 0.01, 1000), walk(500, 0.004, 3000), walk(0, 0, 2000), walk(0, 0)], part)).toBe(2000);
    expect(estimateFrom([walk(0, 0), walk(0, 0)], part)).toBe(0);
  });

  it('four cursors walk a 6,000-node world once: every stripe swept, nodes visited about once', async () => {
    const net = createTestnet({ nodes: 6000, infohashes: 3000, seed: 61 });
    const strategy = keyspaceDefinition.create({ concurrency: 128, params: { stripes: '4' } });
    expect(strategy).toBeInstanceOf(StripedKeyspace);
    const found = new Set<string>();
    const summary = await driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy, concurrency: 128, seed: 7, onInfohash: (r) => found.add(toHex(r.infohash)) }));
    expect((strategy as StripedKeyspace).stripeCount).toBe(4);
    expect(summary.stopped_by).toBe('done');
    expect(summary.progress).toBe(1);
    expect(measureRecall(net.world, found).bep51_node_recall).toBeGreaterThanOrEqual(0.9);
    expect(measureTraffic(net.world).queries_per_distinct_node).toBeLessThan(1.3);
    expect(net.world.counters.earlySamples).toBe(0);
  });

  it('fills the quarters of a region left not listed whole: one find_node to a node there that answered', async () => {
    const net = createTestnet({ nodes: 20_000, infohashes: 10_000, seed: 63 });
    const strategy = keyspaceDefinition.create({ concurrency: 512, params: {} }) as StripedKeyspace;
    const answered = new Set<string>();
    const fills: CrawlTask[] = [];
    const next = strategy.next.bind(strategy);
    strategy.next = (ctx) => {
      const r = next(ctx);
      if ('task' in r && r.task && (r.task.tag as { kind?: string } | undefined)?.kind === 'fill') fills.push(r.task);
      return r;
    };
    const onReply = strategy.onReply.bind(strategy);
    strategy.onReply = (task, reply, ctx) => {
      if (fills.includes(task)) expect(answered.has(toHex(task.node.id!))).toBe(true);
      answered.add(toHex(reply.id));
      onReply(task, reply, ctx);
    };
    const summary = await driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy, concurrency: 512, seed: 9 }));
    expect(summary.stopped_by).toBe('done');
    expect(fills.length).toBe(strategy.fillProbes);
    expect(fills.length).toBeGreaterThan(100);
    // regions here hold ~8-16 live nodes: a quarter of one shares at least log2(live / 8) + 2 bits
    let live = 0;
    for (let i = 0; i < net.world.size; i++) if (net.world.isResponsive(i)) live++;
    const quarterBits = Math.floor(Math.log2(live / 8)) + 2;
    const helpers = new Set<string>();
    for (const f of fills) {
      expect(f.method).toBe('find_node');
      expect(commonPrefixBits(f.node.id!, f.target)).toBeGreaterThanOrEqual(quarterBits - 1);
      helpers.add(`${f.node.host}:${f.node.port}`);
    }
    expect(helpers.size).toBe(fills.length); // one each
    // measured: 0.975; 0.951 without fills, 0.968 with helpers looked for only above the sub-region
    expect(measureRecall(net.world, new Set()).bep51_node_recall).toBeGreaterThanOrEqual(0.97);
    expect(measureTraffic(net.world).queries_per_distinct_node).toBeLessThan(1.2);
  });

  it('a stopped striped walk resumes with its stripes and finishes the pass', async () => {
    const net = createTestnet({ nodes: 4000, infohashes: 2000, seed: 62 });
    const store = new SqliteStore(':memory:');
    const make = () => keyspaceDefinition.create({ concurrency: 64, params: { stripes: '2' } });
    const first = await driveCrawl(net, createCrawl({ node: attachCrawler(net), strategy: make(), concurrency: 64, store, seed: 3, limits: { maxQueries: 1500 } }));
    expect(first.stopped_by).toBe('max_queries');
    const saved = store.loadState<{ state: { v: number; stripes: unknown[] } }>('crawl:keyspace');
    expect(saved?.state.v).toBe(2);
    expect(saved?.state.stripes).toHaveLength(2);
    const second = await driveCrawl(net, createCrawl({ node: attachCrawler(net, { port: 6882 }), strategy: make(), concurrency: 64, store, seed: 4, resume: true }));
    expect(second.resumed).toBe(true);
    expect(second.stopped_by).toBe('done');
    store.close();
  });
});
