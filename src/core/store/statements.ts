// The prepared statements of SqliteStore, prepared once per handle. Kept apart from the class
// so the store reads as behaviour and the SQL reads as SQL.
import type Database from 'better-sqlite3';

export interface Statements {
  insertInfohash: Database.Statement;
  touchInfohash: Database.Statement;
  selectInfohash: Database.Statement;
  upsertNode: Database.Statement;
  selectNode: Database.Statement;
  writeScrape: Database.Statement;
  neverScraped: Database.Statement;
  staleScrapes: Database.Statement;
  writeState: Database.Statement;
  readState: Database.Statement;
  deleteState: Database.Statement;
  insertRun: Database.Statement;
  finishRun: Database.Statement;
  lastEndedRun: Database.Statement;
}

export function prepareStatements(db: Database.Database): Statements {
  const insertInfohash = db.prepare(
    `INSERT INTO infohashes (infohash, first_seen, last_seen, times_seen,
       source_id, source_addr, source_client, source_version_hex)
     VALUES (?, ?, ?, 1, ?, ?, ?, ?)
     ON CONFLICT (infohash) DO NOTHING`,
  );
  const touchInfohash = db.prepare(
    `UPDATE infohashes SET
       first_seen = min(first_seen, ?),
       last_seen = max(last_seen, ?),
       times_seen = times_seen + 1,
       source_id = coalesce(source_id, ?),
       source_addr = coalesce(source_addr, ?),
       source_client = coalesce(source_client, ?),
       source_version_hex = coalesce(source_version_hex, ?)
     WHERE infohash = ?`,
  );
  const selectInfohash = db.prepare('SELECT 1 FROM infohashes WHERE infohash = ?').pluck();
  const upsertNode = db.prepare(
    `INSERT INTO nodes (addr, id, version_hex, client, bep51, first_seen, last_seen,
       last_sampled, sample_interval_s, num)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (addr) DO UPDATE SET
       id = coalesce(excluded.id, id),
       version_hex = coalesce(excluded.version_hex, version_hex),
       client = coalesce(excluded.client, client),
       bep51 = coalesce(excluded.bep51, bep51),
       first_seen = min(first_seen, excluded.first_seen),
       last_seen = max(last_seen, excluded.last_seen),
       last_sampled = coalesce(max(last_sampled, excluded.last_sampled), last_sampled, excluded.last_sampled),
       sample_interval_s = coalesce(excluded.sample_interval_s, sample_interval_s),
       num = coalesce(excluded.num, num)`,
  );
  const selectNode = db.prepare('SELECT 1 FROM nodes WHERE addr = ?').pluck();
  const writeScrape = db.prepare(
    'UPDATE infohashes SET seeders = ?, leechers = ?, peers = ?, scraped_at = ? WHERE infohash = ?',
  );
  const neverScraped = db.prepare('SELECT infohash FROM infohashes WHERE scraped_at IS NULL LIMIT ?').pluck();
  // Two range searches on the scraped_at index instead of one OR, which SQLite would answer
  // by collecting and sorting every candidate.
  const staleScrapes = db
    .prepare('SELECT infohash FROM infohashes WHERE scraped_at < ? ORDER BY scraped_at LIMIT ?')
    .pluck();
  const writeState = db.prepare(
    `INSERT INTO crawl_state (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );
  const readState = db.prepare('SELECT value FROM crawl_state WHERE key = ?').pluck();
  const deleteState = db.prepare('DELETE FROM crawl_state WHERE key = ?');
  const insertRun = db.prepare('INSERT INTO runs (started_at, strategy) VALUES (?, ?)');
  const finishRun = db.prepare('UPDATE runs SET ended_at = ?, summary = ? WHERE id = ?');
  const lastEndedRun = db.prepare('SELECT ended_at, summary FROM runs WHERE strategy = ? AND ended_at IS NOT NULL ORDER BY id DESC LIMIT 1');

  return {
    insertInfohash,
    touchInfohash,
    selectInfohash,
    upsertNode,
    selectNode,
    writeScrape,
    neverScraped,
    staleScrapes,
    writeState,
    readState,
    deleteState,
    insertRun,
    finishRun,
    lastEndedRun,
  };
}
