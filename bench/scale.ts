// Many crawlers, one database: one vs two vs four crawlers on a 100,000-node simulated world (the
// crawl bench's world), in virtual time, each crawler with its own engine and address, sharing
// one SQLite store through keyspace leases with the crawl command's defaults (CRAWL_DEFAULTS:
// --ranges, --lease, --rate and --concurrency per crawler). Reports per crawler count the virtual
// time to finish the pass, the total queries, recall, and the ratios against one crawler; a row
// without leases shows what the leases themselves cost. A pass ends with its slowest range's
// re-samples (BEP 51 intervals of 300 s, up to 8 in a row), which more crawlers cannot shorten, so
// the bench also reports when 95% of the pass's infohashes had been found. Aims: four crawlers in at most 0.3x the
// time of one, total queries at most 1.05x.
//
// Then the shared BEP 51 intervals (store.sampleDueTimes, read when a range starts): four
// crawlers run two passes back to back (--pass-interval 0) with and without them, on a world
// whose nodes ask for BENCH_SCALE_INTERVAL seconds (default 21600, libtorrent's default), and the
// bench counts samples sent before a node's interval had passed, samples sent, and queries.
//
// BENCH_SCALE_NODES changes the world's size, BENCH_SCALE_NODE_INTERVAL the nodes' interval in
// the first table (21600: no re-samples, so no tail of them), BENCH_SCALE_CRAWLERS the counts (e.g. "1,4"),
// BENCH_SCALE_RANGES the ranges of a pass, BENCH_SCALE_INTERVALS=0 skips the interval part.
import { toHex } from '../src/core/wire/hex.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CRAWL_DEFAULTS } from '../src/core/crawl/defaults.js';
import { createCrawl } from '../src/core/crawl/create-crawl.js';
import { attachCrawler, createTestnet, driveCrawl, measureRecall, measureTraffic, simulatedRateLimit, type Testnet } from '../src/core/crawl/sim-crawl.js';
import { SimCrawlers } from '../src/core/crawl/sim-leased-crawl.js';
import { SqliteStore } from '../src/core/store/index.js';
import type { WorldOptions } from '../src/core/sim/world.js';
import { renderTable } from '../src/output/table.js';

interface ScaleRow {
  crawlers: string;
  virtual_s: number;
  /** Virtual time until 95% of the infohashes the pass found had been found. */
  t95_s: number;
  queries: number;
  queries_per_distinct_node: number;
  infohash_recall_pct: number;
  bep51_sampled_pct: number;
  ranges_taken_over: number;
  /** Ranges each crawler finished, min-max. */
  ranges_per_crawler: string;
  wall_s: number;
}

const SEED = 1;

/** The BEP 51 interval the nodes of the scale rows ask for (BENCH_SCALE_NODE_INTERVAL; default the world's 300 s). */
const NODE_INTERVAL: Partial<WorldOptions> = process.env.BENCH_SCALE_NODE_INTERVAL ? { intervalS: Number(process.env.BENCH_SCALE_NODE_INTERVAL) } : {};

function world(nodes: number, extra: Partial<WorldOptions> = NODE_INTERVAL): Testnet {
  return createTestnet({ nodes, infohashes: Math.round(nodes / 2), seed: SEED, world: extra });
}

function tempStore(): { store: SqliteStore; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bitscrape-bench-scale-'));
  const store = SqliteStore.open(join(dir, 'shared.db'));
  return {
    store,
    done: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One crawler without leases: the plain crawl of the whole keyspace. */
async function withoutLeases(nodes: number): Promise<ScaleRow> {
  const wall = performance.now();
  const net = world(nodes);
  const node = attachCrawler(net, { seed: 100, host: '10.255.0.1', rateLimit: simulatedRateLimit(CRAWL_DEFAULTS.ratePerSec), queryTimeoutMs: CRAWL_DEFAULTS.timeoutMs });
  const found = new Set<string>();
  const foundAt: number[] = [];
  const start = net.clock.now();
  const crawl = createCrawl({
    node,
    strategy: 'keyspace',
    seed: 7,
    onInfohash: (r) => {
      const hex = toHex(r.infohash);
      if (!found.has(hex)) foundAt.push(net.clock.now() - start);
      found.add(hex);
    },
  });
  await driveCrawl(net, crawl);
  const row = rowOf('1, no leases', net, found, foundAt, net.clock.now() - start, wall, [], 0);
  await net.world.close();
  return row;
}

async function withLeases(nodes: number, crawlers: number, ranges: number): Promise<ScaleRow> {
  const wall = performance.now();
  const net = world(nodes);
  const { store, done } = tempStore();
  try {
    const sim = new SimCrawlers(net, crawlers);
    const pass = await sim.runPass({ storeFor: () => store, ranges });
    const perCrawler = pass.results.map((r) => r?.rangesDone ?? 0);
    const takenOver = pass.results.reduce((n, r) => n + (r?.rangesTakenOver ?? 0), 0);
    return rowOf(String(crawlers), net, pass.found, pass.foundAt, pass.virtual_ms, wall, perCrawler, takenOver);
  } finally {
    done();
    await net.world.close();
  }
}

function rowOf(label: string, net: Testnet, found: Set<string>, foundAt: number[], virtualMs: number, wallStart: number, perCrawler: number[], takenOver: number): ScaleRow {
  const recall = measureRecall(net.world, found, [4]);
  const traffic = measureTraffic(net.world);
  return {
    crawlers: label,
    virtual_s: round(virtualMs / 1000, 1),
    t95_s: foundAt.length === 0 ? 0 : round(foundAt[Math.ceil(foundAt.length * 0.95) - 1] / 1000, 1),
    queries: traffic.queries,
    queries_per_distinct_node: round(traffic.queries_per_distinct_node, 3),
    infohash_recall_pct: round(recall.infohash_recall * 100, 2),
    bep51_sampled_pct: round(recall.bep51_node_recall * 100, 2),
    ranges_taken_over: takenOver,
    ranges_per_crawler: perCrawler.length === 0 ? '-' : `${Math.min(...perCrawler)}-${Math.max(...perCrawler)}`,
    wall_s: round((performance.now() - wallStart) / 1000, 1),
  };
}

interface IntervalRow {
  shared: boolean;
  pass: number;
  virtual_s: number;
  queries: number;
  samples_sent: number;
  early_samples: number;
  /** Nodes read from the database when ranges started. */
  due_rows_read: number;
  infohashes_found: number;
}

/** Four crawlers, two passes back to back, with or without the shared intervals. */
async function intervalPasses(nodes: number, crawlers: number, ranges: number, intervalS: number, shared: boolean): Promise<IntervalRow[]> {
  const net = world(nodes, { intervalS });
  const { store, done } = tempStore();
  const rows: IntervalRow[] = [];
  let dueRows = 0;
  const counting = new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'sampleDueTimes' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return (...args: Parameters<SqliteStore['sampleDueTimes']>) => {
        const due = target.sampleDueTimes(...args);
        dueRows += due.length;
        return due;
      };
    },
  });
  try {
    const sim = new SimCrawlers(net, crawlers);
    for (let pass = 1; pass <= 2; pass++) {
      const before = { ...measureTraffic(net.world), samples: samplesSent(net), early: net.world.counters.earlySamples, due: dueRows };
      const r = await sim.runPass({ storeFor: () => counting, ranges, sharedIntervals: shared });
      const after = measureTraffic(net.world);
      rows.push({
        shared,
        pass,
        virtual_s: round(r.virtual_ms / 1000, 1),
        queries: after.queries - before.queries,
        samples_sent: samplesSent(net) - before.samples,
        early_samples: net.world.counters.earlySamples - before.early,
        due_rows_read: dueRows - before.due,
        infohashes_found: r.found.size,
      });
    }
  } finally {
    done();
    await net.world.close();
  }
  return rows;
}

function samplesSent(net: Testnet): number {
  return net.world.counters.byMethod['sample_infohashes'] ?? 0;
}

export async function run(): Promise<void> {
  const nodes = Number(process.env.BENCH_SCALE_NODES ?? 100_000);
  const counts = (process.env.BENCH_SCALE_CRAWLERS ?? '1,2,4').split(',').map(Number);
  const ranges = Number(process.env.BENCH_SCALE_RANGES ?? CRAWL_DEFAULTS.leaseRanges);
  console.log(`world: ${nodes} nodes (the crawl bench's), ${Math.round(nodes / 2)} infohashes, seed ${SEED}, nodes asking for ${NODE_INTERVAL.intervalS ?? 300} s; one SQLite store shared through leases`);
  console.log(`settings (crawl defaults, per crawler): --ranges ${ranges} --lease ${CRAWL_DEFAULTS.leaseMs / 1000}s --rate ${CRAWL_DEFAULTS.ratePerSec} --concurrency ${CRAWL_DEFAULTS.concurrency}`);
  const rows: ScaleRow[] = [await withoutLeases(nodes)];
  for (const n of counts) rows.push(await withLeases(nodes, n, ranges));
  const one = rows.find((r) => r.crawlers === '1') ?? rows[0];
  console.log(
    renderTable(
      ['crawlers', 'virtual', 'time vs 1', '95% found at', 'vs 1', 'queries', 'queries vs 1', 'q/distinct node', 'ih recall', 'BEP 51 sampled', 'ranges each', 'taken over', 'wall'],
      rows.map((r) => [
        r.crawlers,
        `${r.virtual_s} s`,
        `${round(r.virtual_s / one.virtual_s, 3)}x`,
        `${r.t95_s} s`,
        `${round(r.t95_s / one.t95_s, 3)}x`,
        r.queries,
        `${round(r.queries / one.queries, 3)}x`,
        r.queries_per_distinct_node.toFixed(3),
        `${r.infohash_recall_pct}%`,
        `${r.bep51_sampled_pct}%`,
        r.ranges_per_crawler,
        r.ranges_taken_over,
        `${r.wall_s} s`,
      ]),
    ),
  );
  console.log('aims: four crawlers in at most 0.3x the time of one, total queries at most 1.05x');
  for (const r of rows) console.log(JSON.stringify(r));

  if (process.env.BENCH_SCALE_INTERVALS === '0') return;
  const intervalS = Number(process.env.BENCH_SCALE_INTERVAL ?? 21_600);
  const crawlers = Math.max(...counts);
  console.log(`\nshared BEP 51 intervals: ${crawlers} crawlers, two passes back to back, nodes asking for ${intervalS} s`);
  const irows = [...(await intervalPasses(nodes, crawlers, ranges, intervalS, false)), ...(await intervalPasses(nodes, crawlers, ranges, intervalS, true))];
  console.log(
    renderTable(
      ['shared intervals', 'pass', 'virtual', 'queries', 'samples sent', 'early samples', 'due rows read', 'infohashes'],
      irows.map((r) => [r.shared ? 'on' : 'off', r.pass, `${r.virtual_s} s`, r.queries, r.samples_sent, r.early_samples, r.due_rows_read, r.infohashes_found]),
    ),
  );
  for (const r of irows) console.log(JSON.stringify(r));
}
