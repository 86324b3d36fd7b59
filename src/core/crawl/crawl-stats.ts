// A crawl engine's statistics: the counts it keeps beside its books (failures, clients, the
// queries of this run), the CrawlStats assembled from all its parts, the CrawlSummary that ends
// a run, and the progress ticks that report them.
import type { Clock, TimerHandle } from '../net/clock.js';
import type { KrpcEngine } from '../net/krpc-types.js';
import type { Family } from '../wire/types.js';
import { decodeVersion } from '../wire/version.js';
import type { Key20Set } from './compact-sets.js';
import type { CrawlIntake } from './crawl-intake.js';
import type { EndpointBook } from './endpoint-book.js';
import type { QuerySlots } from './query-slots.js';
import type { Sanitizer } from './sanitizer.js';
import type { Strategy, TaskFailure } from './strategy.js';
import type { SharedCrawlCounts } from './engine-options.js';
import type { CrawlStats, CrawlSummary, CrawlWaiting, StopReason } from './types.js';

/** What the engine counts outside its books and its intake. */
export class CrawlTally {
  /** Answering nodes by client version. */
  readonly clients: Record<string, number> = {};
  readonly failures: Record<TaskFailure, number> = { timeout: 0, error: 0, unsupported: 0, bad_reply: 0, id_mismatch: 0, refused: 0 };
  /** sample_infohashes held back because the node's interval had not passed. */
  intervalSkips = 0;

  /** A node answered for the first time: count its client. */
  noteClient(v: Uint8Array | undefined): void {
    const client = decodeVersion(v).client ?? 'unknown';
    this.clients[client] = (this.clients[client] ?? 0) + 1;
  }
}

/** The queries a run accounts to its engine: all its Krpc engine sent since start(), or with `shared` those to its family. */
export class RunQueries {
  private base = 0;

  constructor(
    private readonly krpc: Pick<KrpcEngine, 'counters'>,
    private readonly family: Family,
    private readonly shared: SharedCrawlCounts | undefined,
  ) {}

  /** The run starts: queries the Krpc engine sent before are not this run's. */
  start(): void {
    this.base = this.krpc.counters.queriesSent;
  }

  count(): number {
    return this.shared ? this.shared.queriesSent(this.family) : this.krpc.counters.queriesSent - this.base;
  }

  /** What --max-queries compares with: this run's queries, over every family when shared. */
  forLimit(): number {
    return this.shared ? this.shared.queriesSent() : this.count();
  }
}

/** The parts of an engine its statistics are read from; the functions give the figures of the moment. */
export interface StatsSources {
  strategy: Strategy;
  book: EndpointBook;
  intake: CrawlIntake;
  tally: CrawlTally;
  sanitizer: Sanitizer;
  dedup: Key20Set;
  /** The crawl has a store (new_infohashes means new to it). */
  database: boolean;
  slots: QuerySlots;
  now(): number;
  queries: RunQueries;
  durationMs(): number;
}

export function crawlStats(s: StatsSources): CrawlStats {
  const c = s.intake.counts;
  const b = s.book.counts;
  const queries = s.queries.count();
  const newOnes = s.database ? c.newToDb : c.unique;
  const traversal = s.strategy.memoryBytes?.() ?? 0;
  return {
    strategy: s.strategy.name,
    nodes_seen: b.seen,
    nodes_queried: b.queried,
    nodes_answered: b.answered,
    nodes_answered_sample: b.sampleOk,
    bep51_rate: b.answeredSampleAny > 0 ? b.sampleOk / b.answeredSampleAny : null,
    clients: { ...s.tally.clients },
    unique_infohashes: c.unique,
    new_infohashes: s.database ? c.newToDb : null,
    queries_sent: queries,
    queries_per_new_infohash: newOnes > 0 ? queries / newOnes : null,
    in_flight: s.slots.waiting,
    failures: { ...s.tally.failures },
    interval_skips: s.tally.intervalSkips,
    sanitizer: { ...s.sanitizer.counters },
    progress: s.strategy.progress(),
    duration_ms: s.durationMs(),
    memory: {
      traversal_bytes: traversal,
      traversal_bytes_per_visited_node: b.queried > 0 ? traversal / b.queried : null,
      dedup_bytes: s.dedup.bytes,
      engine_bytes: s.book.bytes + s.sanitizer.bytes,
    },
    pacing: s.slots.pacing(),
    waiting: waiting(s),
  };
}

/** How a run ended, beside its statistics. */
export interface RunEnding {
  stoppedBy: StopReason;
  resumed: boolean;
  resumedFrom: CrawlSummary['resumed_from'];
  stateSaved: boolean;
}

export function crawlSummary(stats: CrawlStats, end: RunEnding): CrawlSummary {
  return {
    ...stats,
    stopped_by: end.stoppedBy,
    resumed: end.resumed,
    ...(end.resumedFrom ? { resumed_from: end.resumedFrom } : {}),
    state_saved: end.stateSaved,
  };
}

function waiting(s: StatsSources): CrawlWaiting | null {
  const now = s.now();
  const w = s.strategy.waitingFor?.(now) ?? null;
  if (!w) return null;
  return { for: w.reason, nodes: w.nodes, next_in_ms: w.next_at === null ? null : Math.max(0, w.next_at - now) };
}

/** Calls `report` every `everyMs` of engine clock until stopped. */
export class ProgressTicker {
  private handle: TimerHandle | null = null;

  constructor(
    private readonly clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
    private readonly everyMs: number,
    private readonly report: () => void,
  ) {}

  start(): void {
    this.handle = this.clock.setTimeout(() => this.tick(), this.everyMs);
  }

  stop(): void {
    if (this.handle) this.clock.clearTimeout(this.handle);
    this.handle = null;
  }

  private tick(): void {
    try {
      this.report();
    } catch {
      // a progress display must not stop the crawl
    }
    this.start();
  }
}
