// Schema versions. PRAGMA user_version holds the version a database is at; MIGRATIONS[i] takes a
// database from version i to version i + 1. Append only: a released migration never changes.
import type Database from 'better-sqlite3';

export type Migration = (db: Database.Database) => void;

const v1: Migration = (db) => {
  // infohashes keeps its rowid: rows are appended in arrival order and only the small primary
  // key index takes random inserts. WITHOUT ROWID would move whole rows around on page splits
  // (measured about half the insert rate), and the secondary indexes (first_seen, later
  // scraped_at) stay append-only because their entries end in the increasing rowid.
  db.exec(`
    CREATE TABLE infohashes (
      infohash BLOB PRIMARY KEY NOT NULL CHECK (length(infohash) = 20),
      first_seen INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      times_seen INTEGER NOT NULL DEFAULT 1,
      source_id BLOB,
      source_addr TEXT,
      source_client TEXT,
      source_version_hex TEXT
    );
    CREATE INDEX infohashes_first_seen ON infohashes (first_seen);

    CREATE TABLE nodes (
      addr TEXT PRIMARY KEY NOT NULL,
      id BLOB,
      version_hex TEXT,
      client TEXT,
      bep51 INTEGER CHECK (bep51 IN (0, 1)),
      first_seen INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      last_sampled INTEGER,
      sample_interval_s INTEGER,
      num INTEGER
    ) WITHOUT ROWID;

    CREATE TABLE crawl_state (
      key TEXT PRIMARY KEY NOT NULL,
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    );

    CREATE TABLE runs (
      id INTEGER PRIMARY KEY,
      started_at INTEGER NOT NULL,
      ended_at INTEGER,
      strategy TEXT NOT NULL,
      summary TEXT
    );
  `);
};

// Scrape results (BEP 33 estimates) per infohash.
const v2: Migration = (db) => {
  db.exec(`
    ALTER TABLE infohashes ADD COLUMN seeders INTEGER;
    ALTER TABLE infohashes ADD COLUMN leechers INTEGER;
    ALTER TABLE infohashes ADD COLUMN peers INTEGER;
    ALTER TABLE infohashes ADD COLUMN scraped_at INTEGER;
    CREATE INDEX infohashes_scraped_at ON infohashes (scraped_at);
  `);
};

// Torrent metadata (BEP 9): one row per fetched info dictionary, its files, and an FTS5 index
// over the name and the file paths. unicode61 splits words on anything that is not a letter or
// digit and folds case (and diacritics), so `rp000005` finds `rp000005.bin`. The index is
// external-content-less: its rowid is the torrent's rowid, kept in step by the store.
const v3: Migration = (db) => {
  db.exec(`
    CREATE TABLE torrents (
      infohash BLOB PRIMARY KEY NOT NULL CHECK (length(infohash) = 20),
      name TEXT NOT NULL,
      total_size INTEGER NOT NULL,
      piece_length INTEGER NOT NULL,
      pieces INTEGER NOT NULL,
      private INTEGER NOT NULL CHECK (private IN (0, 1)),
      version TEXT NOT NULL,
      file_count INTEGER NOT NULL,
      fetched_at INTEGER NOT NULL,
      source_addr TEXT,
      source_client TEXT
    );
    CREATE TABLE files (
      torrent INTEGER NOT NULL,
      idx INTEGER NOT NULL,
      path TEXT NOT NULL,
      length INTEGER NOT NULL,
      PRIMARY KEY (torrent, idx)
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE torrents_fts USING fts5(name, paths, tokenize = 'unicode61');
  `);
};

// The metadata queue of `crawl --metadata`: every infohash without a torrents row is pending
// unless a row here says otherwise (failed for good, or not before next_try). Rows are written
// per attempt, so a killed crawl loses nothing and the next run carries on.
const v4: Migration = (db) => {
  db.exec(`
    CREATE TABLE metadata_queue (
      infohash BLOB PRIMARY KEY NOT NULL CHECK (length(infohash) = 20),
      state TEXT NOT NULL CHECK (state IN ('pending', 'fetched', 'failed')),
      attempts INTEGER NOT NULL,
      next_try INTEGER,
      last_error TEXT,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
  `);
};

// Keyspace leases: passes split into ranges that crawlers claim (types.ts, LeaseStore).
const v5: Migration = (db) => {
  db.exec(`
    CREATE TABLE passes (
      pass INTEGER PRIMARY KEY,
      ranges INTEGER NOT NULL,
      started_at INTEGER NOT NULL,
      finished_at INTEGER
    );
    CREATE TABLE leases (
      pass INTEGER NOT NULL,
      range INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'done')),
      owner TEXT,
      expires_at INTEGER,
      done_at INTEGER,
      PRIMARY KEY (pass, range)
    ) WITHOUT ROWID;
  `);
};

// Shared BEP 51 intervals: a range's crawl reads the nodes sampled in its part of the keyspace.
const v6: Migration = (db) => {
  db.exec('CREATE INDEX nodes_id ON nodes (id)');
};

export const MIGRATIONS: readonly Migration[] = [v1, v2, v3, v4, v5, v6];
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export interface MigrationOutcome {
  from: number;
  to: number;
}

/**
 * Brings the database to `target` in one IMMEDIATE transaction, so two processes opening a new
 * file at once cannot both migrate it: the second waits, then finds the work done.
 */
export function migrate(
  db: Database.Database,
  target: number = SCHEMA_VERSION,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationOutcome {
  // Fast path without taking the write lock (and the only path a read-only handle can take).
  const current = schemaVersion(db);
  if (current > migrations.length) throw new SchemaTooNewError(current, migrations.length);
  if (current >= target) return { from: current, to: current };

  const run = db.transaction((): MigrationOutcome => {
    const from = schemaVersion(db);
    if (from > migrations.length) throw new SchemaTooNewError(from, migrations.length);
    for (let version = from; version < target; version++) {
      migrations[version](db);
      db.pragma(`user_version = ${version + 1}`);
    }
    return { from, to: Math.max(from, target) };
  });
  return run.immediate();
}

export class SchemaTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`schema version ${found} is newer than this bitscrape knows (${known})`);
    this.name = 'SchemaTooNewError';
  }
}
