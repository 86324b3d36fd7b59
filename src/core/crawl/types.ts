// What a crawl reports: per-infohash records as they are found, live statistics, the final
// summary. The statistics' field names follow the output conventions (snake_case, hex,
// host:port, ISO times); an infohash record is a typed value that src/output shapes.
import type { InfohashRecord } from '../store/types.js';
import type { Family } from '../wire/types.js';
import type { SanitizerCounters } from './sanitizer.js';
import type { TaskFailure } from './strategy.js';

export interface CrawlLimits {
  /** Stop after this long (engine clock ms). */
  durationMs?: number;
  /** Stop once this many queries went out (lookups and verifications included). */
  maxQueries?: number;
  /** Stop once this many distinct infohashes were found in this run. */
  maxInfohashes?: number;
}

/** One infohash new in this run, as stored (src/output/crawl-records.ts shapes it for print). */
export interface CrawlInfohash extends InfohashRecord {
  /** Whether the database had it before this run (false without a database). */
  inDbBefore: boolean;
}

export type StopReason =
  /** The strategy finished its pass. */
  | 'done'
  | 'duration'
  | 'max_queries'
  | 'max_infohashes'
  /** The AbortSignal fired (SIGINT, SIGTERM). */
  | 'aborted'
  /** stop() was called. */
  | 'stopped'
  /** The strategy waited with nothing in flight and no time to wake up at. */
  | 'stalled'
  /** The store failed; run() rejects with its error. */
  | 'error';

export interface CrawlMemory {
  /** The strategy's own estimate of its traversal state. */
  traversal_bytes: number;
  /** traversal_bytes per node queried (null before any). */
  traversal_bytes_per_visited_node: number | null;
  /** The run's infohash dedup set. */
  dedup_bytes: number;
  /** Per-node bookkeeping of the engine (statistics, intervals, sanitizer caches). */
  engine_bytes: number;
}

/** How the crawl paces itself (docs/output.md, `pacing`). */
export interface CrawlPacing {
  /** The global query rate allowed (--rate), null when unlimited. */
  rate_limit_per_s: number | null;
  /** Queries per second over the last window period. */
  queries_per_s: number;
  /** Query slots now (the concurrency window) and their bound (--concurrency). */
  window: number;
  window_max: number;
  /** The adaptive timeout now, and the hard one (--timeout), ms. */
  timeout_ms: number;
  hard_timeout_ms: number;
  /** Round trips of recent replies, ms (null before enough replies). */
  rtt_p50_ms: number | null;
  rtt_p90_ms: number | null;
  /** Queries whose slot was freed at the adaptive timeout. */
  stalled: number;
  /** Of those, answered late (before the hard timeout): used, and not asked again. */
  late_replies: number;
  /** Stalled queries still waiting for a late reply now. */
  waiting_late: number;
}

export interface CrawlStats {
  strategy: string;
  /** Distinct node addresses met (contacts in replies, seeds, queried nodes). */
  nodes_seen: number;
  nodes_queried: number;
  /** Answered any query with the id we expected. */
  nodes_answered: number;
  /** Answered sample_infohashes properly (samples, num, interval). */
  nodes_answered_sample: number;
  /** Of the nodes that answered a sample_infohashes (properly, with nodes only, or with an error): those that support it. */
  bep51_rate: number | null;
  /** Answering nodes by client version ("LT 2.0.8", "unknown"). */
  clients: Record<string, number>;
  /** Distinct infohashes found in this run. */
  unique_infohashes: number;
  /** Of those, how many the database did not have (null without a database). */
  new_infohashes: number | null;
  queries_sent: number;
  /** queries_sent per new infohash (new to the database, or to this run without one). */
  queries_per_new_infohash: number | null;
  in_flight: number;
  failures: Record<TaskFailure, number>;
  /** sample_infohashes the engine held back because the node's interval had not passed. */
  interval_skips: number;
  sanitizer: SanitizerCounters;
  /** The strategy's progress through one pass, 0..1. */
  progress: number;
  duration_ms: number;
  memory: CrawlMemory;
  pacing: CrawlPacing;
  /** What the crawl waits for while the strategy has nothing to send (after the sweep), or null. */
  waiting: CrawlWaiting | null;
}

export interface CrawlWaiting {
  /** 'bep51_interval': nodes to sample again once their BEP 51 interval has passed. */
  for: string;
  nodes: number;
  /** Until the next of them may be asked, ms (engine clock). */
  next_in_ms: number | null;
}

/** One address family's share of a crawl (BEP 32: each family is a keyspace of its own). */
export interface FamilySummary {
  stopped_by: StopReason;
  /** That family's keyspace pass, 0..1. */
  progress: number;
  nodes_seen: number;
  nodes_queried: number;
  nodes_answered: number;
  nodes_answered_sample: number;
  bep51_rate: number | null;
  /** Infohashes this family found first in the run (the families' counts add up to the run's). */
  unique_infohashes: number;
  new_infohashes: number | null;
  /** Queries to this family's addresses. */
  queries_sent: number;
  failures: Record<TaskFailure, number>;
  resumed: boolean;
  state_saved: boolean;
}

export interface CrawlSummary extends CrawlStats {
  stopped_by: StopReason;
  /** The run continued a saved traversal. */
  resumed: boolean;
  /** What the run it continued had done (when resumed). */
  resumed_from?: { queries_sent: number; unique_infohashes: number; saved_at: string };
  /** Whether traversal state was left in the store for --resume (false after a full pass). */
  state_saved: boolean;
  /** Per address family crawled ('4', '6'), from createCrawl (the engine alone does not set it). */
  by_family?: Partial<Record<`${Family}`, FamilySummary>>;
}
