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
  /** The torrent's name once its metadata was fetched (`metadata --db`), else null. */
  name: string | null;
}

/** A stored node as plain data (snake_case, hex, Unix ms), as `db copy` moves it. */
export interface NodeRow {
  addr: string;
  id: string | null;
  version_hex: string | null;
  client: string | null;
  bep51: boolean | null;
  first_seen: number;
  last_seen: number;
  last_sampled: number | null;
  sample_interval_s: number | null;
  num: number | null;
}

/** A crawl run as stored (summary as its JSON text). */
export interface RunRow {
  started_at: number;
  ended_at: number | null;
  strategy: string;
  summary: string | null;
}

/**
 * Keyspace leases: a pass over the keyspace is split into `ranges` equal ranges (by id prefix);
 * a crawler claims one, walks it, heartbeats its lease, and marks it done. A lease that expires
 * (its crawler died) is claimed again by another, which resumes from the range's checkpoint.
 * Times are the caller's clock (Unix ms), so simulations run on virtual time.
 */
export interface LeaseClaim {
  pass: number;
  range: number;
  ranges: number;
  /** When the claim was taken over from an expired lease (a crawler died in it). */
  takenOver: boolean;
}

export interface PassStatus {
  pass: number;
  ranges: number;
  pending: number;
  active: number;
  done: number;
  started_at: number;
  finished_at: number | null;
}

export interface LeaseStore {
  /**
   * The pass to work on: the latest one while it has ranges not done; otherwise a new one, once
   * `passIntervalMs` has gone by since the latest finished (null until then). Starting a pass is
   * race-free: crawlers that start one together get the same pass.
   */
  currentPass(ranges: number, passIntervalMs: number, now: number): Awaitable<PassStatus | null>;
  /** Claims a pending range, or one whose lease expired; null when every range is done or held. */
  claimRange(owner: string, pass: number, leaseMs: number, now: number): Awaitable<LeaseClaim | null>;
  /** Extends our lease; false when it is no longer ours (it expired and another took it). */
  renewLease(owner: string, pass: number, range: number, leaseMs: number, now: number): Awaitable<boolean>;
  /** Marks our range done; false when the lease was no longer ours. */
  finishRange(owner: string, pass: number, range: number, now: number): Awaitable<boolean>;
  /** Hands a range back unfinished (a stopped crawler), so another can take it at once. */
  releaseRange(owner: string, pass: number, range: number): Awaitable<void>;
  passStatus(pass: number): Awaitable<PassStatus | null>;
  /**
   * Nodes whose id (as last recorded) lies from `idFrom` up to `idTo` (exclusive; null: to the
   * end) and whose BEP 51 interval, from their last sample by any crawler, runs past `now`:
   * crawlers sharing a database read them when a range starts, so none samples a node another
   * sampled within its interval. The `nodes` table's last_sampled and sample_interval_s.
   */
  sampleDueTimes(idFrom: Uint8Array, idTo: Uint8Array | null, now: number): Awaitable<SampleDue[]>;
}

/** A node's endpoint and when it may be sampled again (Unix ms). */
export interface SampleDue {
  addr: string;
  dueAt: number;
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

// ---- torrent metadata (BEP 9) ----

export interface TorrentRecord {
  infohash: Uint8Array;
  name: string;
  totalSize: number;
  pieceLength: number;
  pieces: number;
  private: boolean;
  version: string;
  files: ReadonlyArray<{ path: string; length: number }>;
  /** Unix ms. */
  fetchedAt: number;
  sourceAddr: string | null;
  sourceClient: string | null;
}

/** A stored torrent as plain data (snake_case, hex, Unix ms). */
export interface TorrentRow {
  infohash: string;
  name: string;
  total_size: number;
  piece_length: number;
  pieces: number;
  private: boolean;
  version: string;
  file_count: number;
  fetched_at: number;
  source_addr: string | null;
  source_client: string | null;
}

export interface TorrentDetails extends TorrentRow {
  files: Array<{ path: string; length: number }>;
}

export interface QueueCounts {
  /** Torrents stored. */
  fetched: number;
  /** Infohashes given up on (the attempts ran out). */
  failed: number;
  /** Infohashes without metadata still to try (now or later). */
  pending: number;
}

export interface SearchHit {
  infohash: string;
  name: string;
  total_size: number;
  file_count: number;
}

export interface TorrentStore {
  /** Stores (or replaces) a torrent's metadata and files, in one transaction; true when new. */
  saveTorrent(record: TorrentRecord): Awaitable<boolean>;
  /** A stored torrent with its files, or null. */
  showTorrent(infohash: Uint8Array): Awaitable<TorrentDetails | null>;
  /** Infohashes of the crawl without metadata yet, oldest first. */
  missingMetadata(limit?: number): Awaitable<Uint8Array[]>;
  /** The metadata queue (crawl --metadata): infohashes due at `now`, oldest first. */
  dueMetadata(now: number, limit: number): Awaitable<Uint8Array[]>;
  /** Records a failed metadata attempt: retried at `nextTry`, or given up at the `maxAttempts`th. */
  metadataFailed(infohash: Uint8Array, error: string, now: number, nextTry: number, maxAttempts: number): Awaitable<void>;
  metadataCounts(): Awaitable<QueueCounts>;
  /** Every stored torrent with its files, in the order they were first stored (db copy). */
  listTorrents(): Iterable<TorrentDetails> | AsyncIterable<TorrentDetails>;
  /**
   * Torrents whose name or file paths hold every word of `text` (words: runs of letters and
   * digits, case and diacritics folded), best match first.
   */
  searchTorrents(text: string, limit?: number): Awaitable<SearchHit[]>;
}

export interface EndedRun {
  /** Unix ms. */
  endedAt: number;
  /** The summary endRun() stored, parsed (undefined when none was stored). */
  summary: unknown;
}

export interface InfohashStore extends LeaseStore, TorrentStore {

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
  /** The aggregates of `bitscrape report`, from one snapshot. */
  reportData(query?: ReportQuery): Awaitable<ReportData>;

  beginRun(run: RunStart): Awaitable<number>;
  endRun(id: number, end?: RunEnd): Awaitable<void>;
  /** The latest run of this strategy that ended, with its summary; for --resume to say why there is nothing to resume. */
  lastEndedRun(strategy: string): Awaitable<EndedRun | null>;

  /** Every stored node, by address. */
  listNodes(): Iterable<NodeRow> | AsyncIterable<NodeRow>;
  /** Every stored run, oldest first. */
  listRuns(): Awaitable<RunRow[]>;
  /**
   * Merges whole rows from another database (db copy), idempotently: a row copied twice is as if
   * copied once. Seen times widen, times_seen keeps the larger count, known fields are kept and
   * the newer scrape wins. Returns how many rows were new here.
   */
  importInfohashes(rows: readonly InfohashRow[]): Awaitable<number>;
  importNodes(rows: readonly NodeRow[]): Awaitable<number>;
  /** Adds runs not already here (same start and strategy); returns how many were added. */
  importRuns(rows: readonly RunRow[]): Awaitable<number>;

  /** Flushes what the store buffers, checkpoints and releases the database. */
  close(): Awaitable<void>;
}

/** What `bitscrape report` draws, aggregated by the store (one snapshot). */
export interface ReportQuery {
  /** Only infohashes first seen, nodes last seen and runs started at or after this Unix ms. */
  since?: number;
  /** Rows in the top-swarms table (default 20). */
  topSwarms?: number;
}

export interface ReportDiscovery {
  /** Bucket width, ms (a minute, an hour or a day: chosen from the time span). */
  bucketMs: number;
  /** Start of each bucket (Unix ms) and the infohashes first seen in it; empty buckets included. */
  buckets: Array<{ start: number; count: number }>;
  /** Infohashes first seen before the first bucket (before `since`), for the cumulative line. */
  before: number;
}

export interface ReportSwarm {
  infohash: string;
  seeders: number;
  leechers: number;
  peers: number;
  scraped_at: number;
}

export interface ReportRun {
  started_at: number;
  ended_at: number | null;
  strategy: string;
  /** The run's stored summary, parsed; null when the run did not end cleanly. */
  summary: Record<string, unknown> | null;
}

export interface ReportData {
  /** Unix ms when the snapshot was taken. */
  generatedAt: number;
  since: number | null;
  infohashes: number;
  nodes: number;
  discovery: ReportDiscovery;
  /** Per first byte of the key (256 cells): infohashes found, nodes sampled (BEP 51 answered). */
  keyspace: { infohashes: number[]; nodesSampled: number[] };
  /** Nodes whose BEP 51 support is known, and those that answered sample_infohashes. */
  bep51: { known: number; supported: number };
  /** Per client, by nodes, most first. */
  clients: Array<{ client: string | null; nodes: number; bep51_nodes: number }>;
  /** Scrape results: histograms over log2 buckets (0, 1, 2-3, 4-7, ...) and the biggest swarms. */
  swarms: { scraped: number; seeders: number[]; leechers: number[]; top: ReportSwarm[] };
  runs: ReportRun[];
  /** With metadata: counts, the largest and the best-seeded torrents, bytes per file type. */
  torrents: ReportTorrents;
}

export interface ReportTorrent {
  infohash: string;
  name: string;
  total_size: number;
  file_count: number;
  seeders: number | null;
  leechers: number | null;
}

export interface ReportTorrents {
  count: number;
  total_size: number;
  largest: ReportTorrent[];
  /** By seeders (scrape results); empty without them. */
  bestSeeded: ReportTorrent[];
  /** Extension (lowercase, '' for none), bytes and files, most bytes first (the top 15). */
  fileTypes: Array<{ ext: string; bytes: number; files: number }>;
}
