// One traversal of a simulated DHT of 100,000 nodes (half of them unresponsive, 5% answering
// under a fresh id every time, 60% of the rest supporting sample_infohashes; routing tables list
// live and dead nodes alike), on virtual time. Reports, per strategy:
// - the share of the responsive BEP 51 nodes that were sampled (target >= 99%);
// - queries per distinct node contacted, and queries to responsive nodes per responsive node
//   contacted (targets <= 1.2; lookups, probes, id checks and re-samples included);
// - unique infohashes found, and their recall against the world's ground truth;
// - traversal state per visited node (the strategy's own estimate at its peak; target < 200 B);
// - virtual time of the pass and queries per virtual second, and wall time;
// - the settings it ran with: the crawl command's defaults (CRAWL_DEFAULTS: --rate, --concurrency,
//   --timeout, adaptive timeout on), and a baseline row on the same world with the old pacing
//   (32 slots, fixed 2 s timeout, no rate limit) for the ratio; BENCH_CRAWL_BASELINE=0 skips it.
//
// The world's round trips are log-normal per node (median 150 ms, sigma 0.8) with 0.5% loss
// (docs/architecture.md, "Crawl pacing").
//
// `BENCH_CRAWL_NODES=20000 npm run bench crawl` runs a smaller world, BENCH_CRAWL_SEED another
// world and crawler of the same shape (default 1), BENCH_CRAWL_PARAMS=k=v,...
// passes strategy options; measureStrategy() is the
// entry point for plugin strategies (the plugins issue adds their rows).
import { performance } from 'node:perf_hooks';
import { keyspaceDefinition } from '../src/core/crawl/keyspace.js';
import type { StrategyDefinition } from '../src/core/crawl/strategy.js';
import { attachCrawler, createTestnet, driveCrawl, measureRecall, measureTraffic, simulatedRateLimit } from '../src/core/crawl/sim-crawl.js';
import { createCrawl } from '../src/core/crawl/create-crawl.js';
import { CRAWL_DEFAULTS } from '../src/core/crawl/defaults.js';
import type { CrawlPacing } from '../src/core/crawl/types.js';
import type { WorldOptions } from '../src/core/sim/world.js';
import { renderTable } from '../src/output/table.js';
import { toHex } from '../src/core/wire/hex.js';

export interface CrawlBenchWorld extends Partial<WorldOptions> {
  nodes: number;
  infohashes?: number;
  seed?: number;
  /** Crawl concurrency: the window's bound (default CRAWL_DEFAULTS.concurrency). */
  concurrency?: number;
  /** Global query rate (default CRAWL_DEFAULTS.ratePerSec); 0: no limit. */
  ratePerSec?: number;
  /** Adaptive timeout (default true). */
  adaptiveTimeout?: boolean;
  /** Row label (default the strategy name). */
  label?: string;
  /** --strategy-opt pairs for the strategy. */
  params?: Record<string, string>;
}

export interface CrawlBenchRow {
  strategy: string;
  nodes: number;
  /** Responsive BEP 51 nodes sampled, percent. */
  bep51_sampled_pct: number;
  queries_per_distinct_node: number;
  queries_per_responsive_node: number;
  queries: number;
  unique_infohashes: number;
  /** Of the infohashes a crawl can find (held by a responsive BEP 51 node), percent found. */
  infohash_recall_pct: number;
  /** Peak traversal state per node queried, bytes. */
  traversal_bytes_per_visited_node: number;
  /** The engine's per-node bookkeeping (statistics, intervals, sanitizer caches) and dedup set, per node queried, at the end. */
  engine_bytes_per_visited_node: number;
  bep51_rate_measured: number | null;
  virtual_s: number;
  /** Queries (to world nodes) per second of virtual time. */
  queries_per_s: number;
  wall_s: number;
  settings: { concurrency: number; rate_per_s: number | null; timeout_ms: number; adaptive_timeout: boolean };
  pacing: CrawlPacing;
}

export const DEFAULT_WORLD: CrawlBenchWorld = { nodes: 100_000, infohashes: 50_000, seed: 1 };

/** One traversal of a fresh world with the given strategy; returns the bench row. */
export async function measureStrategy(def: StrategyDefinition, worldOpts: CrawlBenchWorld = DEFAULT_WORLD): Promise<CrawlBenchRow> {
  const { nodes, infohashes, seed, concurrency: askedConcurrency, ratePerSec: askedRate, adaptiveTimeout, label, params, ...world } = worldOpts;
  const concurrency = askedConcurrency ?? CRAWL_DEFAULTS.concurrency;
  const rate = askedRate ?? CRAWL_DEFAULTS.ratePerSec;
  const wallStart = performance.now();
  const net = createTestnet({ nodes, infohashes: infohashes ?? Math.round(nodes / 2), seed: seed ?? 1, world });
  const node = attachCrawler(net, { seed: (seed ?? 1) * 7 + 3, rateLimit: rate > 0 ? simulatedRateLimit(rate) : false, queryTimeoutMs: CRAWL_DEFAULTS.timeoutMs });
  const strategy = def.create({ concurrency, params: params ?? {} });
  const found = new Set<string>();
  let peakTraversal = 0;
  const crawl = createCrawl({
    node,
    strategy,
    concurrency,
    adaptiveTimeout: adaptiveTimeout ?? true,
    seed: (seed ?? 1) * 31 + 7,
    progressEveryMs: 5_000,
    onProgress: () => {
      peakTraversal = Math.max(peakTraversal, strategy.memoryBytes?.() ?? 0);
    },
    onInfohash: (r) => found.add(toHex(r.infohash)),
  });
  const startVirtual = net.clock.now();
  const summary = await driveCrawl(net, crawl);
  peakTraversal = Math.max(peakTraversal, strategy.memoryBytes?.() ?? 0);
  const recall = measureRecall(net.world, found);
  const traffic = measureTraffic(net.world);
  await net.world.close();
  const virtualS = (net.clock.now() - startVirtual) / 1000;
  return {
    strategy: label ?? def.name,
    nodes,
    bep51_sampled_pct: round(recall.bep51_node_recall * 100, 2),
    queries_per_distinct_node: round(traffic.queries_per_distinct_node, 3),
    queries_per_responsive_node: round(traffic.queries_per_responsive_node, 3),
    queries: traffic.queries,
    unique_infohashes: summary.unique_infohashes,
    infohash_recall_pct: round(recall.infohash_recall * 100, 2),
    traversal_bytes_per_visited_node: summary.nodes_queried > 0 ? Math.round(peakTraversal / summary.nodes_queried) : 0,
    engine_bytes_per_visited_node: summary.nodes_queried > 0 ? Math.round((summary.memory.engine_bytes + summary.memory.dedup_bytes) / summary.nodes_queried) : 0,
    bep51_rate_measured: summary.bep51_rate === null ? null : round(summary.bep51_rate, 3),
    virtual_s: round(virtualS, 1),
    queries_per_s: virtualS > 0 ? round(traffic.queries / virtualS, 1) : 0,
    wall_s: round((performance.now() - wallStart) / 1000, 1),
    settings: { concurrency, rate_per_s: rate > 0 ? rate : null, timeout_ms: CRAWL_DEFAULTS.timeoutMs, adaptive_timeout: adaptiveTimeout ?? true },
    pacing: summary.pacing,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Rows for several strategies on the same world (default: the built-in keyspace). */
export async function runStrategies(defs: readonly StrategyDefinition[] = [keyspaceDefinition], worldOpts: CrawlBenchWorld = DEFAULT_WORLD): Promise<CrawlBenchRow[]> {
  const rows: CrawlBenchRow[] = [];
  for (const def of defs) rows.push(await measureStrategy(def, worldOpts));
  return rows;
}

export async function run(): Promise<void> {
  const nodes = Number(process.env.BENCH_CRAWL_NODES ?? DEFAULT_WORLD.nodes);
  const params = Object.fromEntries(
    (process.env.BENCH_CRAWL_PARAMS ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  );
  const seed = Number(process.env.BENCH_CRAWL_SEED ?? DEFAULT_WORLD.seed);
  const world: CrawlBenchWorld = { ...DEFAULT_WORLD, nodes, infohashes: Math.round(nodes / 2), seed, params };
  console.log(`world: ${nodes} nodes (50% unresponsive, 5% id spoofers, 60% of the rest BEP 51; RTT log-normal median 150 ms sigma 0.8, 0.5% loss), ${world.infohashes} infohashes, seed ${world.seed}`);
  console.log(`settings (crawl defaults): --rate ${CRAWL_DEFAULTS.ratePerSec} --concurrency ${CRAWL_DEFAULTS.concurrency} (window bound) --timeout ${CRAWL_DEFAULTS.timeoutMs}ms (hard; adaptive below it)`);
  const rows = await runStrategies([keyspaceDefinition], world);
  if (process.env.BENCH_CRAWL_BASELINE !== '0') {
    rows.push(await measureStrategy(keyspaceDefinition, { ...world, label: 'baseline', concurrency: 32, ratePerSec: 0, adaptiveTimeout: false }));
  }
  console.log(
    renderTable(
      ['strategy', 'BEP 51 sampled', 'q/distinct node', 'q/responsive node', 'queries', 'infohashes', 'ih recall', 'traversal B/node', 'engine B/node', 'virtual', 'q/s', 'wall'],
      rows.map((r) => [
        r.strategy,
        `${r.bep51_sampled_pct}%`,
        r.queries_per_distinct_node.toFixed(3),
        r.queries_per_responsive_node.toFixed(3),
        r.queries,
        r.unique_infohashes,
        `${r.infohash_recall_pct}%`,
        r.traversal_bytes_per_visited_node,
        r.engine_bytes_per_visited_node,
        `${r.virtual_s} s`,
        r.queries_per_s,
        `${r.wall_s} s`,
      ]),
    ),
  );
  const base = rows.find((r) => r.strategy === 'baseline');
  if (base) console.log(`pass time vs baseline (32 slots, fixed 2 s timeout, no rate limit) on this world: ${round(rows[0].virtual_s / base.virtual_s, 3)}x`);
  console.log('targets: sampled >= 99%, q/distinct <= 1.2, q/responsive <= 1.2, traversal < 200 B per visited node; 1M nodes: a pass <= 3600 s virtual');
  for (const r of rows) console.log(JSON.stringify(r));
}
