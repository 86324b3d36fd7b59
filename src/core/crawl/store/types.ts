// The crawl database contract. SQLite is the embedded implementation; the interface exists so a
// shared server database (PostgreSQL, many crawlers on keyspace shards) can be added later.
//
// Methods return `Awaitable<T>`: the SQLite store answers synchronously, a network database will
// answer with promises. Code written against `InfohashStore` therefore always `await`s (and uses
// `for await` on listings, which also accepts plain iterables); code holding a `SqliteStore`
// gets the synchronous types.
//
// Times stored here (seen, sampled, scraped, run start/end) are wall-clock Unix milliseconds
// (Date.now()), not the monotonic engine Clock.

export type Awaitable<T> = T | Promise<T>;

/** One sighting of an infohash (e.g. a sample_infohashes answer). */
export interface InfohashRecord {
  /** 20 bytes. */
  infohash: Uint8Array;
  /** Unix ms. */
  seenAt: number;
  /** Node id of the node that gave it to us (20 bytes). */
  sourceId?: Uint8Array;
  /** "host:port" / "[v6]:port" of that node. */
  sourceAddr?: string;
  /** Decoded client version of that node, e.g. "LT 2.0.8". */
  sourceClient?: string;
  /** That node's raw `v`, lowercase hex. */
  sourceVersionHex?: string;
}

export interface RecordResult {
  /** The same object the caller passed in. */
  infohash: Uint8Array;
  /** False when the database already had the infohash (also for a repeat later in the same batch). */
  isNew: boolean;
}

/** What we learnt about a node. Absent fields leave what the database already knows unchanged. */
export interface NodeRecord {
  /** "host:port" / "[v6]:port"; the key. */
  addr: string;
  /** Unix ms. */
  seenAt: number;
  id?: Uint8Array;
  versionHex?: string;
  client?: string;
  /** Whether it answers sample_infohashes (BEP 51); absent when not tried. */
  bep51?: boolean;
  /** Unix ms of our last sample_infohashes to it. */
  sampledAt?: number;
  /** The `interval` it asked for, seconds. */
  sampleIntervalS?: number;
  /** The `num` it reported (infohashes it stores). */
  num?: number;
}

export interface NodeRecordResult {
  addr: string;
  isNew: boolean;
}

export interface ScrapeRecord {
  infohash: Uint8Array;
  seeders: number;
  leechers: number;
  peers: number;
  /** Unix ms. */
  scrapedAt: number;
}

export interface ScrapeSelection {
  /** Also pick infohashes whose last scrape is older than this many ms; without it, only never-scraped ones. */
  olderThanMs?: number;
  limit?: number;
  /** Unix ms "now" for olderThanMs (default Date.now()). */
  now?: number;
}

export type InfohashOrder = 'first_seen' | 'last_seen' | 'times_seen' | 'infohash';

export interface InfohashQuery {
  /** Only infohashes first seen at or after this Unix ms. */
  since?: number;
  limit?: number;
  /** Prefix of source_client, case-insensitive ("LT" matches "LT 2.0.8" and "lt 1.2"). */
  client?: string;
  /** Default 'first_seen'. */
  order?: InfohashOrder;
  /** Default 'asc'. */
  direction?: 'asc' | 'desc';
}

/** A stored infohash as plain data, ready for NDJSON (snake_case, hex, times in Unix ms). */
export interface InfohashRow {
  infohash: string;
  first_seen: number;
  last_seen: number;
  times_seen: number;
  source_id: string | null;
  source_addr: string | null;
  source_client: string | null;
  source_version_hex: string | null;
  seeders: number | null;
  leechers: number | null;
  peers: number | null;
  scraped_at: number | null;
}

export interface ClientStats {
  /** Decoded client string as stored; null when unknown. */
  client: string | null;
  nodes: number;
  bep51_nodes: number;
  /** Infohashes whose first source was a node of this client. */
  infohashes_sourced: number;
}

export interface StoreStats {
  infohashes: number;
  nodes: number;
  bep51_nodes: number;
  /** bep51_nodes / nodes whose BEP 51 support is known; null when none is known. */
  bep51_rate: number | null;
  /** Earliest first_seen / latest last_seen over infohashes, Unix ms; null when empty. */
  first_seen: number | null;
  last_seen: number | null;
  /** Infohashes with a scrape result. */
  scraped: number;
  /** Sorted by nodes, then infohashes_sourced, descending; unknown client last among equals. */
  clients: ClientStats[];
}

export interface RunStart {
  strategy: string;
  /** Unix ms (default Date.now()). */
  startedAt?: number;
}

export interface RunEnd {
  /** Unix ms (default Date.now()). */
  endedAt?: number;
  /** Any JSON-serialisable summary of the run. */
  summary?: unknown;
}

export interface EndedRun {
  /** Unix ms. */
  endedAt: number;
  /** The summary endRun() stored, parsed (undefined when none was stored). */
  summary: unknown;
}

export interface InfohashStore {
  /** Upserts a batch in one transaction; all or nothing. */
  recordInfohashes(batch: readonly InfohashRecord[]): Awaitable<RecordResult[]>;
  /** Upserts a batch of nodes in one transaction; all or nothing. */
  recordNodes(batch: readonly NodeRecord[]): Awaitable<NodeRecordResult[]>;
  has(infohash: Uint8Array): Awaitable<boolean>;

  /** Resume state: any JSON-serialisable value under a key. */
  saveState(key: string, value: unknown): Awaitable<void>;
  loadState<T = unknown>(key: string): Awaitable<T | undefined>;
  clearState(key: string): Awaitable<void>;

  /** Writes scrape results for infohashes already stored; returns how many rows were updated. */
  updateScrape(rows: readonly ScrapeRecord[]): Awaitable<number>;
  /** Never-scraped infohashes first, then the stalest scrapes. */
  selectForScrape(selection?: ScrapeSelection): Awaitable<Uint8Array[]>;

  listInfohashes(query?: InfohashQuery): Iterable<InfohashRow> | AsyncIterable<InfohashRow>;
  stats(): Awaitable<StoreStats>;

  beginRun(run: RunStart): Awaitable<number>;
  endRun(id: number, end?: RunEnd): Awaitable<void>;
  /** The latest run of this strategy that ended, with its summary; for --resume to say why there is nothing to resume. */
  lastEndedRun?(strategy: string): Awaitable<EndedRun | null>;

  /** Flushes what the store buffers, checkpoints and releases the database. */
  close(): Awaitable<void>;
}
