// Schema versions: a database written by an older bitscrape is upgraded in place, without loss.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion, type Migration } from '../../../src/core/store/migrations.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { hex, ih, tempDir } from './helpers.js';

/** A database exactly as version 1 of the schema left it, with some rows. */
function writeV1Database(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  expect(migrate(db, 1)).toEqual({ from: 0, to: 1 });
  const insert = db.prepare(
    `INSERT INTO infohashes (infohash, first_seen, last_seen, times_seen, source_addr, source_client)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  for (let n = 1; n <= 100; n++) insert.run(ih(n), n * 10, n * 20, n, `127.0.0.1:${n}`, n % 2 ? 'LT 2.0.8' : 'UT 3.5');
  db.prepare('INSERT INTO nodes (addr, bep51, first_seen, last_seen) VALUES (?, ?, ?, ?)').run('127.0.0.1:1', 1, 5, 6);
  db.prepare('INSERT INTO crawl_state (key, value, updated_at) VALUES (?, ?, ?)').run('keyspace', '{"depth":4}', 7);
  db.close();
}

describe('migrations', () => {
  it('are numbered by position and the current version is the last one', () => {
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
  });

  it('upgrade a version 1 database to the current version, keeping every row', () => {
    const path = join(tempDir(), 'v1.db');
    writeV1Database(path);

    const store = new SqliteStore(path);
    expect(store.created).toBe(false);
    expect(store.migratedFrom).toBe(1);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);

    const rows = [...store.listInfohashes()];
    expect(rows).toHaveLength(100);
    expect(rows[41]).toMatchObject({
      infohash: hex(ih(42)),
      first_seen: 420,
      last_seen: 840,
      times_seen: 42,
      source_client: 'UT 3.5',
      seeders: null,
      scraped_at: null,
    });
    expect(store.loadState('keyspace')).toEqual({ depth: 4 });
    expect(store.stats()).toMatchObject({ infohashes: 100, nodes: 1, bep51_nodes: 1, scraped: 0 });

    // The version 2 columns work on the migrated rows.
    expect(store.selectForScrape()).toHaveLength(100);
    expect(store.updateScrape([{ infohash: ih(42), seeders: 3, leechers: 4, peers: 7, scrapedAt: 1000 }])).toBe(1);
    expect(store.selectForScrape()).toHaveLength(99);
    store.close();

    // A second open finds nothing to do.
    const again = new SqliteStore(path);
    expect(again.migratedFrom).toBe(SCHEMA_VERSION);
    expect(again.stats().scraped).toBe(1);
    again.close();
  });

  it('roll back completely when a step fails', () => {
    const db = new Database(':memory:');
    const failing: Migration[] = [
      MIGRATIONS[0],
      (d) => {
        d.exec('CREATE TABLE half_done (x)');
        throw new Error('step 2 failed');
      },
    ];
    expect(() => migrate(db, 2, failing)).toThrow('step 2 failed');
    expect(schemaVersion(db)).toBe(0);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").pluck().get()).toBe(0);
    db.close();
  });

  it('do nothing when the database is already at the target', () => {
    const db = new Database(':memory:');
    migrate(db);
    let ran = false;
    const spy: Migration[] = [...MIGRATIONS.map((m) => (d: Database.Database) => ((ran = true), m(d)))];
    expect(migrate(db, SCHEMA_VERSION, spy)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    expect(ran).toBe(false);
    db.close();
  });
});
