// Traversal strategies on one simulated DHT (src/core/sim, virtual time): the built-in keyspace
// sweep and the two plugin strategies. keyspace runs its pass to the end; the others have no end,
// so each gets the same query budget keyspace spent (equal cost, compare what it bought).
//
// Columns: responsive BEP 51 nodes sampled (of all of them), unique infohashes, queries sent,
// unique infohashes per 1,000 queries, the strategy's own traversal-state estimate, and the heap
// the crawl grew by (engine, dedup, routing table, strategy; measured after a GC when
// --expose-gc is on, as `npm run bench` runs it).
//
// Env: BENCH_STRATEGY_NODES (world size, default 50000; infohashes are twice that),
// BENCH_STRATEGY_SEED (default 1).
import { attachCrawler, createTestnet, driveCrawl } from '../src/core/crawl/sim-crawl.js';
import { createCrawl } from '../src/core/crawl/create-crawl.js';
import { keyspaceDefinition } from '../src/core/crawl/keyspace.js';
import type { StrategyDefinition } from '../src/core/crawl/strategy.js';
import type { CrawlSummary } from '../src/core/crawl/types.js';
import { renderTable } from '../src/output/table.js';
import { STRATEGY_API_VERSION, type StrategiesHook } from '../src/cli/strategy-plugins.js';

export interface StrategyRow {
  strategy: string;
  plugin: string;
  bep51_sampled: number;
  bep51_responsive: number;
  unique_infohashes: number;
  reachable_infohashes: number;
  queries: number;
  per_1000_queries: number;
  traversal_bytes: number;
  heap_growth_bytes: number | null;
  stopped_by: string;
  virtual_s: number;
  wall_s: number;
}

export interface WorldShape {
  nodes: number;
  infohashes: number;
  seed: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number | null {
  if (!gc) return null;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Crawls a fresh copy of the world with one strategy, at most maxQueries queries. */
export async function measure(def: StrategyDefinition, plugin: string, world: WorldShape, maxQueries?: number): Promise<StrategyRow> {
  const net = createTestnet({ nodes: world.nodes, infohashes: world.infohashes, seed: world.seed });
  const node = attachCrawler(net, { seed: world.seed * 7 + 3 });
  const concurrency = 32;
  const strategy = def.create({ concurrency, params: {} });
  const before = heapUsed();
  const wallStart = performance.now();
  const virtualStart = net.clock.now();
  const crawl = createCrawl({ node, strategy, concurrency, seed: world.seed * 31 + 7, ...(maxQueries !== undefined ? { limits: { maxQueries } } : {}) });
  const summary: CrawlSummary = await driveCrawl(net, crawl);
  const wall = performance.now() - wallStart;
  const after = heapUsed();
  // kept alive until after the measurement: the crawl's state is what the heap figure is about
  const queries = crawl.stats().queries_sent;

  const w = net.world;
  let responsive = 0;
  let sampled = 0;
  for (let i = 0; i < w.size; i++) {
    if (!w.isResponsive(i) || !w.supportsBep51(i)) continue;
    responsive++;
    if (w.sampled[i] > 0) sampled++;
  }
  let reachable = 0;
  for (let j = 0; j < w.infohashCount; j++) reachable += w.reachable[j];
  const row: StrategyRow = {
    strategy: def.name,
    plugin,
    bep51_sampled: sampled,
    bep51_responsive: responsive,
    unique_infohashes: summary.unique_infohashes,
    reachable_infohashes: reachable,
    queries,
    per_1000_queries: queries > 0 ? (summary.unique_infohashes * 1000) / queries : 0,
    traversal_bytes: summary.memory.traversal_bytes,
    heap_growth_bytes: before !== null && after !== null ? Math.max(0, after - before) : null,
    stopped_by: summary.stopped_by,
    virtual_s: (net.clock.now() - virtualStart) / 1000,
    wall_s: wall / 1000,
  };
  await w.close();
  return row;
}

/** A strategy of one of the repository's plugins, the way `crawl` gets it: from the plugin's `strategies` hook. */
export async function pluginStrategy(dir: string, name: string): Promise<StrategyDefinition> {
  const hook = (await import(new URL(`../plugins/${dir}/lib/hooks/strategies.js`, import.meta.url).href)) as { default: StrategiesHook };
  const def = (await hook.default({ api: STRATEGY_API_VERSION })).find((d) => d.name === name);
  if (!def) throw new Error(`plugins/${dir} offers no strategy '${name}'`);
  return def;
}

/** keyspace to the end of its pass, then each plugin strategy on keyspace's query budget. */
export async function compareStrategies(world: WorldShape): Promise<StrategyRow[]> {
  const rows = [await measure(keyspaceDefinition, 'bitscrape', world)];
  const budget = rows[0].queries;
  rows.push(await measure(await pluginStrategy('random-target', 'random-target'), 'bitscrape-plugin-random-target', world, budget));
  rows.push(await measure(await pluginStrategy('multi-table', 'multi-table'), 'bitscrape-plugin-multi-table', world, budget));
  return rows;
}

const mb = (bytes: number | null): string => (bytes === null ? 'n/a (no --expose-gc)' : `${(bytes / 1048576).toFixed(1)} MB`);

export function renderRows(rows: StrategyRow[]): string {
  return renderTable(
    ['strategy', 'plugin', 'BEP 51 nodes sampled', 'unique infohashes', 'queries', 'unique / 1,000 queries', 'traversal state', 'heap growth', 'stopped by', 'virtual', 'wall'],
    rows.map((r) => [
      r.strategy,
      r.plugin,
      `${r.bep51_sampled} of ${r.bep51_responsive} (${((100 * r.bep51_sampled) / r.bep51_responsive).toFixed(1)}%)`,
      `${r.unique_infohashes} of ${r.reachable_infohashes}`,
      r.queries,
      r.per_1000_queries.toFixed(0),
      mb(r.traversal_bytes),
      mb(r.heap_growth_bytes),
      r.stopped_by,
      `${(r.virtual_s / 60).toFixed(1)} min`,
      `${r.wall_s.toFixed(1)} s`,
    ]),
  );
}

export async function run(): Promise<void> {
  const nodes = Number(process.env.BENCH_STRATEGY_NODES ?? 50_000);
  const seed = Number(process.env.BENCH_STRATEGY_SEED ?? 1);
  const world: WorldShape = { nodes, infohashes: 2 * nodes, seed };
  console.log(`SimNetwork world: ${nodes} nodes (half unresponsive, 5% id spoofers, 60% of the responsive with BEP 51), ${2 * nodes} infohashes on 8 nodes each, seed ${seed}; concurrency 32`);
  const rows = await compareStrategies(world);
  console.log(renderRows(rows));
  const ks = rows.find((r) => r.strategy === 'keyspace')!;
  const rt = rows.find((r) => r.strategy === 'random-target')!;
  const ratio = ks.per_1000_queries / rt.per_1000_queries;
  console.log(`keyspace / random-target, unique infohashes per 1,000 queries: ${ratio.toFixed(2)}x (aim: at least 2x)`);
}
