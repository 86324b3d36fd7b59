// Insert rate of the crawl database: SqliteStore.recordInfohashes in batches of 500, into a
// fresh file in a temp dir (WAL, synchronous=NORMAL, as the crawler runs it). Prints figures;
// the bench runner decides how to compare them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../src/core/crawl/store/sqlite-store.js';
import type { InfohashRecord } from '../src/core/crawl/store/types.js';

export interface StoreBenchResult {
  batch_size: number;
  infohashes: number;
  /** Wall-clock rates. */
  new_per_s: number;
  known_per_s: number;
  /** Rates per CPU second of this process. */
  new_per_cpu_s: number;
  known_per_cpu_s: number;
}

function batches(pool: Buffer, count: number, batchSize: number, seenAt: number): InfohashRecord[][] {
  const source = { sourceAddr: '127.0.0.1:6881', sourceClient: 'LT 2.0.8', sourceVersionHex: '4c540208' };
  const out: InfohashRecord[][] = [];
  for (let start = 0; start < count; start += batchSize) {
    const batch: InfohashRecord[] = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) {
      batch.push({ infohash: pool.subarray(i * 20, i * 20 + 20), seenAt, ...source });
    }
    out.push(batch);
  }
  return out;
}

/** Wall and CPU milliseconds; CPU time tells how fast the code is on a machine shared with others. */
function timeBatches(store: SqliteStore, work: InfohashRecord[][]): { wallMs: number; cpuMs: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const batch of work) store.recordInfohashes(batch);
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000);
const fmt = (n: number) => n.toLocaleString('en-US');

export async function run(count = 300_000, batchSize = 500): Promise<StoreBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bitscrape-bench-store-'));
  try {
    const store = new SqliteStore(join(dir, 'crawl.db'));
    const pool = randomBytes(count * 20);
    const fresh = batches(pool, count, batchSize, Date.now());
    const freshTime = timeBatches(store, fresh);
    const again = batches(pool, count, batchSize, Date.now() + 1000);
    const knownTime = timeBatches(store, again);
    store.close();
    const result: StoreBenchResult = {
      batch_size: batchSize,
      infohashes: count,
      new_per_s: perSecond(count, freshTime.wallMs),
      known_per_s: perSecond(count, knownTime.wallMs),
      new_per_cpu_s: perSecond(count, freshTime.cpuMs),
      known_per_cpu_s: perSecond(count, knownTime.cpuMs),
    };
    console.log(
      `store.recordInfohashes (batches of ${batchSize}, ${count} infohashes): ` +
        `new ${fmt(result.new_per_s)}/s (${fmt(result.new_per_cpu_s)}/cpu-s), ` +
        `already stored ${fmt(result.known_per_s)}/s (${fmt(result.known_per_cpu_s)}/cpu-s)`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
