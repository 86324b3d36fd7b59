// Opening the crawl database: location, new/existing detection, and one-line errors for files
// that are not ours.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { StoreError, StoreWriteError } from '../../../src/core/store/errors.js';
import { SCHEMA_VERSION } from '../../../src/core/store/migrations.js';
import { defaultDbPath } from '../../../src/core/paths.js';
import { ih, tempDir } from './helpers.js';

function openError(path: string, options = {}): StoreError {
  try {
    new SqliteStore(path, options).close();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error(`opening ${path} did not fail`);
}

describe('defaultDbPath', () => {
  it('uses XDG_DATA_HOME when it is absolute', () => {
    expect(defaultDbPath({ XDG_DATA_HOME: '/data' }, '/home/u')).toBe('/data/bitscrape/crawl.db');
  });

  it('falls back to ~/.local/share when XDG_DATA_HOME is unset or relative', () => {
    expect(defaultDbPath({}, '/home/u')).toBe('/home/u/.local/share/bitscrape/crawl.db');
    expect(defaultDbPath({ XDG_DATA_HOME: 'rel/dir' }, '/home/u')).toBe('/home/u/.local/share/bitscrape/crawl.db');
  });
});

describe('SqliteStore open', () => {
  it('creates missing parent directories and a new database at the current schema', () => {
    const path = join(tempDir(), 'a', 'b', 'crawl.db');
    const store = new SqliteStore(path);
    expect(store.created).toBe(true);
    expect(store.migratedFrom).toBe(0);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    store.close();
    expect(existsSync(path)).toBe(true);
  });

  it('reopens an existing database without recreating it', () => {
    const path = join(tempDir(), 'crawl.db');
    const first = new SqliteStore(path);
    first.recordInfohashes([{ infohash: ih(1), seenAt: 1000 }]);
    first.close();

    const second = new SqliteStore(path);
    expect(second.created).toBe(false);
    expect(second.migratedFrom).toBe(SCHEMA_VERSION);
    expect(second.has(ih(1))).toBe(true);
    second.close();
  });

  it('uses WAL, synchronous=NORMAL and a busy timeout', () => {
    const path = join(tempDir(), 'crawl.db');
    const store = new SqliteStore(path, { busyTimeoutMs: 1234 });
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    // synchronous and busy_timeout are per connection: check them on a live handle.
    const live = new SqliteStore(path, { busyTimeoutMs: 1234 });
    const handle = (live as unknown as { db: Database.Database }).db;
    expect(handle.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(handle.pragma('busy_timeout', { simple: true })).toBe(1234);
    live.close();
  });

  it('checkpoints the WAL into the main file on close', () => {
    const path = join(tempDir(), 'crawl.db');
    const store = new SqliteStore(path);
    store.recordInfohashes(Array.from({ length: 200 }, (_, i) => ({ infohash: ih(i), seenAt: i })));
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    store.close();
    expect(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0).toBe(true);
  });

  it('rejects a file of random bytes with a one-line error naming the file', () => {
    const path = join(tempDir(), 'junk.db');
    const junk = Buffer.alloc(8192);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
    writeFileSync(path, junk);
    const error = openError(path);
    expect(error.kind).toBe('not_a_database');
    expect(error.message).toContain(path);
    expect(error.message).not.toContain('\n');
    // The file is left as it was: we never "repair" someone else's file.
    expect(readFileSync(path).equals(junk)).toBe(true);
  });

  it('rejects a SQLite database whose pages are corrupt', () => {
    const path = join(tempDir(), 'corrupt.db');
    const store = new SqliteStore(path);
    store.recordInfohashes(Array.from({ length: 500 }, (_, i) => ({ infohash: ih(i), seenAt: i })));
    store.close();
    // Keep the 100-byte header, overwrite the schema page and beyond.
    const bytes = readFileSync(path);
    for (let i = 100; i < bytes.length; i++) bytes[i] = (i * 197 + 3) & 0xff;
    writeFileSync(path, bytes);
    const error = openError(path);
    expect(error.kind).toBe('not_a_database');
    expect(error.message.startsWith(`${path}: `)).toBe(true);
  });

  it('rejects a SQLite database that is not a bitscrape one', () => {
    const path = join(tempDir(), 'other.db');
    const db = new Database(path);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expect(openError(path).kind).toBe('foreign_database');
  });

  it('rejects a database from a newer bitscrape', () => {
    const path = join(tempDir(), 'future.db');
    new SqliteStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const error = openError(path);
    expect(error.kind).toBe('schema_too_new');
    expect(error.message).toContain(String(SCHEMA_VERSION + 1));
  });

  it('does not create a database when it must exist', () => {
    const path = join(tempDir(), 'missing', 'crawl.db');
    expect(openError(path, { mustExist: true }).kind).toBe('missing');
    expect(openError(path, { readonly: true }).kind).toBe('missing');
    expect(existsSync(join(path, '..'))).toBe(false);
  });

  it('opens read-only for queries and refuses writes', () => {
    const path = join(tempDir(), 'crawl.db');
    const writer = new SqliteStore(path);
    writer.recordInfohashes([{ infohash: ih(7), seenAt: 5 }]);
    writer.close();
    const reader = new SqliteStore(path, { readonly: true });
    expect(reader.has(ih(7))).toBe(true);
    expect(() => reader.recordInfohashes([{ infohash: ih(8), seenAt: 6 }])).toThrow(/readonly/i);
    reader.close();
  });

  // A file we refuse is not ours to change: no WAL switch, no -wal / -shm files, same bytes.
  it.each([
    ['another application\'s database', 0],
    ['another application\'s database that sets user_version', 1],
    ['a database from a newer bitscrape', SCHEMA_VERSION + 1],
  ])('leaves %s exactly as it was when refusing it', (_what, userVersion) => {
    const path = join(tempDir(), 'other.db');
    const db = new Database(path);
    if (userVersion > SCHEMA_VERSION) {
      db.close();
      new SqliteStore(path).close();
      const ours = new Database(path);
      ours.pragma('journal_mode = DELETE');
      ours.pragma(`user_version = ${userVersion}`);
      ours.close();
    } else {
      db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('keep me')");
      db.pragma(`user_version = ${userVersion}`);
      db.close();
    }
    const before = readFileSync(path);
    const error = openError(path);
    expect(error.kind).toBe(userVersion > SCHEMA_VERSION ? 'schema_too_new' : 'foreign_database');
    expect(error.message).not.toContain('\n');
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });

  it('rejects a directory in one line, for writing and for reading', () => {
    const path = join(tempDir(), 'crawl.db');
    mkdirSync(path);
    for (const options of [{}, { mustExist: true }, { readonly: true }]) {
      const error = openError(path, options);
      expect(error.kind).toBe('is_directory');
      expect(error.message).toBe(`${path}: is a directory, not a database file`);
    }
  });

  it('reports a failed write (a full database) as a StoreWriteError naming the file', () => {
    const path = join(tempDir(), 'crawl.db');
    const store = new SqliteStore(path);
    // max_page_count caps the file where it is: the next page a write needs is SQLITE_FULL,
    // as on a full disk.
    const handle = (store as unknown as { db: Database.Database }).db;
    handle.pragma(`max_page_count = ${handle.pragma('page_count', { simple: true }) as number}`);
    let error: unknown;
    try {
      store.recordInfohashes(Array.from({ length: 2000 }, (_, i) => ({ infohash: ih(i), seenAt: i })));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StoreWriteError);
    const e = error as StoreWriteError;
    expect(e.code).toBe('SQLITE_FULL');
    expect(e.message).toBe(`${path}: database write failed: database or disk is full`);
    // the failed batch is rolled back as a whole
    expect(store.has(ih(0))).toBe(false);
    store.close();
  });
});
