// A crawl whose database fills up: it stops, rejects with a CrawlStoreError that says what was
// kept (and never as an unhandled rejection while the virtual clock is being driven), and what
// it says was kept is in the database: every infohash it reported.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CrawlStoreError } from '../../../src/core/crawl/errors.js';
import { StoreWriteError } from '../../../src/core/store/errors.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { runTestnetCrawl } from '../../../src/core/crawl/sim-crawl.js';
import { toHex } from '../../../src/core/wire/hex.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('a crawl whose database fills up', () => {
  it('rejects with a CrawlStoreError naming what was kept, and everything reported is stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-full-'));
    dirs.push(dir);
    const store = new SqliteStore(join(dir, 'crawl.db'));
    // max_page_count caps the file a few pages above where it is: SQLITE_FULL, as on a full disk.
    const handle = (store as unknown as { db: Database.Database }).db;
    handle.pragma(`max_page_count = ${(handle.pragma('page_count', { simple: true }) as number) + 6}`);
    const reported: string[] = [];
    let error: unknown;
    try {
      await runTestnetCrawl({ nodes: 2000, seed: 3, store, onInfohash: (r) => reported.push(toHex(r.infohash)) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CrawlStoreError);
    const e = error as CrawlStoreError;
    expect(e.failure).toBeInstanceOf(StoreWriteError);
    expect((e.failure as StoreWriteError).code).toBe('SQLITE_FULL');
    expect(e.kept.infohashes).toBe(reported.length);
    expect(e.kept.infohashes).toBeGreaterThan(0);
    expect(e.message).toMatch(new RegExp(`database write failed: database or disk is full; the ${reported.length} infohashes stored before it are kept`));
    expect(e.message).not.toContain('\n');
    for (const hex of reported) expect(store.has(Buffer.from(hex, 'hex'))).toBe(true);
    expect(store.stats().infohashes).toBe(reported.length);
    store.close();
  }, 120_000);
});
