// Insert rate of the crawl database, SQLite against PostgreSQL, one writer and four at once:
// recordInfohashes in batches of 500 (the crawl's batch), new infohashes and then the same ones
// again (the upsert path). SQLite runs a fresh file in a temp dir (WAL, synchronous=NORMAL, as the
// crawler runs it), four writers in four threads on one file; PostgreSQL a throwaway cluster
// (test/support/postgres.ts: fsync off, so this measures the statements, not the disk), four
// writers as four stores of one process. Rates are wall-clock, the ratio against SQLite with one
// writer measured in the same run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { PostgresStore } from '../src/core/store/postgres-store.js';
import { SqliteStore } from '../src/core/store/sqlite-store.js';
import type { InfohashRecord, InfohashStore } from '../src/core/store/types.js';
import { startPostgres } from '../test/support/postgres.js';

const BATCH = 500;
// the worker threads load better-sqlite3 by path
const require = createRequire(import.meta.url);

export function batches(pool: Buffer, from: number, to: number, seenAt: number): InfohashRecord[][] {
  const source = { sourceAddr: '127.0.0.1:6881', sourceClient: 'LT 2.0.8', sourceVersionHex: '4c540208' };
  const out: InfohashRecord[][] = [];
  for (let start = from; start < to; start += BATCH) {
    const batch: InfohashRecord[] = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) batch.push({ infohash: pool.subarray(i * 20, i * 20 + 20), seenAt, ...source });
    out.push(batch);
  }
  return out;
}

async function writeAll(store: InfohashStore, work: InfohashRecord[][]): Promise<void> {
  for (const batch of work) await store.recordInfohashes(batch);
}

interface Rate {
  label: string;
  newPerS: number;
  knownPerS: number;
}

const perSecond = (count: number, ms: number): number => Math.round((count / ms) * 1000);

/** Four SQLite writers: four threads, each its own handle on one file, each a quarter of the keys. */
function sqliteThreads(file: string, pool: Buffer, count: number, writers: number, seenAt: number): Promise<number> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    parentPort.once('message', () => {
      const db = new Database(workerData.file, { timeout: 60000 });
      db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL'); db.pragma('busy_timeout = 60000');
      const ins = db.prepare('INSERT INTO infohashes (infohash, first_seen, last_seen, times_seen, source_addr, source_client, source_version_hex) VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (infohash) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), times_seen = times_seen + 1');
      const tx = db.transaction((from, to) => { for (let i = from; i < to; i++) ins.run(workerData.pool.subarray(i * 20, i * 20 + 20), workerData.seenAt, workerData.seenAt, '127.0.0.1:6881', 'LT 2.0.8', '4c540208'); });
      for (let s = workerData.from; s < workerData.to; s += ${BATCH}) tx.immediate(s, Math.min(workerData.to, s + ${BATCH}));
      db.close();
      parentPort.postMessage('done');
    });`;
  const share = Math.ceil(count / writers);
  const workers = Array.from({ length: writers }, (_, w) => new Worker(code, { eval: true, workerData: { file, pool, from: w * share, to: Math.min(count, (w + 1) * share), seenAt } }));
  return new Promise((resolve, reject) => {
    let left = writers;
    const started = performance.now();
    for (const w of workers) {
      w.once('error', reject);
      w.once('message', () => {
        void w.terminate();
        if (--left === 0) resolve(performance.now() - started);
      });
      w.postMessage('go');
    }
  });
}


export async function run(count = Number(process.env.BENCH_STORE_COUNT ?? 100_000)): Promise<Rate[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bitscrape-bench-store-'));
  const cluster = await startPostgres();
  const rates: Rate[] = [];
  try {
    const pool = randomBytes(count * 20);
    const now = Date.now();

    // SQLite, one writer (the baseline)
    {
      const store = new SqliteStore(join(dir, 'one.db'));
      let t = performance.now();
      await writeAll(store, batches(pool, 0, count, now));
      const fresh = performance.now() - t;
      t = performance.now();
      await writeAll(store, batches(pool, 0, count, now + 1));
      const known = performance.now() - t;
      store.close();
      rates.push({ label: 'SQLite, 1 writer', newPerS: perSecond(count, fresh), knownPerS: perSecond(count, known) });
    }
    // SQLite, four writers on one file
    {
      const file = join(dir, 'four.db');
      new SqliteStore(file).close(); // the schema
      const fresh = await sqliteThreads(file, pool, count, 4, now);
      const known = await sqliteThreads(file, pool, count, 4, now + 1);
      rates.push({ label: 'SQLite, 4 writers', newPerS: perSecond(count, fresh), knownPerS: perSecond(count, known) });
    }
    // PostgreSQL, one writer and four
    const admin = new pg.Client({ connectionString: `${cluster.base}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE one');
    await admin.query('CREATE DATABASE four');
    await admin.end();
    {
      const store = await PostgresStore.open(`${cluster.base}/one`);
      let t = performance.now();
      await writeAll(store, batches(pool, 0, count, now));
      const fresh = performance.now() - t;
      t = performance.now();
      await writeAll(store, batches(pool, 0, count, now + 1));
      const known = performance.now() - t;
      await store.close();
      rates.push({ label: 'PostgreSQL, 1 writer', newPerS: perSecond(count, fresh), knownPerS: perSecond(count, known) });
    }
    {
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(`${cluster.base}/four`)));
      const share = Math.ceil(count / 4);
      const timed = async (seenAt: number): Promise<number> => {
        const t = performance.now();
        await Promise.all(stores.map((s, w) => writeAll(s, batches(pool, w * share, Math.min(count, (w + 1) * share), seenAt))));
        return performance.now() - t;
      };
      const fresh = await timed(now);
      const known = await timed(now + 1);
      for (const s of stores) await s.close();
      rates.push({ label: 'PostgreSQL, 4 writers', newPerS: perSecond(count, fresh), knownPerS: perSecond(count, known) });
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rates[0];
  console.log(`recordInfohashes, batches of ${BATCH}, ${count.toLocaleString('en-US')} infohashes (ratio: against SQLite with 1 writer, this run)`);
  for (const r of rates) {
    console.log(
      `  ${r.label.padEnd(22)} new ${r.newPerS.toLocaleString('en-US').padStart(9)}/s (${(r.newPerS / base.newPerS).toFixed(2)}x)   ` +
        `already stored ${r.knownPerS.toLocaleString('en-US').padStart(9)}/s (${(r.knownPerS / base.knownPerS).toFixed(2)}x)`,
    );
  }
  return rates;
}
