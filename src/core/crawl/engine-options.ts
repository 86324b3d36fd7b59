// What a crawl engine is given: its DHT client and strategy, limits, pacing, store, callbacks.
import type { DhtClient } from '../dht/dht-client.js';
import type { AddressPolicy } from '../net/address.js';
import type { Family } from '../wire/types.js';
import type { InfohashStore, SampleDue } from '../store/types.js';
import type { Key20Set } from './compact-sets.js';
import type { Sanitizer, SanitizerOptions } from './sanitizer.js';
import type { Strategy } from './strategy.js';
import type { CrawlInfohash, CrawlLimits, CrawlStats } from './types.js';

export interface CrawlEngineOptions {
  /** The DHT client: its Krpc engine sends, its routing table seeds, its lookups serve ctx.lookup. */
  node: DhtClient;
  strategy: Strategy;
  /** Address family of the crawl (default 4). */
  family?: Family;
  /**
   * Set when engines of several families crawl in one run (families.ts): they share the infohash
   * dedup set, and the limits apply to the whole run's counts. Each engine then reports the
   * queries sent to its own family's addresses.
   */
  shared?: SharedCrawlCounts;
  /** Record the run in the store's run log (default true; a multi-family run records one). */
  recordRun?: boolean;
  /** Where infohashes and nodes go; absent = stream only (--no-db). */
  store?: InfohashStore;
  /** Queries in flight at most: the bound of the concurrency window (default CRAWL_DEFAULTS.concurrency). */
  concurrency?: number;
  /**
   * The global query rate the window aims at, per second (default: the Krpc engine's rate
   * limiter's, unlimited without one). The limiter enforces it; the window only sizes the slots.
   */
  ratePerSec?: number;
  /** Free a slot at the adaptive timeout from measured round trips (default true); false: at the hard timeout, with a fixed number of slots. */
  adaptiveTimeout?: boolean;
  limits?: CrawlLimits;
  /** Per-node BEP 51 interval override in seconds (--min-interval), replacing what nodes ask for. */
  minIntervalS?: number;
  /** Nodes other crawlers sampled (shared through the database under leases): no sample before dueAt (wall ms). */
  sampleDue?: readonly SampleDue[];
  /** Stops the crawl (SIGINT/SIGTERM): in-flight queries are abandoned, state is saved. */
  signal?: AbortSignal;
  /** Each infohash new in this run, once stored (or at once without a store). */
  onInfohash?(record: CrawlInfohash): void;
  /** Called every progressEveryMs of engine clock with the current statistics. */
  onProgress?(stats: CrawlStats): void;
  progressEveryMs?: number;
  /** Progress lines from the strategy and the engine. */
  log?(text: string): void;
  /** Sanitizer settings (policy and clock come from the node), or a ready Sanitizer. */
  sanitizer?: Sanitizer | Partial<Omit<SanitizerOptions, 'policy' | 'clock'>>;
  /** Address policy for the sanitizer (default: the Krpc engine's, else a permissive-for-sim one is an error). */
  policy?: AddressPolicy;
  /** Seed for the strategy helpers' PRNG (deterministic runs); default random. */
  seed?: number;
  /** Per-query timeout (default: the Krpc engine's). */
  queryTimeoutMs?: number;
  /**
   * Continue the traversal saved in the store under stateKey. 'if-saved' (a leased range) starts a
   * fresh walk without a word when nothing is saved: most ranges are new, and the lease says so.
   */
  resume?: boolean | 'if-saved';
  /** Store key of the saved state (default 'crawl:<strategy name>', plus ':v6' for IPv6). */
  stateKey?: string;
  /** Save the traversal state this often when it has changed (engine clock ms; default 5 s; 0 never). */
  checkpointEveryMs?: number;
  /**
   * Output backpressure: while it returns a promise (a slow stdout reader), no new query is sent;
   * queries in flight finish and their records are still delivered. The promise must not reject.
   */
  backpressure?(): Promise<void> | null;
  /** Infohash batches: flush at this many records or this long after the first (default 500 / 250 ms). */
  batch?: { maxItems?: number; maxDelayMs?: number };
  /** Fill the routing table first when it holds fewer than this many nodes (default 8; 0 never). */
  bootstrapBelow?: number;
  /** Wall clock for records and the database, Unix ms (default Date.now). */
  wallClock?: () => number;
}

export interface SharedCrawlCounts {
  /** Infohashes found in this run, over every family. */
  dedup: Key20Set;
  /** Queries the run has sent: to one family's addresses, or over every family (what --max-queries counts). */
  queriesSent(family?: Family): number;
}
