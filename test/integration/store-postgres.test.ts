// The PostgreSQL store against a real server (the run's throwaway cluster): the shared contract,
// then what only a server database has: URLs and passwords, a refused connection, two crawlers
// migrating one new database at once.
import { describe, expect, it } from 'vitest';
import { PostgresStore, redactUrl } from '../../src/core/store/index.js';
import { StoreError } from '../../src/core/store/errors.js';
import { PG_SCHEMA_VERSION } from '../../src/core/store/postgres-schema.js';
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

  it('redacts passwords in URLs', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u@h:5432/db');
    expect(redactUrl('postgresql://u@h/db')).toBe('postgresql://u@h/db');
    expect(redactUrl('postgres://h/db')).toBe('postgres://h/db');
  });
});
