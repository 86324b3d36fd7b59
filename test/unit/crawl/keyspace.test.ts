import { beforeAll, describe, expect, it } from 'vitest';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { KEYSPACE_OPTIONS, KeyspaceStrategy, keyspaceDefinition, keyspaceOptions } from '../../../src/core/crawl/keyspace.js';
import { StrategyOptionError } from '../../../src/core/crawl/strategy-options.js';
import { StrategyRegistry, UnknownStrategyError, strategies } from '../../../src/core/crawl/registry.js';
import type { StrategyContext, StrategyDefinition } from '../../../src/core/crawl/strategy.js';
import { attachCrawler, createTestnet, driveCrawl, measureRecall, measureTraffic, runTestnetCrawl, type TestnetResult } from '../../../src/core/crawl/sim-crawl.js';
import type { CrawlSummary } from '../../../src/core/crawl/types.js';
import { NodeKind } from '../../../src/core/sim/world.js';
import { toHex } from '../../../src/core/wire/hex.js';

describe('keyspace on a 2,000-node world', () => {
  // no loss in transit: the bans and sample counts below are checked exactly against the world
  const net = createTestnet({ nodes: 2000, infohashes: 1000, seed: 2, world: { loss: 0 } });
  const found = new Set<string>();
  const strategy = new KeyspaceStrategy();
  let summary: CrawlSummary;
  let banned: number[] = [];

  beforeAll(async () => {
    const crawl = createCrawl({ node: attachCrawler(net), strategy, concurrency: 32, seed: 5, onInfohash: (r) => found.add(toHex(r.infohash)) });
    summary = await driveCrawl(net, crawl);
    const w = net.world;
    banned = [];
    for (let i = 0; i < w.size; i++) {
      const ep = w.endpointOf(i);
      if (crawl.engine.sanitizer.isBanned(ep.host, ep.port)) banned.push(i);
    }
  });

  it('finishes one pass and finds >= 99% of the infohashes responsive BEP 51 nodes hold', () => {
    expect(summary.stopped_by).toBe('done');
    expect(summary.progress).toBe(1);
    const recall = measureRecall(net.world, found);
    expect(recall.infohash_recall).toBeGreaterThanOrEqual(0.99);
    expect(recall.bep51_node_recall).toBeGreaterThanOrEqual(0.9);
    expect(summary.unique_infohashes).toBe(found.size);
  });

  it('visits each node about once, with bounded queries', () => {
    const t = measureTraffic(net.world);
    expect(t.queries_per_distinct_node).toBeLessThan(1.3);
    expect(t.queries_per_responsive_node).toBeLessThan(1.4);
    expect(t.queries).toBe(summary.queries_sent);
    let maxPerNode = 0;
    for (let i = 0; i < net.world.size; i++) maxPerNode = Math.max(maxPerNode, net.world.sentTo[i]);
    expect(maxPerNode).toBeLessThanOrEqual(1 + 8 + 8 + 2); // a visit, re-samples, probes, lookups
  });

  it('never samples a node before its interval has passed', () => {
    expect(net.world.counters.earlySamples).toBe(0);
  });

  it('bans id spoofers it met, and nobody else', () => {
    const w = net.world;
    // contacted twice or more, and not one whose only crawl query may have been answered with an
    // error (no id in it) while a lookup's query to it timed out
    const spoofersContacted = Array.from({ length: w.size }, (_, i) => i).filter((i) => w.kind[i] === NodeKind.spoofer && w.sentTo[i] >= 2 && !w.refusesSamples(i));
    expect(spoofersContacted.length).toBeGreaterThan(20);
    for (const i of spoofersContacted) expect(banned).toContain(i);
    for (const i of banned) expect(w.kind[i]).toBe(NodeKind.spoofer);
    expect(summary.sanitizer.bans).toBe(banned.length);
  });

  it('measures the BEP 51 support rate and client versions of the nodes that answered', () => {
    expect(summary.bep51_rate).toBeGreaterThan(0.5);
    expect(summary.bep51_rate).toBeLessThan(0.7);
    expect(summary.nodes_answered_sample).toBe(Array.from(net.world.sampled).filter((n) => n > 0).length);
    expect(Object.keys(summary.clients)).toEqual(expect.arrayContaining(['LT 2.0.8', 'ml 12']));
    expect(summary.nodes_seen).toBeGreaterThanOrEqual(summary.nodes_queried);
    expect(summary.nodes_queried).toBeGreaterThan(1800);
  });

  it('keeps its traversal state under 200 bytes per visited node', () => {
    expect(summary.memory.traversal_bytes_per_visited_node).toBeLessThan(200);
    expect(strategy.visited).toBeGreaterThan(1800);
  });
});

describe('runTestnetCrawl', () => {
  it('is deterministic for a seed and reports recall and traffic', async () => {
    const runs: TestnetResult[] = [];
    for (let k = 0; k < 2; k++) runs.push(await runTestnetCrawl({ nodes: 500, infohashes: 250, seed: 7 }));
    const [a, b] = runs;
    expect(a.summary.queries_sent).toBe(b.summary.queries_sent);
    expect(a.summary.unique_infohashes).toBe(b.summary.unique_infohashes);
    expect(a.recall).toEqual(b.recall);
    expect(a.traffic).toEqual(b.traffic);
    expect(a.world).toEqual({ nodes: 500, seed: 7, infohashes: 250 });
    expect(a.recall.infohashes_found).toBe(a.summary.unique_infohashes);
    expect(a.virtual_ms).toBeGreaterThan(0);
  });
});

describe('keyspace state', () => {
  const ctx = { family: 4 } as StrategyContext;

  it('saves the cursor and the visited endpoints, and restores them', () => {
    const s = new KeyspaceStrategy();
    const state = s.saveState() as { cursor: string; depth: number; visited4: string };
    expect(state).toMatchObject({ v: 1, cursor: '00'.repeat(20), depth: 0, swept: false });
    const cursor = '6' + '0'.repeat(39); // 0110 0000..., the start of a depth-3 bucket
    const packed = Buffer.alloc(20);
    packed.writeUInt32BE(0x0a000001, 0);
    packed.writeUInt16BE(6881, 4);
    packed.writeUInt32BE(0x70000000, 6);
    packed.writeUInt32BE(0x0a000002, 10);
    packed.writeUInt16BE(6882, 14);
    packed.writeUInt32BE(0x10000000, 16);
    const t = new KeyspaceStrategy();
    expect(t.restoreState({ ...state, cursor, depth: 3, visited4: packed.toString('base64'), replied: 10 }, ctx)).toBe(true);
    expect(t.progress()).toBeCloseTo(6 / 16, 6);
    expect(t.visited).toBe(2);
    expect(t.bucketCount).toBe(4); // 0/2 and 4/3 below, 6/3 at the cursor, 8/1 above
    const again = t.saveState() as { cursor: string; visited4: string; depth: number };
    expect(again.cursor).toBe(cursor);
    expect(again.depth).toBe(3);
    expect(Buffer.from(again.visited4, 'base64').length).toBe(20);
  });

  it('rejects a state it cannot use', () => {
    const s = new KeyspaceStrategy();
    const good = s.saveState() as Record<string, unknown>;
    for (const bad of [null, {}, { ...good, v: 2 }, { ...good, cursor: 'zz' }, { ...good, cursor: 'f' + '0'.repeat(39), depth: 2 }, { ...good, visited4: 'AAA' }, { ...good, depth: 161 }]) {
      expect(new KeyspaceStrategy().restoreState(bad, ctx)).toBe(false);
    }
  });
});

describe('keyspace options and the registry', () => {
  it('reads --strategy-opt values and names what is wrong', () => {
    expect(keyspaceOptions({ probes: '3', 'thin-share': '0.5', 'late-visits': 'false', 'resample-wait': '60' })).toEqual({ probes: 3, thinShare: 0.5, lateVisits: false, resampleWaitS: 60 });
    expect(() => keyspaceOptions({ nope: '1' })).toThrow(/unknown --strategy-opt 'nope'.*probes/);
    // A value is quoted once, by its prefix: a long or binary one stays one short, printable line.
    expect(() => keyspaceOptions({ probes: `\x1b${'9'.repeat(10_000)}x` })).toThrow(/--strategy-opt 'probes=\\u001b9{56}…' \(10009 chars\): expected an integer within 0\.\.64$/);
    expect(() => keyspaceOptions({ probes: '-1' })).toThrow(/probes=-1/);
    expect(() => keyspaceOptions({ 'local-share': '2' })).toThrow(/0\.\.1/);
    expect(() => keyspaceOptions({ 'late-visits': 'yes' })).toThrow(/true or false/);
    // every option has a range (probes=1e12 used to spin), and every refusal is a StrategyOptionError
    for (const params of <Array<Record<string, string>>>[{ probes: '1e12' }, { probes: '65' }, { probes: '1.5' }, { 'resample-queue': '1000001' }, { 'small-store': 'Infinity' }, { 'resample-wait': '21601' }, { 'thin-share': '' }, { nope: '1' }]) {
      expect(() => keyspaceOptions(params), JSON.stringify(params)).toThrow(StrategyOptionError);
    }
    for (const spec of Object.values(KEYSPACE_OPTIONS)) if (spec.kind !== 'boolean') expect(spec.max).toBeLessThanOrEqual(1_000_000);
  });

  it('finds strategies by name, lists the known ones when it cannot, and takes plugin definitions', () => {
    expect(strategies.get('keyspace')).toBe(keyspaceDefinition);
    expect(() => strategies.get('nope')).toThrow(UnknownStrategyError);
    expect(() => strategies.get('nope')).toThrow("unknown strategy 'nope' (known: keyspace)");
    const registry = new StrategyRegistry();
    const extra: StrategyDefinition = { name: 'random-walk', description: 'test', create: () => new KeyspaceStrategy() };
    registry.register(extra);
    expect(registry.names()).toEqual(['keyspace', 'random-walk']);
    expect(() => registry.register(extra)).toThrow(/already registered/);
    expect(() => registry.register({ ...extra, name: 'Bad Name' })).toThrow(/lowercase/);
    expect(registry.create('keyspace', { params: { probes: '2' } }).name).toBe('keyspace');
    expect(() => registry.create('keyspace', { params: { bogus: '1' } })).toThrow(/bogus/);
    expect(() => new StrategyRegistry().get('random-walk')).toThrow(/known: keyspace/);
  });
});
