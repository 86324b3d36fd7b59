// Insert rate of the crawl database, SQLite against PostgreSQL, one writer and four at once:
// recordInfohashes in batches of 500 (the crawl's batch), new infohashes and then the same ones
// again (the upsert path). SQLite runs a fresh file in a temp dir (WAL, synchronous=NORMAL, as the
// crawler runs it), four writers in four threads on one file; PostgreSQL a throwaway cluster
// (test/support/postgres.ts: fsync off, so this measures the statements, not the disk), four
// writers as four stores of one process. Rates are wall-clock, the ratio against SQLite with one
// writer measured in the same run.
//
// PostgreSQL runs two ways of writing a batch (issue 13: "multi-row INSERT … ON CONFLICT or COPY,
// picked by benchmark"): the store's one statement over unnest() of arrays, and COPY of the batch
// into a temporary table followed by one INSERT … SELECT … ON CONFLICT with the same SET list and
// RETURNING (two round trips: the COPY, then the upsert and the emptying of the table in one
// transaction). docs/architecture.md (PostgreSQL, one contract) records the figures and the choice.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { INFOHASH_MERGE, PostgresStore } from '../src/core/store/postgres-store.js';
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

/** One writer of batches into a database. */
interface Writer {
  write(batch: InfohashRecord[]): Promise<number>;
  close(): Promise<void>;
}

function storeWriter(store: PostgresStore): Writer {
  return {
    write: async (batch) => (await store.recordInfohashes(batch)).filter((r) => r.isNew).length,
    close: () => store.close(),
  };
}

async function sql(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** COPY text format: a field with its backslash, tab and line breaks escaped; \N is NULL. */
function copyField(v: string | Uint8Array | number | undefined): string {
  if (v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return `\\\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  return v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
}

/**
 * The COPY candidate: the batch is copied into a temporary table of the connection, then upserted
 * with the statement PostgresStore.recordInfohashes runs on unnest() (same SET list, same
 * RETURNING), and the table emptied, in one transaction. The batches here hold no infohash twice,
 * so the merge of repeats the store does before either statement is left out of both.
 */
class CopyWriter implements Writer {
  private constructor(private readonly client: pg.Client) {}

  static async open(url: string): Promise<CopyWriter> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE TEMP TABLE staging (infohash bytea, first_seen bigint, last_seen bigint, times_seen bigint,
      source_id bytea, source_addr text, source_client text, source_version_hex text)`);
    return new CopyWriter(client);
  }

  async write(batch: InfohashRecord[]): Promise<number> {
    const lines = batch.map((r) =>
      [r.infohash, r.seenAt, r.seenAt, 1, r.sourceId, r.sourceAddr, r.sourceClient, r.sourceVersionHex].map(copyField).join('\t') + '\n',
    );
    await pipeline(Readable.from([lines.join('')]), this.client.query(copyFrom('COPY staging FROM STDIN')));
    // one simple-protocol round trip: the upsert's rows are its result's
    const results = (await this.client.query(
      `BEGIN;
       INSERT INTO infohashes AS t (infohash, first_seen, last_seen, times_seen, source_id, source_addr, source_client, source_version_hex)
       SELECT * FROM staging
       ${INFOHASH_MERGE}
       RETURNING encode(infohash, 'hex') AS infohash, (xmax = 0) AS inserted;
       TRUNCATE staging;
       COMMIT`,
    )) as unknown as pg.QueryResult<{ inserted: boolean }>[];
    return results[1].rows.filter((r) => r.inserted).length;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
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
    // PostgreSQL: the store's unnest upsert and the COPY candidate, one writer and four, each in a database of its own
    const admin = new pg.Client({ connectionString: `${cluster.base}/postgres` });
    await admin.connect();
    for (const db of ['unnest1', 'unnest4', 'copy1', 'copy4']) await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    const methods: Array<{ name: string; open(url: string): Promise<Writer> }> = [
      { name: 'unnest', open: async (url) => storeWriter(await PostgresStore.open(url)) },
      { name: 'COPY', open: (url) => CopyWriter.open(url) },
    ];
    for (const method of methods) {
      for (const writers of [1, 4]) {
        const url = `${cluster.base}/${method.name.toLowerCase()}${writers}`;
        await (await PostgresStore.open(url)).close(); // the schema
        const opened = await Promise.all(Array.from({ length: writers }, () => method.open(url)));
        const share = Math.ceil(count / writers);
        const timed = async (seenAt: number): Promise<number> => {
          const t = performance.now();
          await Promise.all(opened.map(async (w, i) => {
            for (const batch of batches(pool, i * share, Math.min(count, (i + 1) * share), seenAt)) await w.write(batch);
          }));
          return performance.now() - t;
        };
        const fresh = await timed(now);
        const known = await timed(now + 1);
        // both rounds landed: every infohash once, seen twice
        const [{ n, seen }] = (await sql(url, 'SELECT count(*)::int AS n, sum(times_seen)::int AS seen FROM infohashes')) as Array<{ n: number; seen: number }>;
        if (n !== count || seen !== 2 * count) throw new Error(`${method.name}: ${n} rows seen ${seen} times, ${count} written twice`);
        for (const w of opened) await w.close();
        rates.push({ label: `PostgreSQL ${method.name}, ${writers} writer${writers > 1 ? 's' : ''}`, newPerS: perSecond(count, fresh), knownPerS: perSecond(count, known) });
      }
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rates[0];
  console.log(`recordInfohashes, batches of ${BATCH}, ${count.toLocaleString('en-US')} infohashes (ratio: against SQLite with 1 writer, this run)`);
  for (const r of rates) {
    console.log(
      `  ${r.label.padEnd(30)} new ${r.newPerS.toLocaleString('en-US').padStart(9)}/s (${(r.newPerS / base.newPerS).toFixed(2)}x)   ` +
        `already stored ${r.knownPerS.toLocaleString('en-US').padStart(9)}/s (${(r.knownPerS / base.knownPerS).toFixed(2)}x)`,
    );
  }
  return rates;
}
