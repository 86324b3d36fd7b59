// Torrent metadata in the crawl database (schema v3): the torrents and files tables and the FTS5
// index over names and paths. Used by SqliteStore; the SQL lives here.
import type Database from 'better-sqlite3';

import type { QueueCounts, SearchHit, TorrentDetails, TorrentRecord, TorrentRow } from './types.js';

export type { QueueCounts, SearchHit, TorrentDetails, TorrentRecord, TorrentRow };

const TORRENT_COLUMNS = `lower(hex(infohash)) AS infohash, name, total_size, piece_length, pieces, private,
  version, file_count, fetched_at, source_addr, source_client`;

/**
 * The words of a search: runs of letters and digits (what unicode61 indexes), each quoted so
 * FTS5 query syntax in the text (AND, NEAR, *, ^, quotes) is just text. Null when there are none.
 */
export function ftsQuery(text: string): string | null {
  const words = text.match(/[\p{L}\p{N}]+/gu);
  if (!words) return null;
  return words.map((w) => `"${w}"`).join(' ');
}

export class TorrentTables {
  private readonly selectRowid: Database.Statement;
  private readonly insertTorrent: Database.Statement;
  private readonly updateTorrent: Database.Statement;
  private readonly deleteFiles: Database.Statement;
  private readonly insertFile: Database.Statement;
  private readonly deleteFts: Database.Statement;
  private readonly insertFts: Database.Statement;
  private readonly selectTorrent: Database.Statement;
  private readonly selectFiles: Database.Statement;
  private readonly missing: Database.Statement;
  private readonly searchSql: Database.Statement;
  private readonly queueFetched: Database.Statement;
  private readonly queueFailed: Database.Statement;
  private readonly dueSql: Database.Statement;
  private readonly queueCounts: Database.Statement;
  readonly save: (r: TorrentRecord) => boolean;

  constructor(db: Database.Database) {
    this.selectRowid = db.prepare('SELECT rowid FROM torrents WHERE infohash = ?').pluck();
    this.insertTorrent = db.prepare(
      `INSERT INTO torrents (infohash, name, total_size, piece_length, pieces, private, version, file_count, fetched_at, source_addr, source_client)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.updateTorrent = db.prepare(
      `UPDATE torrents SET name = ?, total_size = ?, piece_length = ?, pieces = ?, private = ?, version = ?, file_count = ?,
         fetched_at = ?, source_addr = ?, source_client = ? WHERE rowid = ?`,
    );
    this.deleteFiles = db.prepare('DELETE FROM files WHERE torrent = ?');
    this.insertFile = db.prepare('INSERT INTO files (torrent, idx, path, length) VALUES (?, ?, ?, ?)');
    this.deleteFts = db.prepare('DELETE FROM torrents_fts WHERE rowid = ?');
    this.insertFts = db.prepare('INSERT INTO torrents_fts (rowid, name, paths) VALUES (?, ?, ?)');
    this.selectTorrent = db.prepare(`SELECT rowid AS id, ${TORRENT_COLUMNS} FROM torrents WHERE infohash = ?`);
    this.selectFiles = db.prepare('SELECT path, length FROM files WHERE torrent = ? ORDER BY idx');
    this.missing = db
      .prepare('SELECT infohash FROM infohashes i WHERE NOT EXISTS (SELECT 1 FROM torrents t WHERE t.infohash = i.infohash) ORDER BY rowid LIMIT ?')
      .pluck();
    // The name weighs ten times a path: a word in the name ranks a torrent first.
    this.searchSql = db.prepare(
      `SELECT lower(hex(t.infohash)) AS infohash, t.name, t.total_size, t.file_count
       FROM torrents_fts JOIN torrents t ON t.rowid = torrents_fts.rowid
       WHERE torrents_fts MATCH ? ORDER BY bm25(torrents_fts, 10.0, 1.0), t.rowid LIMIT ?`,
    );
    this.queueFetched = db.prepare(
      `INSERT INTO metadata_queue (infohash, state, attempts, next_try, last_error, updated_at) VALUES (?, 'fetched', 1, NULL, NULL, ?)
       ON CONFLICT (infohash) DO UPDATE SET state = 'fetched', attempts = attempts + 1, next_try = NULL, last_error = NULL, updated_at = excluded.updated_at`,
    );
    this.queueFailed = db.prepare(
      `INSERT INTO metadata_queue (infohash, state, attempts, next_try, last_error, updated_at)
       VALUES (@infohash, CASE WHEN @max <= 1 THEN 'failed' ELSE 'pending' END, 1, @next, @error, @now)
       ON CONFLICT (infohash) DO UPDATE SET
         state = CASE WHEN attempts + 1 >= @max THEN 'failed' ELSE 'pending' END,
         attempts = attempts + 1, next_try = @next, last_error = @error, updated_at = @now`,
    );
    // Arrival order; infohashes with metadata are skipped through the torrents key.
    this.dueSql = db
      .prepare(
        `SELECT i.infohash FROM infohashes i LEFT JOIN metadata_queue q ON q.infohash = i.infohash
         WHERE NOT EXISTS (SELECT 1 FROM torrents t WHERE t.infohash = i.infohash)
           AND (q.infohash IS NULL OR (q.state = 'pending' AND q.next_try <= ?))
         ORDER BY i.rowid LIMIT ?`,
      )
      .pluck();
    this.queueCounts = db.prepare(
      `SELECT
         (SELECT count(*) FROM torrents) AS fetched,
         (SELECT count(*) FROM metadata_queue WHERE state = 'failed') AS failed,
         (SELECT count(*) FROM infohashes i WHERE NOT EXISTS (SELECT 1 FROM torrents t WHERE t.infohash = i.infohash)
            AND NOT EXISTS (SELECT 1 FROM metadata_queue q WHERE q.infohash = i.infohash AND q.state = 'failed')) AS pending`,
    );
    this.save = db.transaction((r: TorrentRecord): boolean => {
      const isNew = this.saveRow(r);
      this.queueFetched.run(Buffer.from(r.infohash), r.fetchedAt);
      return isNew;
    });
  }

  /** Stores (or replaces) one torrent, its files and its index entry; true when it was new. */
  private saveRow(r: TorrentRecord): boolean {
    const key = Buffer.from(r.infohash);
    const cols = [r.name, r.totalSize, r.pieceLength, r.pieces, r.private ? 1 : 0, r.version, r.files.length, r.fetchedAt, r.sourceAddr, r.sourceClient];
    let id = this.selectRowid.get(key) as number | bigint | undefined;
    const isNew = id === undefined;
    if (id === undefined) {
      id = this.insertTorrent.run(key, ...cols).lastInsertRowid;
    } else {
      this.updateTorrent.run(...cols, id);
      this.deleteFiles.run(id);
      this.deleteFts.run(id);
    }
    r.files.forEach((f, i) => this.insertFile.run(id, i, f.path, f.length));
    this.insertFts.run(id, r.name, r.files.map((f) => f.path).join('\n'));
    return isNew;
  }

  show(infohash: Uint8Array): TorrentDetails | null {
    const row = this.selectTorrent.get(Buffer.from(infohash)) as (Omit<TorrentRow, 'private'> & { id: number; private: number }) | undefined;
    if (!row) return null;
    const { id, ...rest } = row;
    return { ...rest, private: row.private === 1, files: this.selectFiles.all(id) as Array<{ path: string; length: number }> };
  }

  /** Infohashes of the infohashes table without metadata, in arrival order. */
  missingMetadata(limit: number): Uint8Array[] {
    return this.missing.all(limit) as Buffer[];
  }

  /** Infohashes due for a metadata fetch at `now`: never tried, or pending with next_try passed. */
  due(now: number, limit: number): Uint8Array[] {
    return this.dueSql.all(now, limit) as Buffer[];
  }

  /** A failed attempt: retried at `nextTry`, or failed for good at the `maxAttempts`th. */
  failed(infohash: Uint8Array, error: string, now: number, nextTry: number, maxAttempts: number): void {
    this.queueFailed.run({ infohash: Buffer.from(infohash), next: nextTry, error, now, max: maxAttempts });
  }

  counts(): QueueCounts {
    return this.queueCounts.get() as QueueCounts;
  }

  search(text: string, limit: number): SearchHit[] {
    const q = ftsQuery(text);
    if (q === null) return [];
    return this.searchSql.all(q, limit) as SearchHit[];
  }
}
