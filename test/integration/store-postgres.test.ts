// The PostgreSQL store against a real server (the run's throwaway cluster): the shared contract,
// then what only a server database has: URLs and passwords, a refused connection, two crawlers
// migrating one new database at once.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore, redactUrl } from '../../src/core/store/index.js';
import { StoreError } from '../../src/core/store/errors.js';
import { MIGRATION_LOCK, PG_SCHEMA_VERSION } from '../../src/core/store/postgres-schema.js';
import { storeContract } from '../unit/store/contract.js';
import { cluster, freshDatabase, sql } from '../support/postgres-db.js';

storeContract('PostgreSQL', async () => PostgresStore.open(await freshDatabase()));

describe('PostgreSQL specifics', () => {
  it('two stores opening one new database at once migrate it once', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all([PostgresStore.open(url), PostgresStore.open(url), PostgresStore.open(url)]);
    expect(stores.filter((s) => s.created)).not.toHaveLength(0);
    const rows = await sql<{ version: number }>(url, 'SELECT version FROM bitscrape_schema');
    expect(rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
    await stores[0].recordInfohashes([{ infohash: new Uint8Array(20).fill(1), seenAt: 1 }]);
    expect(await stores[1].has(new Uint8Array(20).fill(1))).toBe(true);
    for (const s of stores) await s.close();
  });

  it('a store that looks while another crawler migrates waits for it instead of calling the database foreign', async () => {
    const url = await freshDatabase();
    // Stands in for a crawler mid-migration whose tables became visible one look apart: it holds the
    // migration lock, and the data table is there before the schema table.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
      await other.query('CREATE TABLE infohashes (x int)');
      let settled = false;
      const opening = PostgresStore.open(url).then(
        (store) => ((settled = true), store),
        (err: unknown) => ((settled = true), err),
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(settled).toBe(false); // waiting for the lock, not refusing
      // the other crawler's migration ends with the schema table, then lets go of the lock
      await other.query('CREATE TABLE bitscrape_schema (version integer NOT NULL)');
      await other.query('INSERT INTO bitscrape_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
      await other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
      const store = await opening;
      expect(store).toBeInstanceOf(PostgresStore);
      expect((store as PostgresStore).created).toBe(false);
      await (store as PostgresStore).close();
    } finally {
      await other.end();
    }
  });

  it('a wrong password, a missing database, a refused port and a foreign database are StoreErrors that never show the password', async () => {
    const c = cluster();
    const wrong = `postgres://${c.user}:not-the-password@${c.host}:${c.port}/postgres`;
    const err = await PostgresStore.open(wrong).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe('auth_failed');
    expect((err as StoreError).message).not.toContain('not-the-password');
    expect((err as StoreError).message).toContain(`postgres://${c.user}@${c.host}:${c.port}/postgres`);

    const missing = await PostgresStore.open(`${c.base}/no_such_db`).catch((e: unknown) => e);
    expect((missing as StoreError).kind).toBe('missing');
    expect((missing as StoreError).message).not.toContain(c.password);

    const refused = await PostgresStore.open(`postgres://${c.user}:${c.password}@127.0.0.1:1/x`, { connectTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect((refused as StoreError).kind).toBe('unreachable');
    expect((refused as StoreError).message).not.toContain(c.password);

    const foreign = await freshDatabase();
    await sql(foreign, 'CREATE TABLE infohashes (x int)');
    expect(((await PostgresStore.open(foreign).catch((e: unknown) => e)) as StoreError).kind).toBe('foreign_database');

    const empty = await freshDatabase();
    expect(((await PostgresStore.open(empty, { mustExist: true }).catch((e: unknown) => e)) as StoreError).kind).toBe('missing');
    // a refused open changed nothing
    expect(await sql(empty, "SELECT to_regclass('bitscrape_schema') AS t")).toEqual([{ t: null }]);
  });

  it('an upsert that PostgreSQL picks as the victim of a deadlock is run again, not lost', async () => {
    const url = await freshDatabase();
    const store = await PostgresStore.open(url);
    const x = new Uint8Array(20).fill(0xa1);
    const y = new Uint8Array(20).fill(0xb2);
    await store.recordInfohashes([{ infohash: x, seenAt: 1 }, { infohash: y, seenAt: 1 }]);
    // Another crawler's transaction: it holds x, and (below) asks for y once the store holds y and
    // waits for x. Its long deadlock_timeout makes the store's statement the one PostgreSQL rolls back.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("SET deadlock_timeout = '20s'");
      await other.query('BEGIN');
      await other.query('UPDATE infohashes SET times_seen = times_seen + 100 WHERE infohash = $1', [Buffer.from(x)]);
      // the batch locks its rows in arrival order: y, then x (held by the other transaction)
      const upsert = store.recordInfohashes([{ infohash: y, seenAt: 2 }, { infohash: x, seenAt: 2 }]).then(
        (results) => results.map((r) => r.isNew),
        (err: unknown) => err,
      );
      const waiting = async (): Promise<boolean> =>
        (await other.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'bitscrape' AND wait_event_type = 'Lock'")).rowCount! > 0;
      for (let i = 0; i < 200 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 25));
      expect(await waiting()).toBe(true);
      // closes the cycle; PostgreSQL ends the store's statement after its deadlock_timeout (1 s)
      await other.query('UPDATE infohashes SET times_seen = times_seen + 100 WHERE infohash = $1', [Buffer.from(y)]);
      await other.query('COMMIT');
      expect(await upsert).toEqual([false, false]);
    } finally {
      await other.end();
    }
    const rows = await sql<{ h: string; times_seen: number }>(url, "SELECT encode(infohash, 'hex') AS h, times_seen FROM infohashes ORDER BY h");
    // 1 (first batch) + 100 (the other transaction) + 1 (the retried upsert), each
    expect(rows.map((r) => Number(r.times_seen))).toEqual([102, 102]);
    await store.close();
  });

  it('redacts passwords in URLs', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u@h:5432/db');
    expect(redactUrl('postgresql://u@h/db')).toBe('postgresql://u@h/db');
    expect(redactUrl('postgres://h/db')).toBe('postgres://h/db');
  });
});
