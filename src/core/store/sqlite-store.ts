// The embedded crawl database: one SQLite file in WAL mode, so readers (`bitscrape db ...`) never
// block the crawler and a second crawler handle waits (busy_timeout) instead of failing.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { BatchWriter, type BatchWriterOptions } from './batch-writer.js';
import { StoreError, StoreWriteError } from './errors.js';
import { prepareStatements, type Statements } from './statements.js';
import { TorrentTables, type QueueCounts, type SearchHit, type TorrentDetails, type TorrentRecord } from './torrents.js';
import { SCHEMA_VERSION, SchemaTooNewError, migrate, schemaVersion } from './migrations.js';
import { readReportData } from './report-queries.js';
import { endedRun, storeStats } from './run-rows.js';
import { sqliteClaimRange, sqliteCurrentPass, sqliteFinishRange, sqlitePassStatus, sqliteReleaseRange, sqliteRenewLease, sqliteSampleDueTimes } from './sqlite-leases.js';
import type {
  InfohashOrder,
  InfohashQuery,
  InfohashRecord,
  InfohashRow,
  InfohashStore,
  NodeRecord,
  NodeRecordResult,
  RecordResult,
  RunEnd,
  EndedRun,
  RunStart,
  ScrapeRecord,
  NodeRow,
  LeaseClaim,
  PassStatus,
  SampleDue,
  ReportData,
  ReportQuery,
  RunRow,
  ScrapeSelection,
  StoreStats,
  ClientStats,
} from './types.js';

export interface SqliteStoreOptions {
  /** Open without writing anything (no migrations, no WAL switch). Implies mustExist. */
  readonly?: boolean;
  /** Fail instead of creating a new database (for commands that only read). */
  mustExist?: boolean;
  /** How long a write waits for another handle's lock, ms (default 5000). */
  busyTimeoutMs?: number;
  /** Page cache size, KiB (default 65536). Random 20-byte keys touch the whole tree. */
  cacheSizeKiB?: number;
  /** WAL pages before an automatic checkpoint (default 16384, about 64 MiB; SQLite's is 1000). */
  walAutocheckpointPages?: number;
}

type WriterOptions<T, R> = Omit<BatchWriterOptions<T, R>, 'write'>;

const INFOHASH_BYTES = 20;

const ORDER_COLUMNS: Record<InfohashOrder, string> = {
  first_seen: 'first_seen',
  last_seen: 'last_seen',
  times_seen: 'times_seen',
  infohash: 'infohash',
};

const ROW_COLUMNS = `
  lower(hex(infohash)) AS infohash, first_seen, last_seen, times_seen,
  CASE WHEN source_id IS NULL THEN NULL ELSE lower(hex(source_id)) END AS source_id,
  source_addr, source_client, source_version_hex, seeders, leechers, peers, scraped_at,
  (SELECT t.name FROM torrents t WHERE t.infohash = infohashes.infohash) AS name`;

// better-sqlite3 is required when a database is first opened, not when this module loads: commands
// that import the store but run without a database (crawl --testnet, scrape of arguments) start
// without it.
const require = createRequire(import.meta.url);
let sqlite: typeof Database | undefined;
function loadSqlite(): typeof Database {
  return (sqlite ??= require('better-sqlite3') as typeof Database);
}

function sqliteCode(error: unknown): string | undefined {
  return sqlite !== undefined && error instanceof sqlite.SqliteError ? error.code : undefined;
}

function toStoreError(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof SchemaTooNewError) return new StoreError('schema_too_new', path, error.message);
  const code = sqliteCode(error) ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError('not_a_database', path, `not a SQLite database, or it is corrupt (${message})`);
  }
  // SQLITE_READONLY_DIRECTORY too: WAL needs to create files next to the database.
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError('read_only', path, `cannot write to the database (${message}); check the permissions of the file and its directory`);
  }
  return new StoreError('cannot_open', path, `cannot open the database: ${message}`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // missing or unreadable: opening it reports that
  }
}

/** The tables of schema version 1; later versions only add. */
const OUR_TABLES = ['infohashes', 'nodes', 'crawl_state', 'runs'];

/**
 * Reads the schema version and tables (one read transaction: nothing is written) and refuses a
 * file that is not ours or that this version cannot use. Returns the version found.
 */
function checkSchema(db: Database.Database, path: string, readonly: boolean): number {
  const { version, tables } = db.transaction(() => ({
    version: schemaVersion(db),
    tables: new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]),
  }))();
  if (version > SCHEMA_VERSION) throw new SchemaTooNewError(version, SCHEMA_VERSION);
  const ours = OUR_TABLES.every((t) => tables.has(t));
  if ((version === 0 && tables.size > 0) || (version > 0 && !ours)) {
    throw new StoreError('foreign_database', path, 'is a SQLite database but not a bitscrape one');
  }
  if (readonly && version < SCHEMA_VERSION) {
    throw new StoreError('schema_too_old', path, `schema version ${version} is older than ${SCHEMA_VERSION}; open it once for writing to upgrade`);
  }
  return version;
}

/**
 * Commits a write that changes nothing (user_version set to itself). SQLite opens a file it may
 * not write (permissions, a read-only mount or directory) without complaint and fails only at
 * the first write, which for a crawl comes after all the network work.
 */
function probeWrite(db: Database.Database): void {
  db.transaction(() => {
    db.pragma(`user_version = ${schemaVersion(db)}`);
  }).immediate();
}

function toWriteError(error: unknown, path: string): unknown {
  if (!(error instanceof loadSqlite().SqliteError)) return error;
  return new StoreWriteError(path, error.code, error.message);
}

function checkInfohash(infohash: Uint8Array, index: number): void {
  if (!(infohash instanceof Uint8Array) || infohash.length !== INFOHASH_BYTES) {
    throw new RangeError(`infohash at index ${index} is not ${INFOHASH_BYTES} bytes`);
  }
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return -1; // SQLite: no limit
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** LIKE pattern matching strings that start with `prefix` literally. */
function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class SqliteStore implements InfohashStore {
  readonly path: string;
  /** True when this open found no schema (a new or empty file). */
  readonly created: boolean;
  /** Schema version found on open (0 for a new file); see SCHEMA_VERSION for the current one. */
  readonly migratedFrom: number;
  readonly readonly: boolean;

  private readonly db: Database.Database;
  private readonly writers = new Set<BatchWriter<never, unknown>>();
  private readonly openListings = new Set<IterableIterator<unknown>>();
  private closed = false;

  // Each batch method runs inside one transaction (better-sqlite3 wraps, commits, rolls back on throw).
  private readonly recordInfohashesTx: (batch: readonly InfohashRecord[]) => RecordResult[];
  private readonly recordNodesTx: (batch: readonly NodeRecord[]) => NodeRecordResult[];
  private readonly updateScrapeTx: (rows: readonly ScrapeRecord[]) => number;
  private readonly sql: Statements;
  private readonly torrents: TorrentTables;


  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    return new SqliteStore(path, options);
  }

  /** `path` may be ':memory:' (tests). Throws StoreError with a one-line message naming the file. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    this.readonly = options.readonly ?? false;
    const inMemory = path === ':memory:' || path === '';
    const mustExist = this.readonly || (options.mustExist ?? false);
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;

    if (!inMemory) {
      if (isDirectory(path)) throw new StoreError('is_directory', path, 'is a directory, not a database file');
      if (mustExist && !existsSync(path)) throw new StoreError('missing', path, 'no such database');
      if (!mustExist) {
        try {
          mkdirSync(dirname(path), { recursive: true });
        } catch (error) {
          throw toStoreError(error, path);
        }
      }
    }

    let db: Database.Database;
    try {
      db = new (loadSqlite())(path, { readonly: this.readonly, fileMustExist: mustExist && !inMemory, timeout: busyTimeoutMs });
    } catch (error) {
      throw toStoreError(error, path);
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      // Everything that can refuse the file comes first and only reads (the first read fails on a
      // file that is not SQLite), so a refused file, another application's database included,
      // is left exactly as it was: no WAL switch, no migration.
      const found = checkSchema(db, path, this.readonly);
      if (!this.readonly) db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a power cut may lose the last commits but never corrupts the file.
      db.pragma('synchronous = NORMAL');
      db.pragma(`cache_size = -${Math.max(1, Math.floor(options.cacheSizeKiB ?? 65536))}`);
      // Random keys dirty a different index page per insert, so every batch writes hundreds of
      // pages to the WAL; checkpointing (with its fsyncs) every 1000 pages, SQLite's default,
      // more than halved the insert rate here. A larger WAL checkpoints each page once per many
      // batches; close() truncates it.
      db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(options.walAutocheckpointPages ?? 16384))}`);

      this.created = found === 0;
      this.migratedFrom = migrate(db).from;
      if (!this.readonly) probeWrite(db);

      this.sql = prepareStatements(db);
      this.torrents = new TorrentTables(db);
    } catch (error) {
      db.close();
      throw toStoreError(error, path);
    }
    this.db = db;
    this.recordInfohashesTx = db.transaction((batch: readonly InfohashRecord[]) => this.recordInfohashRows(batch));
    this.recordNodesTx = db.transaction((batch: readonly NodeRecord[]) => this.recordNodeRows(batch));
    this.updateScrapeTx = db.transaction((rows: readonly ScrapeRecord[]) => this.updateScrapeRows(rows));
  }

  /** Runs one write; a SQLite failure (full disk, I/O error) becomes a StoreWriteError naming the file. */
  private write<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw toWriteError(error, this.path);
    }
  }

  /** Schema version the database is at now. */
  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  /**
   * One transaction; the whole batch is stored or none of it. A repeat of an infohash inside the
   * batch counts as seen again (isNew false the second time).
   */
  recordInfohashes(batch: readonly InfohashRecord[]): RecordResult[] {
    batch.forEach((record, index) => checkInfohash(record.infohash, index));
    return this.write(() => this.recordInfohashesTx(batch));
  }

  recordNodes(batch: readonly NodeRecord[]): NodeRecordResult[] {
    return this.write(() => this.recordNodesTx(batch));
  }

  private recordInfohashRows(records: readonly InfohashRecord[]): RecordResult[] {
    const results: RecordResult[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const sourceId = r.sourceId ?? null;
      const sourceAddr = r.sourceAddr ?? null;
      const sourceClient = r.sourceClient ?? null;
      const sourceVersionHex = r.sourceVersionHex ?? null;
      // Insert-first: `changes` tells new from known, and the common case (a new infohash) costs
      // one statement. Measured faster than an upsert with RETURNING or a SELECT before writing.
      const isNew =
        this.sql.insertInfohash.run(r.infohash, r.seenAt, r.seenAt, sourceId, sourceAddr, sourceClient, sourceVersionHex)
          .changes === 1;
      if (!isNew) {
        this.sql.touchInfohash.run(r.seenAt, r.seenAt, sourceId, sourceAddr, sourceClient, sourceVersionHex, r.infohash);
      }
      results[i] = { infohash: r.infohash, isNew };
    }
    return results;
  }

  private recordNodeRows(records: readonly NodeRecord[]): NodeRecordResult[] {
    return records.map((r) => {
      const known = this.sql.selectNode.get(r.addr) !== undefined;
      this.sql.upsertNode.run(
        r.addr,
        r.id ?? null,
        r.versionHex ?? null,
        r.client ?? null,
        r.bep51 === undefined ? null : r.bep51 ? 1 : 0,
        r.seenAt,
        r.seenAt,
        r.sampledAt ?? null,
        r.sampleIntervalS ?? null,
        r.num ?? null,
      );
      return { addr: r.addr, isNew: !known };
    });
  }

  has(infohash: Uint8Array): boolean {
    return this.sql.selectInfohash.get(infohash) !== undefined;
  }

  /** A BatchWriter into recordInfohashes; close() of this store flushes it. */
  infohashWriter(options: WriterOptions<InfohashRecord, RecordResult[]> = {}): BatchWriter<InfohashRecord, RecordResult[]> {
    return this.register(new BatchWriter({ ...options, write: (items) => this.recordInfohashes(items) }));
  }

  /** A BatchWriter into recordNodes; close() of this store flushes it. */
  nodeWriter(options: WriterOptions<NodeRecord, NodeRecordResult[]> = {}): BatchWriter<NodeRecord, NodeRecordResult[]> {
    return this.register(new BatchWriter({ ...options, write: (items) => this.recordNodes(items) }));
  }

  private register<T, R>(writer: BatchWriter<T, R>): BatchWriter<T, R> {
    this.writers.add(writer as unknown as BatchWriter<never, unknown>);
    return writer;
  }

  saveState(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`state "${key}" is not JSON-serialisable`);
    this.write(() => this.sql.writeState.run(key, json, Date.now()));
  }

  loadState<T = unknown>(key: string): T | undefined {
    const json = this.sql.readState.get(key) as string | undefined;
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  clearState(key: string): void {
    this.write(() => this.sql.deleteState.run(key));
  }

  /** Updates rows already stored (unknown infohashes are skipped); returns how many were updated. */
  updateScrape(rows: readonly ScrapeRecord[]): number {
    rows.forEach((row, index) => checkInfohash(row.infohash, index));
    return this.write(() => this.updateScrapeTx(rows));
  }

  private updateScrapeRows(records: readonly ScrapeRecord[]): number {
    let updated = 0;
    for (const r of records) {
      updated += this.sql.writeScrape.run(r.seeders, r.leechers, r.peers, r.scrapedAt, r.infohash).changes;
    }
    return updated;
  }

  selectForScrape(selection: ScrapeSelection = {}): Uint8Array[] {
    const limit = checkLimit(selection.limit);
    if (selection.olderThanMs === undefined) return this.sql.neverScraped.all(limit) as Buffer[];
    const cutoff = (selection.now ?? Date.now()) - selection.olderThanMs;
    return this.db.transaction((): Uint8Array[] => {
      const never = this.sql.neverScraped.all(limit) as Buffer[];
      if (limit >= 0 && never.length >= limit) return never;
      const rest = limit < 0 ? -1 : limit - never.length;
      return never.concat(this.sql.staleScrapes.all(cutoff, rest) as Buffer[]);
    })();
  }

  /** Stores (or replaces) a torrent's metadata and files, in one transaction; true when new. */
  saveTorrent(record: TorrentRecord): boolean {
    checkInfohash(record.infohash, 0);
    return this.write(() => this.torrents.save(record));
  }

  /** A stored torrent with its files, or null. */
  showTorrent(infohash: Uint8Array): TorrentDetails | null {
    return this.torrents.show(infohash);
  }

  /** Infohashes of the crawl without metadata yet, oldest first. */
  missingMetadata(limit?: number): Uint8Array[] {
    return this.torrents.missingMetadata(checkLimit(limit));
  }

  /** The metadata queue (crawl --metadata): infohashes due at `now`, oldest first. */
  dueMetadata(now: number, limit: number): Uint8Array[] {
    return this.torrents.due(now, checkLimit(limit));
  }

  /** Records a failed metadata attempt: retried at `nextTry`, or given up at the `maxAttempts`th. */
  metadataFailed(infohash: Uint8Array, error: string, now: number, nextTry: number, maxAttempts: number): void {
    checkInfohash(infohash, 0);
    this.write(() => this.torrents.failed(infohash, error, now, nextTry, maxAttempts));
  }

  listTorrents(): IterableIterator<TorrentDetails> {
    const keys = this.db.prepare('SELECT infohash FROM torrents ORDER BY rowid').pluck();
    const rows = this.stream(() => keys.iterate() as IterableIterator<Buffer>);
    const torrents = this.torrents;
    // collected before the details are read: one open statement per handle at a time
    return (function* () {
      const all = [...rows];
      for (const key of all) {
        const t = torrents.show(key);
        if (t) yield t;
      }
    })();
  }

  metadataCounts(): QueueCounts {
    return this.torrents.counts();
  }

  /** Torrents whose name or file paths hold every word of `text`, best match first. */
  searchTorrents(text: string, limit?: number): SearchHit[] {
    return this.torrents.search(text, checkLimit(limit));
  }

  /**
   * Streams rows (better-sqlite3 iterate). While the iterator is open this handle cannot write;
   * finish or `return()` it first (close() ends any still open).
   */
  listInfohashes(query: InfohashQuery = {}): IterableIterator<InfohashRow> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.since !== undefined) {
      where.push('first_seen >= ?');
      params.push(query.since);
    }
    if (query.client !== undefined) {
      // LIKE is case-insensitive for ASCII, which covers client codes such as "LT" or "UT".
      where.push("source_client LIKE ? ESCAPE '\\'");
      params.push(prefixPattern(query.client));
    }
    const orderKey = query.order ?? 'first_seen';
    // Whitelisted: the column name goes into the SQL text.
    if (!Object.hasOwn(ORDER_COLUMNS, orderKey)) throw new RangeError(`unknown order ${String(orderKey)}`);
    const order = ORDER_COLUMNS[orderKey];
    const direction = query.direction === 'desc' ? 'DESC' : 'ASC';
    // Arrival order (rowid) breaks ties, so the order is total and repeatable; the first_seen
    // index holds (first_seen, rowid), so the default order needs no sort.
    const orderBy = order === 'infohash' ? `infohash ${direction}` : `${order} ${direction}, rowid ${direction}`;
    const sql = `SELECT ${ROW_COLUMNS} FROM infohashes${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${orderBy} LIMIT ?`;
    params.push(checkLimit(query.limit));
    // A statement per listing (not cached): two listings open at once cannot share one.
    const statement = this.db.prepare(sql);
    return this.stream<InfohashRow>(() => statement.iterate(...params) as IterableIterator<InfohashRow>);
  }

  /**
   * Starts the query on the first next() and remembers it until it ends, so close() can end a
   * listing left open: an unfinished one keeps the handle busy.
   */
  private stream<T>(start: () => IterableIterator<T>): IterableIterator<T> {
    const open = this.openListings;
    function* rows(): Generator<T, void, undefined> {
      const iterator = start();
      open.add(iterator);
      try {
        yield* iterator;
      } finally {
        open.delete(iterator);
      }
    }
    return rows();
  }

  stats(): StoreStats {
    // One read transaction: all figures describe the same snapshot.
    return this.db.transaction((): StoreStats => {
      const ih = this.db
        .prepare(
          `SELECT count(*) AS infohashes, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
             count(scraped_at) AS scraped FROM infohashes`,
        )
        .get() as { infohashes: number; first_seen: number | null; last_seen: number | null; scraped: number };
      const nodes = this.db
        .prepare(
          `SELECT count(*) AS nodes, coalesce(sum(bep51 = 1), 0) AS bep51_nodes,
             count(bep51) AS known FROM nodes`,
        )
        .get() as { nodes: number; bep51_nodes: number; known: number };
      const clients = this.db
        .prepare(
          `WITH per_node AS (
             SELECT client, count(*) AS nodes, coalesce(sum(bep51 = 1), 0) AS bep51_nodes FROM nodes GROUP BY client
           ), per_source AS (
             SELECT source_client AS client, count(*) AS sourced FROM infohashes GROUP BY source_client
           )
           SELECT client, sum(nodes) AS nodes, sum(bep51_nodes) AS bep51_nodes, sum(sourced) AS infohashes_sourced
           FROM (
             SELECT client, nodes, bep51_nodes, 0 AS sourced FROM per_node
             UNION ALL
             SELECT client, 0, 0, sourced FROM per_source
           )
           GROUP BY client
           ORDER BY nodes DESC, infohashes_sourced DESC, client IS NULL, client`,
        )
        .all() as ClientStats[];
      return storeStats(ih, nodes, clients);
    })();
  }

  listNodes(): IterableIterator<NodeRow> {
    const statement = this.db.prepare(
      `SELECT addr, CASE WHEN id IS NULL THEN NULL ELSE lower(hex(id)) END AS id, version_hex, client,
         CASE WHEN bep51 IS NULL THEN NULL ELSE bep51 = 1 END AS bep51, first_seen, last_seen, last_sampled, sample_interval_s, num
       FROM nodes ORDER BY addr`,
    );
    const rows = this.stream(() => statement.iterate() as IterableIterator<NodeRow & { bep51: number | null }>);
    return (function* () {
      for (const r of rows) yield { ...r, bep51: r.bep51 === null ? null : r.bep51 === 1 };
    })();
  }

  listRuns(): RunRow[] {
    return this.db.prepare('SELECT started_at, ended_at, strategy, summary FROM runs ORDER BY started_at, id').all() as RunRow[];
  }

  importInfohashes(rows: readonly InfohashRow[]): number {
    const insert = this.db.prepare(
      `INSERT INTO infohashes (infohash, first_seen, last_seen, times_seen, source_id, source_addr, source_client, source_version_hex, seeders, leechers, peers, scraped_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (infohash) DO UPDATE SET
         first_seen = min(first_seen, excluded.first_seen),
         last_seen = max(last_seen, excluded.last_seen),
         times_seen = max(times_seen, excluded.times_seen),
         source_id = coalesce(source_id, excluded.source_id),
         source_addr = coalesce(source_addr, excluded.source_addr),
         source_client = coalesce(source_client, excluded.source_client),
         source_version_hex = coalesce(source_version_hex, excluded.source_version_hex),
         seeders = CASE WHEN coalesce(excluded.scraped_at, -1) > coalesce(scraped_at, -1) THEN excluded.seeders ELSE seeders END,
         leechers = CASE WHEN coalesce(excluded.scraped_at, -1) > coalesce(scraped_at, -1) THEN excluded.leechers ELSE leechers END,
         peers = CASE WHEN coalesce(excluded.scraped_at, -1) > coalesce(scraped_at, -1) THEN excluded.peers ELSE peers END,
         scraped_at = max(coalesce(scraped_at, excluded.scraped_at), coalesce(excluded.scraped_at, scraped_at))`,
    );
    const has = this.sql.selectInfohash;
    return this.write(() =>
      this.db.transaction((): number => {
        let added = 0;
        for (const r of rows) {
          const key = Buffer.from(r.infohash, 'hex');
          if (key.length !== INFOHASH_BYTES) throw new RangeError(`infohash ${r.infohash} is not ${INFOHASH_BYTES} bytes`);
          if (has.get(key) === undefined) added++;
          insert.run(key, r.first_seen, r.last_seen, r.times_seen, r.source_id === null ? null : Buffer.from(r.source_id, 'hex'), r.source_addr, r.source_client, r.source_version_hex, r.seeders, r.leechers, r.peers, r.scraped_at);
        }
        return added;
      })(),
    );
  }

  importNodes(rows: readonly NodeRow[]): number {
    const insert = this.db.prepare(
      `INSERT INTO nodes (addr, id, version_hex, client, bep51, first_seen, last_seen, last_sampled, sample_interval_s, num)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (addr) DO UPDATE SET
         id = coalesce(id, excluded.id),
         version_hex = coalesce(version_hex, excluded.version_hex),
         client = coalesce(client, excluded.client),
         bep51 = coalesce(bep51, excluded.bep51),
         first_seen = min(first_seen, excluded.first_seen),
         last_seen = max(last_seen, excluded.last_seen),
         last_sampled = max(coalesce(last_sampled, excluded.last_sampled), coalesce(excluded.last_sampled, last_sampled)),
         sample_interval_s = coalesce(sample_interval_s, excluded.sample_interval_s),
         num = coalesce(num, excluded.num)`,
    );
    return this.write(() =>
      this.db.transaction((): number => {
        let added = 0;
        for (const r of rows) {
          if (this.sql.selectNode.get(r.addr) === undefined) added++;
          insert.run(r.addr, r.id === null ? null : Buffer.from(r.id, 'hex'), r.version_hex, r.client, r.bep51 === null ? null : r.bep51 ? 1 : 0, r.first_seen, r.last_seen, r.last_sampled, r.sample_interval_s, r.num);
        }
        return added;
      })(),
    );
  }

  importRuns(rows: readonly RunRow[]): number {
    const insert = this.db.prepare(
      `INSERT INTO runs (started_at, ended_at, strategy, summary) SELECT ?, ?, ?, ?
       WHERE NOT EXISTS (SELECT 1 FROM runs WHERE started_at = ? AND strategy = ?)`,
    );
    return this.write(() =>
      this.db.transaction((): number => {
        let added = 0;
        for (const r of rows) added += insert.run(r.started_at, r.ended_at, r.strategy, r.summary, r.started_at, r.strategy).changes;
        return added;
      })(),
    );
  }

  currentPass(ranges: number, passIntervalMs: number, now: number): PassStatus | null {
    return this.write(() => sqliteCurrentPass(this.db, ranges, passIntervalMs, now));
  }

  claimRange(owner: string, pass: number, leaseMs: number, now: number): LeaseClaim | null {
    return this.write(() => sqliteClaimRange(this.db, owner, pass, leaseMs, now));
  }

  renewLease(owner: string, pass: number, range: number, leaseMs: number, now: number): boolean {
    return this.write(() => sqliteRenewLease(this.db, owner, pass, range, leaseMs, now));
  }

  finishRange(owner: string, pass: number, range: number, now: number): boolean {
    return this.write(() => sqliteFinishRange(this.db, owner, pass, range, now));
  }

  releaseRange(owner: string, pass: number, range: number): void {
    this.write(() => sqliteReleaseRange(this.db, owner, pass, range));
  }

  passStatus(pass: number): PassStatus | null {
    return sqlitePassStatus(this.db, pass);
  }

  sampleDueTimes(idFrom: Uint8Array, idTo: Uint8Array | null, now: number): SampleDue[] {
    return sqliteSampleDueTimes(this.db, idFrom, idTo, now);
  }

  reportData(query: ReportQuery = {}): ReportData {
    return readReportData(this.db, query);
  }

  beginRun(run: RunStart): number {
    return Number(this.write(() => this.sql.insertRun.run(run.startedAt ?? Date.now(), run.strategy)).lastInsertRowid);
  }

  endRun(id: number, end: RunEnd = {}): void {
    const summary = end.summary === undefined ? null : JSON.stringify(end.summary);
    this.write(() => this.sql.finishRun.run(end.endedAt ?? Date.now(), summary ?? null, id));
  }

  lastEndedRun(strategy: string): EndedRun | null {
    return endedRun(this.sql.lastEndedRun.get(strategy) as { ended_at: number; summary: string | null } | undefined);
  }


  /**
   * Flushes this store's writers, checkpoints the WAL into the main file and closes.
   * Idempotent. The database is closed even when a flush fails; that error is then thrown.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let failure: { error: unknown } | undefined;
    for (const writer of this.writers) {
      try {
        writer.closeSync();
      } catch (error) {
        failure ??= { error };
      }
    }
    this.writers.clear();
    for (const rows of this.openListings) rows.return?.();
    this.openListings.clear();
    if (!this.readonly) {
      try {
        this.db.pragma('optimize');
        // TRUNCATE leaves a zero-length WAL; if another handle is reading, SQLite checkpoints
        // what it can and the rest waits for the next writer.
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // A busy checkpoint is not an error: the WAL stays valid and is replayed on next open.
      }
    }
    this.db.close();
    if (failure) throw failure.error;
  }
}
