// The shared crawl database: PostgreSQL, for several crawlers (on several machines) writing into
// one index. Same contract as SqliteStore (test/unit/store/contract.ts runs against both), async.
// Batches are one multi-row statement each (unnest of arrays: one round trip, one transaction).
// A lost connection is retried with backoff for a bounded time, then the write fails with a
// StoreWriteError and the crawl stops as it does on a full disk.
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { StoreError, StoreWriteError } from './errors.js';
import { MIGRATION_LOCK, PASS_LOCK, PG_MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-schema.js';
import { REPORT_FILE_TYPES, REPORT_TOP_TORRENTS, discoveryBucket } from './report-queries.js';
import { searchWords } from './search-words.js';
import { withPassword } from './pg-password.js';
import { endedRun, reportRun, storeStats, type StoredRun } from './run-rows.js';
import type {
  ClientStats,
  EndedRun,
  InfohashOrder,
  InfohashQuery,
  InfohashRecord,
  InfohashRow,
  InfohashStore,
  LeaseClaim,
  NodeRecord,
  NodeRecordResult,
  NodeRow,
  PassStatus,
  SampleDue,
  QueueCounts,
  SearchHit,
  TorrentDetails,
  TorrentRecord,
  RecordResult,
  RunRow,
  ReportData,
  ReportQuery,
  ReportSwarm,
  ReportTorrent,
  RunEnd,
  RunStart,
  ScrapeRecord,
  ScrapeSelection,
  StoreStats,
} from './types.js';

export interface PostgresStoreOptions {
  /** Reading commands: refuse a database without our schema instead of creating it. */
  mustExist?: boolean;
  readonly?: boolean;
  /** Connections in the pool (default 4: one crawler writes one batch at a time). */
  poolSize?: number;
  /** How long a write keeps retrying a lost connection before it fails (default 30 s). */
  retryForMs?: number;
  /** Connect timeout (default 10 s). */
  connectTimeoutMs?: number;
}

const ORDER_COLUMNS: Record<InfohashOrder, string> = { first_seen: 'first_seen', last_seen: 'last_seen', times_seen: 'times_seen', infohash: 'infohash' };
const PAGE = 1000;
const ROW_COLUMNS = `encode(infohash, 'hex') AS infohash, first_seen, last_seen, times_seen,
  encode(source_id, 'hex') AS source_id, source_addr, source_client, source_version_hex,
  seeders, leechers, peers, scraped_at,
  (SELECT t.name FROM torrents t WHERE t.infohash = infohashes.infohash) AS name`;

/** postgres://user:secret@host/db → postgres://user@host/db: what messages may show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString().replace(/^(postgres(?:ql)?:\/\/[^@/]*?):?@/, '$1@');
  } catch {
    return 'postgres://…';
  }
}

export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

/** Errors of the connection itself (refused, reset, server gone), as opposed to SQL errors. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code)) return true;
    // class 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now
    if (/^08/.test(e.code) || /^57P0[1-3]$/.test(e.code)) return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e?.message ?? '');
}

function openError(err: unknown, shown: string): StoreError {
  const e = err as { code?: string; message?: string };
  const message = (e?.message ?? String(err)).replace(/\s*\n\s*/g, ' ');
  if (e?.code === '28P01' || e?.code === '28000') return new StoreError('auth_failed', shown, `authentication failed (${message}); check the user and password (PGPASSWORD, ~/.pgpass work too)`);
  if (e?.code === '3D000') return new StoreError('missing', shown, `${message}; create it first (createdb)`);
  if (isConnectionError(err)) return new StoreError('unreachable', shown, `cannot connect: ${e?.code ?? message}`);
  return new StoreError('cannot_open', shown, `cannot open the database: ${message}`);
}

function bytes(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function checkInfohash(infohash: Uint8Array, index: number): void {
  if (!(infohash instanceof Uint8Array) || infohash.length !== 20) throw new RangeError(`infohash at index ${index} is not 20 bytes`);
}

function checkLimit(limit: number | undefined): number | null {
  if (limit === undefined) return null; // PostgreSQL: LIMIT NULL is no limit
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/**
 * Parameters as PostgreSQL's integer columns take them: every number this schema stores is an
 * integer (times in ms, counts), but times computed on a simulated clock can carry fractions,
 * which SQLite keeps and bigint refuses. Rounded here, the one place every statement passes.
 */
function integerParams(values: unknown[]): unknown[] {
  const fix = (v: unknown): unknown => (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Math.round(v) : v);
  return values.map((v) => (Array.isArray(v) ? v.map(fix) : fix(v)));
}

/** A statement inside a transaction: its rows. */
type Query = <R extends QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How an infohash seen again merges into its row (the store's upsert; the store bench reuses it). */
export const INFOHASH_MERGE = `ON CONFLICT (infohash) DO UPDATE SET
         first_seen = least(t.first_seen, excluded.first_seen),
         last_seen = greatest(t.last_seen, excluded.last_seen),
         times_seen = t.times_seen + excluded.times_seen,
         source_id = coalesce(t.source_id, excluded.source_id),
         source_addr = coalesce(t.source_addr, excluded.source_addr),
         source_client = coalesce(t.source_client, excluded.source_client),
         source_version_hex = coalesce(t.source_version_hex, excluded.source_version_hex)`;

/** Deadlock (40P01) or serialization failure (40001): PostgreSQL rolled the statement back. */
function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '40P01' || code === '40001';
}

const LOCK_CONFLICT_RETRIES = 5;

/** A short random wait before the next try, so two crawlers that collided do not collide again. */
const lockConflictPause = (tries: number): Promise<void> => sleep(20 + Math.random() * 80 * tries);

export class PostgresStore implements InfohashStore {
  /** The URL without its password. */
  readonly path: string;
  readonly created: boolean;
  readonly migratedFrom: number;
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    shown: string,
    migratedFrom: number,
    private readonly retryForMs: number,
  ) {
    this.path = shown;
    this.migratedFrom = migratedFrom;
    this.created = migratedFrom === 0;
  }

  /** Connects, checks the schema and migrates it (unless readonly). Throws StoreError with one line. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const shown = redactUrl(url);
    let pgModule: typeof import('pg');
    try {
      pgModule = (await import('pg')).default as unknown as typeof import('pg');
    } catch (err) {
      throw new StoreError('cannot_open', shown, `the pg package is missing: ${(err as Error).message}`);
    }
    try {
      new URL(url);
    } catch {
      throw new StoreError('bad_url', shown, 'not a valid postgres:// URL');
    }
    const config = { connectionString: await withPassword(url) };
    // bigint columns (times, counts) come back as numbers: every value we store fits in 2^53
    const types = {
      getTypeParser: (oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : pgModule.types.getTypeParser(oid, format as 'text')),
    };
    const pool = new pgModule.Pool({
      ...config,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 10_000,
      types: types as never,
      application_name: 'bitscrape',
    });
    // an idle client losing its connection is reported here; the next query reconnects
    pool.on('error', () => undefined);
    let from: number;
    try {
      from = await migrateSchema(pool, shown, Boolean(options.readonly || options.mustExist));
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err instanceof StoreError ? err : openError(err, shown);
    }
    return new PostgresStore(pool, shown, from, options.retryForMs ?? 30_000);
  }

  /** One statement with retries of a lost connection; a final failure is a StoreWriteError. */
  private async run<R extends QueryResultRow>(text: string, values: unknown[] = [], write = true): Promise<R[]> {
    if (this.closed) throw new Error('store is closed');
    const deadline = Date.now() + this.retryForMs;
    let conflicts = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.pool.query<R>(text, integerParams(values))).rows;
      } catch (err) {
        // another crawler's upsert of the same rows: the statement was rolled back, so running it
        // again is safe (rows keep arrival order, which listings break ties by, so no key order)
        if (isLockConflict(err) && conflicts < LOCK_CONFLICT_RETRIES) {
          await lockConflictPause(++conflicts);
          attempt--; // a conflict is not a lost connection: its backoff stays where it was
          continue;
        }
        if (!isConnectionError(err) || Date.now() >= deadline) {
          if (write || isConnectionError(err)) {
            const code = (err as { code?: string }).code;
            throw new StoreWriteError(this.path, code, `${isConnectionError(err) ? 'lost the connection: ' : ''}${(err as Error).message}`);
          }
          throw err;
        }
        await sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
  }

  private async read<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return this.run<R>(text, values, false);
  }

  async recordInfohashes(batch: readonly InfohashRecord[]): Promise<RecordResult[]> {
    batch.forEach((r, i) => checkInfohash(r.infohash, i));
    if (batch.length === 0) return [];
    // One row per infohash: ON CONFLICT cannot touch a row twice in one statement. A repeat in
    // the batch counts as seen again.
    const merged = new Map<string, { first: number; at: number; last: number; times: number; r: InfohashRecord }>();
    batch.forEach((r, i) => {
      const key = bytes(r.infohash).toString('hex');
      const m = merged.get(key);
      if (!m) merged.set(key, { first: r.seenAt, at: i, last: r.seenAt, times: 1, r });
      else {
        m.first = Math.min(m.first, r.seenAt);
        m.last = Math.max(m.last, r.seenAt);
        m.times++;
      }
    });
    const rows = [...merged.values()];
    const inserted = await this.run<{ infohash: string; inserted: boolean }>(
      `INSERT INTO infohashes AS t (infohash, first_seen, last_seen, times_seen, source_id, source_addr, source_client, source_version_hex)
       SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[], $6::text[], $7::text[], $8::text[])
       ${INFOHASH_MERGE}
       RETURNING encode(infohash, 'hex') AS infohash, (xmax = 0) AS inserted`,
      [
        rows.map((m) => bytes(m.r.infohash)),
        rows.map((m) => m.first),
        rows.map((m) => m.last),
        rows.map((m) => m.times),
        rows.map((m) => (m.r.sourceId ? bytes(m.r.sourceId) : null)),
        rows.map((m) => m.r.sourceAddr ?? null),
        rows.map((m) => m.r.sourceClient ?? null),
        rows.map((m) => m.r.sourceVersionHex ?? null),
      ],
    );
    const isNew = new Map(inserted.map((r) => [r.infohash, r.inserted]));
    const seen = new Set<string>();
    return batch.map((r) => {
      const key = bytes(r.infohash).toString('hex');
      const first = !seen.has(key);
      seen.add(key);
      return { infohash: r.infohash, isNew: first && isNew.get(key) === true };
    });
  }

  async recordNodes(batch: readonly NodeRecord[]): Promise<NodeRecordResult[]> {
    if (batch.length === 0) return [];
    // Merged per address the way sequential upserts would: later known fields win, times widen.
    const merged = new Map<string, NodeRecord & { firstSeen: number }>();
    for (const r of batch) {
      const m = merged.get(r.addr);
      if (!m) {
        merged.set(r.addr, { ...r, firstSeen: r.seenAt });
        continue;
      }
      const next = { ...m };
      for (const [k, v] of Object.entries(r)) if (v !== undefined && k !== 'seenAt' && k !== 'sampledAt') (next as Record<string, unknown>)[k] = v;
      next.firstSeen = Math.min(m.firstSeen, r.seenAt);
      next.seenAt = Math.max(m.seenAt, r.seenAt);
      if (r.sampledAt !== undefined) next.sampledAt = Math.max(m.sampledAt ?? r.sampledAt, r.sampledAt);
      merged.set(r.addr, next);
    }
    const rows = [...merged.values()];
    const result = await this.run<{ addr: string; inserted: boolean }>(
      `INSERT INTO nodes AS t (addr, id, version_hex, client, bep51, first_seen, last_seen, last_sampled, sample_interval_s, num)
       SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::boolean[], $6::bigint[], $7::bigint[], $8::bigint[], $9::integer[], $10::bigint[])
       ON CONFLICT (addr) DO UPDATE SET
         id = coalesce(excluded.id, t.id),
         version_hex = coalesce(excluded.version_hex, t.version_hex),
         client = coalesce(excluded.client, t.client),
         bep51 = coalesce(excluded.bep51, t.bep51),
         first_seen = least(t.first_seen, excluded.first_seen),
         last_seen = greatest(t.last_seen, excluded.last_seen),
         last_sampled = greatest(t.last_sampled, excluded.last_sampled),
         sample_interval_s = coalesce(excluded.sample_interval_s, t.sample_interval_s),
         num = coalesce(excluded.num, t.num)
       RETURNING addr, (xmax = 0) AS inserted`,
      [
        rows.map((r) => r.addr),
        rows.map((r) => (r.id ? bytes(r.id) : null)),
        rows.map((r) => r.versionHex ?? null),
        rows.map((r) => r.client ?? null),
        rows.map((r) => (r.bep51 === undefined ? null : r.bep51)),
        rows.map((r) => r.firstSeen),
        rows.map((r) => r.seenAt),
        rows.map((r) => r.sampledAt ?? null),
        rows.map((r) => r.sampleIntervalS ?? null),
        rows.map((r) => r.num ?? null),
      ],
    );
    const isNew = new Map(result.map((r) => [r.addr, r.inserted]));
    const seen = new Set<string>();
    return batch.map((r) => {
      const first = !seen.has(r.addr);
      seen.add(r.addr);
      return { addr: r.addr, isNew: first && isNew.get(r.addr) === true };
    });
  }

  async has(infohash: Uint8Array): Promise<boolean> {
    return (await this.read('SELECT 1 FROM infohashes WHERE infohash = $1', [bytes(infohash)])).length > 0;
  }

  async saveState(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`state "${key}" is not JSON-serialisable`);
    await this.run(
      `INSERT INTO crawl_state (key, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [key, json, Date.now()],
    );
  }

  async loadState<T = unknown>(key: string): Promise<T | undefined> {
    const rows = await this.read<{ value: string }>('SELECT value FROM crawl_state WHERE key = $1', [key]);
    return rows.length === 0 ? undefined : (JSON.parse(rows[0].value) as T);
  }

  async clearState(key: string): Promise<void> {
    await this.run('DELETE FROM crawl_state WHERE key = $1', [key]);
  }

  async updateScrape(rows: readonly ScrapeRecord[]): Promise<number> {
    rows.forEach((r, i) => checkInfohash(r.infohash, i));
    if (rows.length === 0) return 0;
    // the last result for an infohash wins, as with sequential updates
    const last = new Map(rows.map((r) => [bytes(r.infohash).toString('hex'), r]));
    const list = [...last.values()];
    const updated = await this.run<{ n: number }>(
      `WITH v AS (SELECT * FROM unnest($1::bytea[], $2::integer[], $3::integer[], $4::integer[], $5::bigint[]) AS v(infohash, seeders, leechers, peers, scraped_at)),
       u AS (UPDATE infohashes t SET seeders = v.seeders, leechers = v.leechers, peers = v.peers, scraped_at = v.scraped_at
             FROM v WHERE t.infohash = v.infohash RETURNING 1)
       SELECT count(*) AS n FROM u`,
      [list.map((r) => bytes(r.infohash)), list.map((r) => r.seeders), list.map((r) => r.leechers), list.map((r) => r.peers), list.map((r) => r.scrapedAt)],
    );
    return updated[0]?.n ?? 0;
  }

  async selectForScrape(selection: ScrapeSelection = {}): Promise<Uint8Array[]> {
    const limit = checkLimit(selection.limit);
    const never = (await this.read<{ infohash: Buffer }>('SELECT infohash FROM infohashes WHERE scraped_at IS NULL LIMIT $1', [limit])).map((r) => r.infohash);
    if (selection.olderThanMs === undefined || (limit !== null && never.length >= limit)) return never;
    const cutoff = (selection.now ?? Date.now()) - selection.olderThanMs;
    const rest = limit === null ? null : limit - never.length;
    const stale = await this.read<{ infohash: Buffer }>('SELECT infohash FROM infohashes WHERE scraped_at < $1 ORDER BY scraped_at LIMIT $2', [cutoff, rest]);
    return never.concat(stale.map((r) => r.infohash));
  }

  /** Pages through the table in key order (keyset pagination): no cursor held open between pages. */
  async *listInfohashes(query: InfohashQuery = {}): AsyncGenerator<InfohashRow> {
    const orderKey = query.order ?? 'first_seen';
    if (!Object.hasOwn(ORDER_COLUMNS, orderKey)) throw new RangeError(`unknown order ${String(orderKey)}`);
    const col = ORDER_COLUMNS[orderKey];
    const desc = query.direction === 'desc';
    const dir = desc ? 'DESC' : 'ASC';
    const cmp = desc ? '<' : '>';
    let remaining = checkLimit(query.limit);
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.since !== undefined) {
      values.push(query.since);
      where.push(`first_seen >= $${values.length}`);
    }
    if (query.client !== undefined) {
      values.push(`${query.client.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`source_client ILIKE $${values.length}`);
    }
    // infohash is unique by itself; other orders break ties by arrival (seq)
    const keyCols = col === 'infohash' ? ['infohash'] : [col, 'seq'];
    let after: unknown[] | null = null;
    for (;;) {
      const pageValues = [...values];
      const conds = [...where];
      if (after) {
        const params = after.map((v) => {
          pageValues.push(v);
          return `$${pageValues.length}`;
        });
        conds.push(`(${keyCols.join(', ')}) ${cmp} (${params.join(', ')})`);
      }
      const size = remaining === null ? PAGE : Math.min(PAGE, remaining);
      if (size === 0) return;
      pageValues.push(size);
      const rows = await this.read<InfohashRow & { _k1: unknown; _k2?: unknown }>(
        `SELECT ${ROW_COLUMNS}, ${keyCols.map((c, i) => `${c} AS _k${i + 1}`).join(', ')} FROM infohashes
         ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''}
         ORDER BY ${keyCols.map((c) => `${c} ${dir}`).join(', ')} LIMIT $${pageValues.length}`,
        pageValues,
      );
      for (const r of rows) {
        const { _k1, _k2, ...row } = r;
        after = keyCols.length === 1 ? [_k1] : [_k1, _k2];
        yield row as InfohashRow;
      }
      if (remaining !== null) remaining -= rows.length;
      if (rows.length < size) return;
    }
  }

  /** Several reads that must agree: one REPEATABLE READ transaction on one connection. */
  private snapshot<T>(body: (q: Query) => Promise<T>): Promise<T> {
    return this.inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', body);
  }

  /** A read-write transaction on one connection. */
  private transaction<T>(body: (q: Query) => Promise<T>): Promise<T> {
    return this.inTransaction('BEGIN', body);
  }

  /** One transaction on one pooled connection; a lost connection is a StoreWriteError. */
  private async inTransaction<T>(begin: string, body: (q: Query) => Promise<T>): Promise<T> {
    const lost = (err: unknown): StoreWriteError => new StoreWriteError(this.path, (err as { code?: string }).code, `lost the connection: ${(err as Error).message}`);
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw lost(err);
    }
    try {
      // a deadlock with another crawler rolled the whole transaction back: the body only runs
      // queries, so running it again is safe
      for (let attempt = 0; ; attempt++) {
        try {
          await client.query(begin);
          const out = await body(async (text, values = []) => (await client.query(text, integerParams(values))).rows);
          await client.query('COMMIT');
          return out;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (isLockConflict(err) && attempt < LOCK_CONFLICT_RETRIES) {
            await lockConflictPause(attempt + 1);
            continue;
          }
          throw isConnectionError(err) ? lost(err) : err;
        }
      }
    } finally {
      client.release();
    }
  }

  async stats(): Promise<StoreStats> {
    return this.snapshot(async (q) => {
      const [ih] = await q<{ infohashes: number; first_seen: number | null; last_seen: number | null; scraped: number }>(
        'SELECT count(*) AS infohashes, min(first_seen) AS first_seen, max(last_seen) AS last_seen, count(scraped_at) AS scraped FROM infohashes',
      );
      const [nodes] = await q<{ nodes: number; bep51_nodes: number; known: number }>(
        'SELECT count(*) AS nodes, count(*) FILTER (WHERE bep51) AS bep51_nodes, count(bep51) AS known FROM nodes',
      );
      const clients = await q<ClientStats>(
        `WITH per_node AS (SELECT client, count(*) AS nodes, count(*) FILTER (WHERE bep51) AS bep51_nodes FROM nodes GROUP BY client),
              per_source AS (SELECT source_client AS client, count(*) AS sourced FROM infohashes GROUP BY source_client)
         SELECT client, sum(nodes)::bigint AS nodes, sum(bep51_nodes)::bigint AS bep51_nodes, sum(sourced)::bigint AS infohashes_sourced
         FROM (SELECT client, nodes, bep51_nodes, 0::bigint AS sourced FROM per_node
               UNION ALL SELECT client, 0, 0, sourced FROM per_source) x
         GROUP BY client
         ORDER BY nodes DESC, infohashes_sourced DESC, client IS NULL, client`,
      );
      return storeStats(ih, nodes, clients);
    });
  }

  async reportData(query: ReportQuery = {}): Promise<ReportData> {
    const since = query.since ?? null;
    const from = since ?? Number.MIN_SAFE_INTEGER;
    const now = Date.now();
    return this.snapshot(async (q) => {
      const [counts] = await q<{ ih: number; nodes: number }>(
        'SELECT (SELECT count(*) FROM infohashes WHERE first_seen >= $1) AS ih, (SELECT count(*) FROM nodes WHERE last_seen >= $1) AS nodes',
        [from],
      );
      const [bep] = await q<{ known: number; supported: number }>('SELECT count(bep51) AS known, count(*) FILTER (WHERE bep51) AS supported FROM nodes WHERE last_seen >= $1', [from]);
      const clients = await q<ReportData['clients'][number]>(
        'SELECT client, count(*) AS nodes, count(*) FILTER (WHERE bep51) AS bep51_nodes FROM nodes WHERE last_seen >= $1 GROUP BY client ORDER BY nodes DESC, client IS NULL, client',
        [from],
      );
      const [span] = await q<{ lo: number | null; hi: number | null }>('SELECT min(first_seen) AS lo, max(first_seen) AS hi FROM infohashes WHERE first_seen >= $1', [from]);
      const before = since === null ? 0 : (await q<{ n: number }>('SELECT count(*) AS n FROM infohashes WHERE first_seen < $1', [since]))[0].n;
      let discovery: ReportData['discovery'] = { bucketMs: 3_600_000, buckets: [], before };
      if (span.lo !== null && span.hi !== null) {
        const bucketMs = discoveryBucket(span.hi - span.lo);
        const first = Math.floor(span.lo / bucketMs);
        const last = Math.floor(span.hi / bucketMs);
        const buckets = Array.from({ length: last - first + 1 }, (_, i) => ({ start: (first + i) * bucketMs, count: 0 }));
        const rows = await q<{ b: number; n: number }>('SELECT first_seen / $1 AS b, count(*) AS n FROM infohashes WHERE first_seen >= $2 GROUP BY b', [bucketMs, span.lo]);
        for (const r of rows) buckets[r.b - first].count += r.n;
        discovery = { bucketMs, buckets, before };
      }
      const cells = async (sql: string): Promise<number[]> => {
        const out = new Array<number>(256).fill(0);
        for (const r of await q<{ p: number | null; n: number }>(sql, [from])) if (r.p !== null) out[r.p] += r.n;
        return out;
      };
      const infohashCells = await cells('SELECT get_byte(infohash, 0) AS p, count(*) AS n FROM infohashes WHERE first_seen >= $1 GROUP BY p');
      const nodeCells = await cells(
        'SELECT get_byte(id, 0) AS p, count(*) AS n FROM nodes WHERE id IS NOT NULL AND length(id) > 0 AND last_sampled IS NOT NULL AND last_seen >= $1 GROUP BY p',
      );
      // log2 buckets in SQL: 0 for 0, else floor(log2(n)) + 1
      const hist = async (col: string): Promise<Array<{ b: number; n: number }>> =>
        q<{ b: number; n: number }>(
          `SELECT CASE WHEN coalesce(${col}, 0) <= 0 THEN 0 ELSE floor(log(2, ${col}::numeric))::int + 1 END AS b, count(*) AS n
           FROM infohashes WHERE scraped_at IS NOT NULL AND first_seen >= $1 GROUP BY b`,
          [from],
        );
      const seedRows = await hist('seeders');
      const leechRows = await hist('leechers');
      const width = Math.max(0, ...seedRows.map((r) => r.b + 1), ...leechRows.map((r) => r.b + 1));
      const seeders = new Array<number>(width).fill(0);
      const leechers = new Array<number>(width).fill(0);
      for (const r of seedRows) seeders[r.b] += r.n;
      for (const r of leechRows) leechers[r.b] += r.n;
      const scraped = seedRows.reduce((s, r) => s + r.n, 0);
      const top = await q<ReportSwarm>(
        `SELECT encode(infohash, 'hex') AS infohash, coalesce(seeders, 0) AS seeders, coalesce(leechers, 0) AS leechers, coalesce(peers, 0) AS peers, scraped_at
         FROM infohashes WHERE scraped_at IS NOT NULL AND first_seen >= $1
         ORDER BY coalesce(seeders, 0) + coalesce(leechers, 0) DESC, coalesce(peers, 0) DESC, infohash LIMIT $2`,
        [from, query.topSwarms ?? 20],
      );
      const runRows = await q<StoredRun>(
        'SELECT started_at, ended_at, strategy, summary FROM runs WHERE started_at >= $1 ORDER BY started_at DESC LIMIT 50',
        [from],
      );
      const runs = runRows.map(reportRun);
      const scope = 'FROM torrents t JOIN infohashes i ON i.infohash = t.infohash WHERE i.first_seen >= $1';
      const cols = `encode(t.infohash, 'hex') AS infohash, t.name, t.total_size, t.file_count, i.seeders, i.leechers`;
      const [totals] = await q<{ count: number; total_size: number }>(`SELECT count(*) AS count, coalesce(sum(t.total_size), 0)::bigint AS total_size ${scope}`, [from]);
      const largest = await q<ReportTorrent>(`SELECT ${cols} ${scope} ORDER BY t.total_size DESC, t.infohash LIMIT $2`, [from, REPORT_TOP_TORRENTS]);
      const bestSeeded = await q<ReportTorrent>(`SELECT ${cols} ${scope} AND i.seeders IS NOT NULL ORDER BY i.seeders DESC, i.leechers DESC, t.infohash LIMIT $2`, [from, REPORT_TOP_TORRENTS]);
      const fileTypes = await q<{ ext: string; bytes: number; files: number }>(
        `SELECT coalesce(lower(substring(f.path from '\\.([^./ ]{1,10})$')), '') AS ext, sum(f.length)::bigint AS bytes, count(*) AS files
         FROM files f JOIN infohashes i ON i.infohash = f.infohash WHERE i.first_seen >= $1
         GROUP BY 1 ORDER BY bytes DESC LIMIT $2`,
        [from, REPORT_FILE_TYPES],
      );
      return {
        torrents: { ...totals, largest, bestSeeded, fileTypes },
        generatedAt: now,
        since,
        infohashes: counts.ih,
        nodes: counts.nodes,
        discovery,
        keyspace: { infohashes: infohashCells, nodesSampled: nodeCells },
        bep51: bep,
        clients,
        swarms: { scraped, seeders, leechers, top },
        runs,
      };
    });
  }

  async *listNodes(): AsyncGenerator<NodeRow> {
    let after = '';
    for (;;) {
      const rows = await this.read<NodeRow>(
        `SELECT addr, encode(id, 'hex') AS id, version_hex, client, bep51, first_seen, last_seen, last_sampled, sample_interval_s, num
         FROM nodes WHERE addr > $1 ORDER BY addr LIMIT $2`,
        [after, PAGE],
      );
      for (const r of rows) yield r;
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1].addr;
    }
  }

  async listRuns(): Promise<RunRow[]> {
    return this.read<RunRow>('SELECT started_at, ended_at, strategy, summary FROM runs ORDER BY started_at, id');
  }

  async importInfohashes(rows: readonly InfohashRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const unique = [...new Map(rows.map((r) => [r.infohash, r])).values()];
    for (const r of unique) if (!/^[0-9a-f]{40}$/.test(r.infohash)) throw new RangeError(`infohash ${r.infohash} is not 20 bytes of hex`);
    const col = <K extends keyof InfohashRow>(k: K): Array<InfohashRow[K]> => unique.map((r) => r[k]);
    const out = await this.run<{ inserted: boolean }>(
      `INSERT INTO infohashes AS t (infohash, first_seen, last_seen, times_seen, source_id, source_addr, source_client, source_version_hex, seeders, leechers, peers, scraped_at)
       SELECT decode(h, 'hex'), f, l, n, decode(sid, 'hex'), sa, sc, sv, se, le, pe, sat
       FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::integer[], $10::integer[], $11::integer[], $12::bigint[])
         AS v(h, f, l, n, sid, sa, sc, sv, se, le, pe, sat)
       ON CONFLICT (infohash) DO UPDATE SET
         first_seen = least(t.first_seen, excluded.first_seen),
         last_seen = greatest(t.last_seen, excluded.last_seen),
         times_seen = greatest(t.times_seen, excluded.times_seen),
         source_id = coalesce(t.source_id, excluded.source_id),
         source_addr = coalesce(t.source_addr, excluded.source_addr),
         source_client = coalesce(t.source_client, excluded.source_client),
         source_version_hex = coalesce(t.source_version_hex, excluded.source_version_hex),
         seeders = CASE WHEN coalesce(excluded.scraped_at, -1) > coalesce(t.scraped_at, -1) THEN excluded.seeders ELSE t.seeders END,
         leechers = CASE WHEN coalesce(excluded.scraped_at, -1) > coalesce(t.scraped_at, -1) THEN excluded.leechers ELSE t.leechers END,
         peers = CASE WHEN coalesce(excluded.scraped_at, -1) > coalesce(t.scraped_at, -1) THEN excluded.peers ELSE t.peers END,
         scraped_at = greatest(t.scraped_at, excluded.scraped_at)
       RETURNING (xmax = 0) AS inserted`,
      [col('infohash'), col('first_seen'), col('last_seen'), col('times_seen'), col('source_id'), col('source_addr'), col('source_client'), col('source_version_hex'), col('seeders'), col('leechers'), col('peers'), col('scraped_at')],
    );
    return out.filter((r) => r.inserted).length;
  }

  async importNodes(rows: readonly NodeRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const unique = [...new Map(rows.map((r) => [r.addr, r])).values()];
    const col = <K extends keyof NodeRow>(k: K): Array<NodeRow[K]> => unique.map((r) => r[k]);
    const out = await this.run<{ inserted: boolean }>(
      `INSERT INTO nodes AS t (addr, id, version_hex, client, bep51, first_seen, last_seen, last_sampled, sample_interval_s, num)
       SELECT a, decode(i, 'hex'), vh, c, b, f, l, ls, si, n
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::bigint[], $7::bigint[], $8::bigint[], $9::integer[], $10::bigint[])
         AS v(a, i, vh, c, b, f, l, ls, si, n)
       ON CONFLICT (addr) DO UPDATE SET
         id = coalesce(t.id, excluded.id),
         version_hex = coalesce(t.version_hex, excluded.version_hex),
         client = coalesce(t.client, excluded.client),
         bep51 = coalesce(t.bep51, excluded.bep51),
         first_seen = least(t.first_seen, excluded.first_seen),
         last_seen = greatest(t.last_seen, excluded.last_seen),
         last_sampled = greatest(t.last_sampled, excluded.last_sampled),
         sample_interval_s = coalesce(t.sample_interval_s, excluded.sample_interval_s),
         num = coalesce(t.num, excluded.num)
       RETURNING (xmax = 0) AS inserted`,
      [col('addr'), col('id'), col('version_hex'), col('client'), col('bep51'), col('first_seen'), col('last_seen'), col('last_sampled'), col('sample_interval_s'), col('num')],
    );
    return out.filter((r) => r.inserted).length;
  }

  async importRuns(rows: readonly RunRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const out = await this.run<{ n: number }>(
      `WITH v AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS v(started_at, ended_at, strategy, summary)),
       i AS (INSERT INTO runs (started_at, ended_at, strategy, summary)
             SELECT DISTINCT ON (started_at, strategy) * FROM v
             WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.started_at = v.started_at AND r.strategy = v.strategy)
             RETURNING 1)
       SELECT count(*) AS n FROM i`,
      [rows.map((r) => r.started_at), rows.map((r) => r.ended_at), rows.map((r) => r.strategy), rows.map((r) => r.summary)],
    );
    return out[0]?.n ?? 0;
  }

  private static readonly PASS_COUNTS = `SELECT p.pass, p.ranges, p.started_at, p.finished_at,
      count(*) FILTER (WHERE l.state = 'pending') AS pending, count(*) FILTER (WHERE l.state = 'active') AS active,
      count(*) FILTER (WHERE l.state = 'done') AS done
    FROM passes p LEFT JOIN leases l ON l.pass = p.pass`;

  async currentPass(ranges: number, passIntervalMs: number, now: number): Promise<PassStatus | null> {
    return this.transaction(async (q) => {
      // one crawler at a time decides whether a new pass starts
      await q('SELECT pg_advisory_xact_lock($1)', [PASS_LOCK.toString()]);
      const [latest] = await q<PassStatus>(`${PostgresStore.PASS_COUNTS} WHERE p.pass = (SELECT max(pass) FROM passes) GROUP BY p.pass`);
      if (latest) {
        if (latest.done < latest.ranges) return latest;
        if (latest.finished_at === null) {
          latest.finished_at = now;
          await q('UPDATE passes SET finished_at = $1 WHERE pass = $2', [now, latest.pass]);
        }
        if (now < latest.finished_at + passIntervalMs) return null;
      }
      const pass = (latest?.pass ?? 0) + 1;
      await q('INSERT INTO passes (pass, ranges, started_at) VALUES ($1, $2, $3)', [pass, ranges, now]);
      await q("INSERT INTO leases (pass, range, state) SELECT $1, r, 'pending' FROM generate_series(0, $2 - 1) AS r", [pass, ranges]);
      return { pass, ranges, started_at: now, finished_at: null, pending: ranges, active: 0, done: 0 };
    });
  }

  async claimRange(owner: string, pass: number, leaseMs: number, now: number): Promise<LeaseClaim | null> {
    // SKIP LOCKED: crawlers claiming at once each get a different range without waiting
    const rows = await this.run<{ range: number; taken_over: boolean; ranges: number }>(
      `WITH c AS (
         SELECT range, state FROM leases
         WHERE pass = $2 AND (state = 'pending' OR (state = 'active' AND expires_at < $3))
         ORDER BY state = 'active', range LIMIT 1 FOR UPDATE SKIP LOCKED)
       UPDATE leases l SET state = 'active', owner = $1, expires_at = $3 + $4
       FROM c WHERE l.pass = $2 AND l.range = c.range
       RETURNING l.range, c.state = 'active' AS taken_over, (SELECT ranges FROM passes WHERE pass = $2) AS ranges`,
      [owner, pass, now, leaseMs],
    );
    const r = rows[0];
    return r ? { pass, range: r.range, ranges: r.ranges, takenOver: r.taken_over } : null;
  }

  async renewLease(owner: string, pass: number, range: number, leaseMs: number, now: number): Promise<boolean> {
    const rows = await this.run("UPDATE leases SET expires_at = $1 WHERE pass = $2 AND range = $3 AND owner = $4 AND state = 'active' RETURNING 1", [now + leaseMs, pass, range, owner]);
    return rows.length === 1;
  }

  async finishRange(owner: string, pass: number, range: number, now: number): Promise<boolean> {
    return this.transaction(async (q) => {
      const done = await q("UPDATE leases SET state = 'done', done_at = $1, expires_at = NULL WHERE pass = $2 AND range = $3 AND owner = $4 AND state = 'active' RETURNING 1", [now, pass, range, owner]);
      await q("UPDATE passes SET finished_at = $1 WHERE pass = $2 AND finished_at IS NULL AND NOT EXISTS (SELECT 1 FROM leases WHERE pass = $2 AND state <> 'done')", [now, pass]);
      return done.length === 1;
    });
  }

  async releaseRange(owner: string, pass: number, range: number): Promise<void> {
    await this.run("UPDATE leases SET state = 'pending', owner = NULL, expires_at = NULL WHERE pass = $1 AND range = $2 AND owner = $3 AND state = 'active'", [pass, range, owner]);
  }

  async passStatus(pass: number): Promise<PassStatus | null> {
    const [row] = await this.read<PassStatus>(`${PostgresStore.PASS_COUNTS} WHERE p.pass = $1 GROUP BY p.pass`, [pass]);
    return row ?? null;
  }

  async sampleDueTimes(idFrom: Uint8Array, idTo: Uint8Array | null, now: number): Promise<SampleDue[]> {
    return this.read<SampleDue>(
      `SELECT addr, last_sampled + sample_interval_s * 1000::bigint AS "dueAt" FROM nodes
       WHERE id >= $1 AND ($2::bytea IS NULL OR id < $2) AND last_sampled + sample_interval_s * 1000::bigint > $3`,
      [bytes(idFrom), idTo ? bytes(idTo) : null, now],
    );
  }

  // ---- torrent metadata ----

  async saveTorrent(r: TorrentRecord): Promise<boolean> {
    checkInfohash(r.infohash, 0);
    // PostgreSQL text cannot hold NUL; a name with one keeps it escaped, as other bytes are
    const text = (v: string): string => v.replace(/\0/g, '\\x00');
    const key = bytes(r.infohash);
    const paths = r.files.map((f) => text(f.path));
    return this.transaction(async (q) => {
      const [row] = await q<{ inserted: boolean }>(
        `INSERT INTO torrents AS t (infohash, name, total_size, piece_length, pieces, private, version, file_count, fetched_at, source_addr, source_client, name_words, words)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (infohash) DO UPDATE SET name = excluded.name, total_size = excluded.total_size, piece_length = excluded.piece_length,
           pieces = excluded.pieces, private = excluded.private, version = excluded.version, file_count = excluded.file_count,
           fetched_at = excluded.fetched_at, source_addr = excluded.source_addr, source_client = excluded.source_client,
           name_words = excluded.name_words, words = excluded.words
         RETURNING (xmax = 0) AS inserted`,
        [key, text(r.name), r.totalSize, r.pieceLength, r.pieces, r.private, r.version, r.files.length, r.fetchedAt, r.sourceAddr, r.sourceClient,
          searchWords(r.name), searchWords([r.name, ...r.files.map((f) => f.path)].join('\n'))],
      );
      await q('DELETE FROM files WHERE infohash = $1', [key]);
      if (r.files.length > 0) {
        await q('INSERT INTO files (infohash, idx, path, length) SELECT $1, i - 1, p, l FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS f(p, l, i)', [key, paths, r.files.map((f) => f.length)]);
      }
      await q(
        `INSERT INTO metadata_queue (infohash, state, attempts, next_try, last_error, updated_at) VALUES ($1, 'fetched', 1, NULL, NULL, $2)
         ON CONFLICT (infohash) DO UPDATE SET state = 'fetched', attempts = metadata_queue.attempts + 1, next_try = NULL, last_error = NULL, updated_at = excluded.updated_at`,
        [key, r.fetchedAt],
      );
      return row.inserted;
    });
  }

  async showTorrent(infohash: Uint8Array): Promise<TorrentDetails | null> {
    const key = bytes(infohash);
    const [t] = await this.read<Omit<TorrentDetails, 'files'>>(
      `SELECT encode(infohash, 'hex') AS infohash, name, total_size, piece_length, pieces, private, version, file_count, fetched_at, source_addr, source_client
       FROM torrents WHERE infohash = $1`,
      [key],
    );
    if (!t) return null;
    const files = await this.read<{ path: string; length: number }>('SELECT path, length FROM files WHERE infohash = $1 ORDER BY idx', [key]);
    return { ...t, files };
  }

  async missingMetadata(limit?: number): Promise<Uint8Array[]> {
    const rows = await this.read<{ infohash: Buffer }>(
      'SELECT infohash FROM infohashes i WHERE NOT EXISTS (SELECT 1 FROM torrents t WHERE t.infohash = i.infohash) ORDER BY seq LIMIT $1',
      [checkLimit(limit)],
    );
    return rows.map((r) => r.infohash);
  }

  async dueMetadata(now: number, limit: number): Promise<Uint8Array[]> {
    const rows = await this.read<{ infohash: Buffer }>(
      `SELECT i.infohash FROM infohashes i LEFT JOIN metadata_queue q ON q.infohash = i.infohash
       WHERE NOT EXISTS (SELECT 1 FROM torrents t WHERE t.infohash = i.infohash)
         AND (q.infohash IS NULL OR (q.state = 'pending' AND q.next_try <= $1))
       ORDER BY i.seq LIMIT $2`,
      [now, checkLimit(limit)],
    );
    return rows.map((r) => r.infohash);
  }

  async metadataFailed(infohash: Uint8Array, error: string, now: number, nextTry: number, maxAttempts: number): Promise<void> {
    checkInfohash(infohash, 0);
    await this.run(
      `INSERT INTO metadata_queue (infohash, state, attempts, next_try, last_error, updated_at)
       VALUES ($1, CASE WHEN $5 <= 1 THEN 'failed' ELSE 'pending' END, 1, $2, $3, $4)
       ON CONFLICT (infohash) DO UPDATE SET
         state = CASE WHEN metadata_queue.attempts + 1 >= $5 THEN 'failed' ELSE 'pending' END,
         attempts = metadata_queue.attempts + 1, next_try = $2, last_error = $3, updated_at = $4`,
      [bytes(infohash), nextTry, error.replace(/\0/g, ''), now, maxAttempts],
    );
  }

  async metadataCounts(): Promise<QueueCounts> {
    const [c] = await this.read<QueueCounts>(
      `SELECT (SELECT count(*) FROM torrents) AS fetched,
         (SELECT count(*) FROM metadata_queue WHERE state = 'failed') AS failed,
         (SELECT count(*) FROM infohashes i WHERE NOT EXISTS (SELECT 1 FROM torrents t WHERE t.infohash = i.infohash)
            AND NOT EXISTS (SELECT 1 FROM metadata_queue q WHERE q.infohash = i.infohash AND q.state = 'failed')) AS pending`,
    );
    return c;
  }

  async *listTorrents(): AsyncGenerator<TorrentDetails> {
    let after = 0;
    for (;;) {
      const page = await this.read<{ infohash: Buffer; seq: number }>('SELECT infohash, seq FROM torrents WHERE seq > $1 ORDER BY seq LIMIT $2', [after, PAGE]);
      for (const r of page) {
        const t = await this.showTorrent(r.infohash);
        if (t) yield t;
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1].seq;
    }
  }

  async searchTorrents(text: string, limit?: number): Promise<SearchHit[]> {
    const words = searchWords(text);
    if (words.length === 0) return [];
    // every word somewhere; torrents with every word in the name first (FTS5 weighs the name 10:1)
    return this.read<SearchHit>(
      `SELECT encode(infohash, 'hex') AS infohash, name, total_size, file_count FROM torrents
       WHERE words @> $1::text[] ORDER BY name_words @> $1::text[] DESC, seq LIMIT $2`,
      [words, checkLimit(limit)],
    );
  }

  async lastEndedRun(strategy: string): Promise<EndedRun | null> {
    const [row] = await this.read<{ ended_at: number; summary: string | null }>(
      'SELECT ended_at, summary FROM runs WHERE strategy = $1 AND ended_at IS NOT NULL ORDER BY id DESC LIMIT 1',
      [strategy],
    );
    return endedRun(row);
  }

  async beginRun(run: RunStart): Promise<number> {
    const rows = await this.run<{ id: number }>('INSERT INTO runs (started_at, strategy) VALUES ($1, $2) RETURNING id', [run.startedAt ?? Date.now(), run.strategy]);
    return rows[0].id;
  }

  async endRun(id: number, end: RunEnd = {}): Promise<void> {
    const summary = end.summary === undefined ? null : JSON.stringify(end.summary);
    await this.run('UPDATE runs SET ended_at = $1, summary = $2 WHERE id = $3', [end.endedAt ?? Date.now(), summary, id]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** Brings the schema up to date under the migration lock; returns the version found. */
async function migrateSchema(pool: Pool, shown: string, mustExist: boolean): Promise<number> {
  const client = await pool.connect();
  try {
    const tableExists = async (name: string): Promise<boolean> =>
      (await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name])).rows[0].ok;
    const version = async (): Promise<number | null> => {
      if (!(await tableExists('bitscrape_schema'))) return null;
      const rows = (await client.query<{ version: number }>('SELECT version FROM bitscrape_schema')).rows;
      return rows[0]?.version ?? 0;
    };
    let found = await version();
    if (found === null && (await tableExists('infohashes'))) {
      // Either a foreign database or another crawler's migration that committed between the two
      // looks: after its lock (held for the whole migration) the schema table tells which.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
      try {
        found = await version();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
      }
      if (found === null) throw new StoreError('foreign_database', shown, 'has a table named infohashes but no bitscrape schema: not a bitscrape database');
    }
    if (found !== null && found > PG_SCHEMA_VERSION) throw new StoreError('schema_too_new', shown, `schema version ${found} is newer than this bitscrape knows (${PG_SCHEMA_VERSION})`);
    if (found === null && mustExist) throw new StoreError('missing', shown, 'holds no bitscrape index yet (run a crawl into it first)');
    if (found === PG_SCHEMA_VERSION) return found;
    if (mustExist) throw new StoreError('schema_too_old', shown, `schema version ${found} is older than ${PG_SCHEMA_VERSION}; open it once for writing to upgrade`);
    // A session lock taken before the transaction begins: a transaction that started before
    // another crawler's migration committed would still see the old catalog after waiting.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await client.query('BEGIN');
      try {
        // another crawler may have migrated while we waited for the lock
        const now = (await version()) ?? 0;
        if (now === 0) await client.query('CREATE TABLE IF NOT EXISTS bitscrape_schema (version integer NOT NULL)');
        for (let v = now; v < PG_SCHEMA_VERSION; v++) await client.query(PG_MIGRATIONS[v]);
        await client.query('DELETE FROM bitscrape_schema');
        await client.query('INSERT INTO bitscrape_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
        await client.query('COMMIT');
        return found ?? 0;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
