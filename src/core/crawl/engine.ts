// The crawl engine: owns the query slots, the sanitizer, dedup, storage, statistics, stop
// conditions and resume checkpoints; asks a Strategy whom to query next. It drives a DhtClient's
// Krpc engine, so the same code runs over UDP on real time and inside SimNetwork on virtual time
// (there the caller advances the clock, e.g. clock.runUntilAsync(() => done, ...)).
//
// Infohash records are emitted once their batch is committed (the database says whether it had
// each one), so everything printed is in the database even after a kill -9; without a store they
// are emitted at once.
import { randomFillSync } from 'node:crypto';
import type { DhtClient } from '../dht/dht-client.js';
import { commonPrefixBits, compareDistance, randomIdInPrefix } from '../dht/node-id.js';
import { formatEndpoint } from '../net/address.js';
import type { Clock, TimerHandle } from '../net/clock.js';
import type { KrpcEngine, QueryOutcome } from '../net/krpc-types.js';
import type { AddressPolicy } from '../net/address.js';
import { Prng } from '../net/prng.js';
import { checkResponse } from '../net/response-rules.js';
import { toHex } from '../wire/hex.js';
import type { Family, KrpcResponse, NodeInfo } from '../wire/types.js';
import { decodeVersion } from '../wire/version.js';
import { RttEstimator } from '../net/rtt-estimator.js';
import { BatchWriter } from '../store/batch-writer.js';
import { ConcurrencyWindow } from './concurrency-window.js';
import { CRAWL_DEFAULTS } from './defaults.js';
import { Checkpointer, DEFAULT_CHECKPOINT_EVERY_MS, restoreTraversal, savedState } from './checkpoint.js';
import type { InfohashRecord, InfohashStore, NodeRecord, RecordResult } from '../store/types.js';
import { EndpointMap, Key20Set } from './compact-sets.js';
import { CrawlStoreError } from './errors.js';
import { Sanitizer, type SanitizerOptions } from './sanitizer.js';
import type { CrawlNode, CrawlTask, Strategy, StrategyContext, StrategyHelpers, TaskFailure, TaskReply } from './strategy.js';
import type { CrawlInfohash, CrawlLimits, CrawlPacing, CrawlStats, CrawlSummary, CrawlWaiting, StopReason } from './types.js';

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
  /** Continue the traversal saved in the store under stateKey. */
  resume?: boolean;
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

/** Per-endpoint bookkeeping bits (EndpointMap value). */
const SEEN = 1;
const QUERIED = 2;
const ANSWERED = 4;
const ANSWERED_SAMPLE_ANY = 8;
const SAMPLE_OK = 16;
/** A query to it is on its way (late replies included): nothing else goes to it meanwhile. */
const IN_FLIGHT = 32;

/**
 * The crawl sends every query once (no retries), its lookups too: they only seed the
 * traversal, which meets a node whose answer came late again anyway.
 */
const CRAWL_LOOKUP_RETRIES = 0;

/** A query on its way; `claimed` marks the ping that checks an unexpected id, with the answer it came with. */
interface Flight {
  task: CrawlTask;
  claimed?: { answer: KrpcResponse; rttMs: number };
  /** Its slot was freed at the adaptive timeout; it still waits for a late reply. */
  stalled?: boolean;
  settled?: boolean;
}

type Failures = Record<TaskFailure, number>;

export class CrawlEngine {
  readonly strategy: Strategy;
  readonly sanitizer: Sanitizer;
  readonly family: Family;
  private readonly node: DhtClient;
  private readonly krpc: KrpcEngine;
  private readonly clock: Clock;
  private readonly opts: CrawlEngineOptions;
  private readonly concurrency: number;
  private readonly limits: CrawlLimits;
  private readonly prng: Prng;
  private readonly ctx: StrategyContext;
  private readonly wall: () => number;
  private readonly stateKey: string;

  private readonly dedup: Key20Set;
  /** Endpoint → bookkeeping bits; extra: the clock second from which it may be sampled again (0: any time). */
  private readonly book = new EndpointMap(4096);
  private readonly clients: Record<string, number> = {};
  private readonly failures: Failures = { timeout: 0, error: 0, unsupported: 0, bad_reply: 0, id_mismatch: 0, refused: 0 };
  private counts = { seen: 0, queried: 0, answered: 0, answeredSampleAny: 0, sampleOk: 0, unique: 0, stored: 0, newToDb: 0, intervalSkips: 0 };

  private infohashWriter?: BatchWriter<InfohashRecord, RecordResult[]>;
  private nodeWriter?: BatchWriter<NodeRecord, unknown>;
  private storeError: unknown;
  private checkpointer?: Checkpointer;
  private seeded = false;
  /** Waiting for the output (backpressure); the pump sends nothing meanwhile. */
  private held = false;
  /** Queries settled, for the checkpointer's "something changed". */
  private settledCount = 0;

  /** Queries holding a slot. */
  private inFlight = 0;
  /** Stalled queries still waiting for a late reply (no slot held). */
  private lingering = 0;
  private stallCount = 0;
  private lateReplies = 0;
  private readonly rtt: RttEstimator;
  private readonly window: ConcurrencyWindow;
  private readonly ratePerSec: number;
  private readonly adaptive: boolean;
  private queriesBase = 0;
  private startedAt = 0;
  private started = false;
  private strategyDone = false;
  private stopReason: StopReason | null = null;
  private finished = false;
  private pumping = false;
  private repump = false;
  private retryTimer: { at: number; handle: TimerHandle } | null = null;
  private timers: TimerHandle[] = [];
  private resolveDone!: () => void;
  private readonly done: Promise<void>;
  private resumedFrom: CrawlSummary['resumed_from'];
  /** When saveState last succeeded in this run (ISO). */
  private stateSavedAt: string | null = null;
  private readonly onAbort = (): void => this.stop('aborted');

  constructor(opts: CrawlEngineOptions) {
    this.opts = opts;
    this.node = opts.node;
    this.krpc = opts.node.engine;
    this.clock = opts.node.clock;
    this.strategy = opts.strategy;
    this.family = opts.family ?? 4;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? CRAWL_DEFAULTS.concurrency));
    const limiter = (this.krpc as { limiter?: { options: { globalRatePerSec: number } } | null }).limiter;
    this.ratePerSec = opts.ratePerSec ?? limiter?.options.globalRatePerSec ?? Infinity;
    this.adaptive = opts.adaptiveTimeout ?? true;
    const hardMs = opts.queryTimeoutMs ?? (this.krpc as { queryTimeoutMs?: number }).queryTimeoutMs ?? CRAWL_DEFAULTS.timeoutMs;
    this.rtt = new RttEstimator({ hardMs });
    // without the adaptive timeout the slots stay fixed too (the pacing before both existed)
    this.window = new ConcurrencyWindow(
      { max: this.concurrency, ratePerSec: this.ratePerSec, ...(this.adaptive ? {} : { min: this.concurrency, initial: this.concurrency }) },
      this.clock.now(),
    );
    this.limits = opts.limits ?? {};
    this.wall = opts.wallClock ?? Date.now;
    // IPv4 keeps the key it always had, so older databases resume
    this.stateKey = opts.stateKey ?? `crawl:${opts.strategy.name}${this.family === 6 ? ':v6' : ''}`;
    this.dedup = opts.shared?.dedup ?? new Key20Set(4096);
    this.prng = new Prng(opts.seed ?? randomSeed());
    const policy = opts.policy ?? (this.krpc as { policy?: AddressPolicy }).policy;
    if (opts.sanitizer instanceof Sanitizer) this.sanitizer = opts.sanitizer;
    else {
      if (!policy) throw new Error('CrawlEngine: no address policy (pass options.policy)');
      this.sanitizer = new Sanitizer({ ...(opts.sanitizer ?? {}), policy, clock: this.clock });
    }
    this.ctx = this.buildContext();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** The context handed to the strategy (exposed for tests and tools). */
  get context(): StrategyContext {
    return this.ctx;
  }

  /**
   * Runs until the pass is done or a stop condition holds. Rejects only when the store fails,
   * with a CrawlStoreError that says what was kept.
   */
  async run(): Promise<CrawlSummary> {
    if (this.started) throw new Error('CrawlEngine.run() may be called once');
    this.started = true;
    this.startedAt = this.clock.now();
    this.queriesBase = this.krpc.counters.queriesSent;
    const { store } = this.opts;
    let runId: number | undefined;
    try {
      runId = store && this.opts.recordRun !== false ? await store.beginRun({ strategy: this.strategy.name, startedAt: this.wall() }) : undefined;
    } catch (err) {
      throw this.storeFailure(err, false);
    }
    if (store) this.openWriters(store);
    if (this.opts.signal?.aborted) this.stop('aborted');
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });

    // --duration counts from the start, bootstrap included: a bootstrap that outlasts it ends the run
    if (this.limits.durationMs !== undefined) this.timers.push(this.clock.setTimeout(() => this.stop('duration'), this.limits.durationMs));

    let resumed = false;
    const seeding = (async () => {
      const below = this.opts.bootstrapBelow ?? 8;
      if (!this.stopReason && below > 0 && this.familyTableSize(below) < below) {
        await this.node.bootstrapTable({ families: [this.family], retries: CRAWL_LOOKUP_RETRIES });
      }
      if (!this.stopReason && this.opts.resume) resumed = await this.restore();
      if (!this.stopReason) {
        await this.strategy.seed(this.ctx);
        this.seeded = true;
      }
    })().catch((err: unknown) => this.log(`crawl: seeding failed: ${(err as Error).message}`));
    // a stop during the bootstrap lookup (Ctrl-C) does not wait for it to end
    await Promise.race([seeding, this.done]);

    if (store) {
      this.checkpointer = new Checkpointer({
        clock: this.clock,
        everyMs: this.opts.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS,
        mark: () => this.krpc.counters.queriesSent + this.settledCount,
        save: () => (this.finished ? Promise.resolve(false) : this.saveState()),
      });
      this.checkpointer.start();
    }
    if (this.opts.onProgress) this.armProgress(this.opts.progressEveryMs ?? 1000);

    this.pump();
    await this.done;

    for (const t of this.timers) this.clock.clearTimeout(t);
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer.handle);
    this.opts.signal?.removeEventListener('abort', this.onAbort);

    const stoppedBy: StopReason = this.stopReason ?? 'done';
    let stateSaved = false;
    if (store) {
      await this.checkpointer?.stop();
      await this.flushWriters();
      // stopped before the strategy was seeded: a saved traversal stays as it was
      if (this.storeError === undefined && this.seeded) {
        // a finished pass leaves nothing to resume; anything else can be continued
        if (stoppedBy === 'done') await store.clearState(this.stateKey);
        else stateSaved = await this.saveState();
      }
    }
    const summary: CrawlSummary = {
      ...this.stats(),
      stopped_by: stoppedBy,
      resumed,
      ...(this.resumedFrom ? { resumed_from: this.resumedFrom } : {}),
      state_saved: stateSaved,
    };
    if (store && runId !== undefined && this.storeError === undefined) {
      try {
        await store.endRun(runId, { endedAt: this.wall(), summary });
      } catch (err) {
        this.storeError ??= err;
      }
    }
    if (this.storeError !== undefined) throw this.storeFailure(this.storeError, resumed);
    return summary;
  }

  /** Stops the crawl: limits let in-flight queries finish; stop()/abort do not wait for them. */
  stop(reason: StopReason = 'stopped'): void {
    if (this.stopReason === null) this.stopReason = reason;
    if (reason === 'stopped' || reason === 'aborted' || reason === 'error') this.finish();
    else this.checkFinished();
  }

  get isFinished(): boolean {
    return this.finished;
  }

  stats(): CrawlStats {
    const c = this.counts;
    const queries = this.runQueries();
    const newOnes = this.opts.store ? c.newToDb : c.unique;
    const traversal = this.strategy.memoryBytes?.() ?? 0;
    return {
      strategy: this.strategy.name,
      nodes_seen: c.seen,
      nodes_queried: c.queried,
      nodes_answered: c.answered,
      nodes_answered_sample: c.sampleOk,
      bep51_rate: c.answeredSampleAny > 0 ? c.sampleOk / c.answeredSampleAny : null,
      clients: { ...this.clients },
      unique_infohashes: c.unique,
      new_infohashes: this.opts.store ? c.newToDb : null,
      queries_sent: queries,
      queries_per_new_infohash: newOnes > 0 ? queries / newOnes : null,
      in_flight: this.inFlight + this.lingering,
      failures: { ...this.failures },
      interval_skips: c.intervalSkips,
      sanitizer: { ...this.sanitizer.counters },
      progress: this.strategy.progress(),
      duration_ms: (this.started ? this.clock.now() - this.startedAt : 0),
      memory: {
        traversal_bytes: traversal,
        traversal_bytes_per_visited_node: c.queried > 0 ? traversal / c.queried : null,
        dedup_bytes: this.dedup.bytes,
        engine_bytes: this.book.bytes + this.sanitizer.bytes,
      },
      pacing: this.pacing(),
      waiting: this.waiting(),
    };
  }

  private waiting(): CrawlWaiting | null {
    const now = this.clock.now();
    const w = this.strategy.waitingFor?.(now) ?? null;
    if (!w) return null;
    return { for: w.reason, nodes: w.nodes, next_in_ms: w.next_at === null ? null : Math.max(0, w.next_at - now) };
  }

  /** The pacing figures now (window, adaptive timeout, round trips). */
  pacing(): CrawlPacing {
    const w = this.window.snapshot();
    const r = this.rtt.snapshot();
    return {
      rate_limit_per_s: Number.isFinite(this.ratePerSec) ? this.ratePerSec : null,
      queries_per_s: w.rate_per_s,
      window: w.window,
      window_max: w.max,
      timeout_ms: this.adaptive ? r.timeout_ms : this.rtt.hardMs,
      hard_timeout_ms: this.rtt.hardMs,
      rtt_p50_ms: r.p50_ms,
      rtt_p90_ms: r.p90_ms,
      stalled: this.stallCount,
      late_replies: this.lateReplies,
      waiting_late: this.lingering,
    };
  }

  // ---- the loop -------------------------------------------------------------------------------

  private pump(): void {
    if (this.finished) return;
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.repump = false;
        let refusedInARow = 0;
        while (this.stopReason === null && !this.strategyDone && this.inFlight < this.window.current && !this.holdForOutput()) {
          if (this.limits.maxQueries !== undefined && this.queriesForLimit() >= this.limits.maxQueries) {
            this.stop('max_queries');
            break;
          }
          const next = this.strategy.next(this.ctx);
          if ('task' in next) {
            if (this.dispatch(next.task)) refusedInARow = 0;
            else if (++refusedInARow >= 10_000) {
              // a strategy handing out only refusable tasks: give the event loop a turn
              this.armRetry(this.clock.now() + 1);
              break;
            }
            continue;
          }
          if ('wait' in next) {
            if (next.retryAt !== undefined) this.armRetry(next.retryAt);
            else if (this.inFlight + this.lingering === 0 && this.retryTimer === null) this.stop('stalled');
            break;
          }
          this.strategyDone = true;
        }
      } while (this.repump && !this.finished);
    } catch (err) {
      this.log(`crawl: strategy failed: ${(err as Error).message}`);
      this.stop('stopped');
    } finally {
      this.pumping = false;
    }
    this.checkFinished();
  }

  private checkFinished(): void {
    if (this.finished || this.pumping) return;
    if ((this.strategyDone || this.stopReason !== null) && this.inFlight + this.lingering === 0) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone();
  }

  /** True while the output is behind; resumes the pump once it has caught up. */
  private holdForOutput(): boolean {
    if (this.held) return true;
    const wait = this.opts.backpressure?.();
    if (!wait) return false;
    this.held = true;
    void wait.then(() => {
      this.held = false;
      this.pump();
    });
    return true;
  }

  private armRetry(at: number): void {
    if (this.retryTimer && this.retryTimer.at <= at) return;
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer.handle);
    const handle = this.clock.setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, Math.max(0, at - this.clock.now()));
    this.retryTimer = { at, handle };
  }

  /** Sends one task; false when the engine refused it (the strategy has been told). */
  private dispatch(task: CrawlTask): boolean {
    const n = task.node;
    const verdict = this.sanitizer.verdict(n.host, n.port);
    // one endpoint listed under two ids can reach two stripes: it is asked once at a time (a
    // second sample_infohashes before the first one's interval is known would be early)
    if (verdict !== null || n.family !== this.family || this.book.get(n.host, n.port) & IN_FLIGHT) {
      this.fail(task, 'refused');
      return false;
    }
    if (task.method === 'sample_infohashes' && this.sampleAllowedAt(n) > this.clock.now()) {
      this.counts.intervalSkips++;
      this.fail(task, 'refused');
      return false;
    }
    this.sanitizer.take(n.host, n.port);
    this.markBook(n.host, n.port, SEEN | QUERIED | IN_FLIGHT);
    this.inFlight++;
    const want = [this.family === 6 ? 'n6' : 'n4'];
    const args = { target: task.target, want };
    const flight: Flight = { task };
    this.window.onSent(this.clock.now());
    let pending: Promise<QueryOutcome>;
    try {
      pending = this.krpc.query({ host: n.host, port: n.port }, task.method, args, {
        ...(n.id ? { expectId: n.id } : {}),
        retries: 0,
        ...(this.opts.queryTimeoutMs !== undefined ? { timeoutMs: this.opts.queryTimeoutMs } : {}),
        ...this.stallOptions(flight),
      });
    } catch (err) {
      pending = Promise.resolve({ ok: false, kind: 'refused', message: String(err) });
    }
    pending.then(
      (out) => this.settle(flight, out),
      (err: unknown) => this.settle(flight, { ok: false, kind: 'refused', message: String(err) }),
    );
    return true;
  }

  /** The adaptive timeout for a query: at it, the query's slot is freed (see onStall). */
  private stallOptions(flight: Flight): { stallMs?: number; onStall?: () => void } {
    if (!this.adaptive) return {};
    return { stallMs: this.rtt.timeoutMs(), onStall: () => this.onStall(flight) };
  }

  /**
   * No reply within the adaptive timeout: probably a dead node. Its slot goes to the next
   * query; the query still waits for a late reply until the hard timeout, and one that comes is
   * used like any other (the node is not asked again).
   */
  private onStall(flight: Flight): void {
    if (flight.settled || flight.stalled) return;
    flight.stalled = true;
    this.inFlight--;
    this.lingering++;
    this.stallCount++;
    this.window.onStall(this.clock.now());
    if (this.finished) return;
    if (!flight.claimed) {
      try {
        this.strategy.onStall?.(flight.task, this.ctx);
      } catch (err) {
        this.log(`crawl: strategy failed on a stall: ${(err as Error).message}`);
        this.stop('stopped');
        return;
      }
    }
    this.pump();
  }

  private settle(flight: Flight, out: QueryOutcome): void {
    flight.settled = true;
    this.book.clearBits(flight.task.node.host, flight.task.node.port, IN_FLIGHT);
    const now = this.clock.now();
    if ('rttMs' in out && out.rttMs !== undefined) this.rtt.record(out.rttMs);
    if (flight.stalled) {
      this.lingering--;
      if (out.ok || (out.kind !== 'timeout' && out.kind !== 'refused')) this.lateReplies++;
    } else {
      this.inFlight--;
      if (out.ok || out.kind !== 'timeout') this.window.onAnswer(now);
      else this.window.onStall(now);
    }
    this.settledCount++;
    if (this.finished) return;
    try {
      this.handleOutcome(flight, out);
    } catch (err) {
      this.log(`crawl: strategy failed on a reply: ${(err as Error).message}`);
      this.stop('stopped');
    }
    this.pump();
  }

  private handleOutcome(flight: Flight, out: QueryOutcome): void {
    const { task } = flight;
    const n = task.node;
    if (flight.claimed) {
      if (out.ok) return this.useVerifiedAnswer(task, flight.claimed.answer, flight.claimed.rttMs);
      if (out.kind !== 'id_mismatch') {
        if (out.kind === 'timeout') this.sanitizer.noteTimeout(n.host, n.port);
        return this.fail(task, 'id_mismatch');
      }
    } else if (out.ok) {
      this.handleReply(task, out.msg, out.rttMs, true);
      return;
    }
    switch (out.kind) {
      case 'timeout':
        this.sanitizer.noteTimeout(n.host, n.port);
        this.node.table.onTimeout({ host: n.host, port: n.port, ...(n.id ? { id: n.id } : {}) });
        return this.fail(task, 'timeout');
      case 'error':
        if (out.code === 204) {
          this.markBook(n.host, n.port, ANSWERED | (task.method === 'sample_infohashes' ? ANSWERED_SAMPLE_ANY : 0));
          if (task.method === 'sample_infohashes') this.recordNode(n, out.msg.v, { bep51: false });
          return this.fail(task, 'unsupported');
        }
        return this.fail(task, 'error');
      case 'bad_reply': {
        const msg = out.msg;
        // libtorrent without BEP 51 answers like find_node: not a sample, but its contacts count
        if (task.method === 'sample_infohashes' && msg && msg.rawBody.samples === undefined && (msg.r.nodes || msg.r.nodes6)) {
          this.handleReply(task, msg, out.rttMs, false);
          return;
        }
        return this.fail(task, 'bad_reply');
      }
      case 'id_mismatch': {
        if (flight.claimed) {
          // the verification ping came back under yet another id: the oracle bans it
          this.sanitizer.noteMismatch(n.host, n.port, out.msg.r.id);
          return this.fail(task, 'id_mismatch');
        }
        const verdict = this.sanitizer.noteMismatch(n.host, n.port, out.msg.r.id);
        if (verdict === 'recorded' && this.stopReason === null) {
          // Once: the referrer may have attached a false id to a real node. A ping expecting the
          // id it claims tells; if it holds, the answer we already have is used.
          this.verify(task, out.msg, out.rttMs);
          return;
        }
        return this.fail(task, 'id_mismatch');
      }
      case 'refused':
        return this.fail(task, 'refused');
    }
  }

  /** Pings an endpoint that answered under an unexpected id, expecting that id. */
  private verify(task: CrawlTask, answer: KrpcResponse, rttMs: number): void {
    const n = task.node;
    const claimed = Uint8Array.from(answer.r.id);
    this.inFlight++;
    const flight: Flight = { task, claimed: { answer, rttMs } };
    this.book.addBits(n.host, n.port, IN_FLIGHT);
    this.window.onSent(this.clock.now());
    this.krpc
      .query({ host: n.host, port: n.port }, 'ping', {}, {
        expectId: claimed,
        retries: 0,
        ...(this.opts.queryTimeoutMs !== undefined ? { timeoutMs: this.opts.queryTimeoutMs } : {}),
        ...this.stallOptions(flight),
      })
      .then(
        (out) => this.settle(flight, out),
        (err: unknown) => this.settle(flight, { ok: false, kind: 'refused', message: String(err) }),
      );
  }

  /** The claimed id held: the first answer is the node's, checked as any answer would be. */
  private useVerifiedAnswer(task: CrawlTask, answer: KrpcResponse, rttMs: number): void {
    const problem = checkResponse(task.method, answer);
    if (problem === null) {
      this.handleReply(task, answer, rttMs, true);
      return;
    }
    if (task.method === 'sample_infohashes' && answer.rawBody.samples === undefined && (answer.r.nodes || answer.r.nodes6)) {
      this.handleReply(task, answer, rttMs, false);
      return;
    }
    this.fail(task, 'bad_reply');
  }

  private handleReply(task: CrawlTask, msg: KrpcResponse, rttMs: number, sampleOk: boolean): void {
    const n = task.node;
    const id = msg.r.id;
    if (!this.sanitizer.noteReply(n.host, n.port, id)) {
      this.fail(task, 'id_mismatch'); // a second different id: the oracle just banned it
      return;
    }
    const isSample = task.method === 'sample_infohashes';
    const bits = this.markBook(n.host, n.port, ANSWERED | (isSample ? ANSWERED_SAMPLE_ANY : 0) | (isSample && sampleOk ? SAMPLE_OK : 0));
    if (!(bits & ANSWERED)) {
      const client = decodeVersion(msg.v).client ?? 'unknown';
      this.clients[client] = (this.clients[client] ?? 0) + 1;
    }
    this.node.noteReply(id, { host: n.host, port: n.port }, rttMs, msg.v);

    const raw = this.family === 6 ? msg.r.nodes6 : msg.r.nodes;
    const contacts = raw ? this.sanitizer.filterContacts(raw) : [];
    for (const c of contacts) this.markBook(c.host, c.port, SEEN);

    const reply: TaskReply = { id, nodes: contacts, newSamples: 0, ...(msg.v ? { version: msg.v } : {}) };
    if (isSample && sampleOk) {
      const r = msg.r;
      const interval = r.interval ?? 0;
      const waitS = this.opts.minIntervalS ?? interval;
      // whole seconds, rounded up: never early
      this.book.setExtra(n.host, n.port, waitS > 0 ? Math.ceil(this.clock.now() / 1000 + waitS) : 0);
      reply.samples = r.samples ?? [];
      reply.num = r.num;
      reply.interval = interval;
      reply.newSamples = this.takeSamples(reply.samples, id, n, msg.v);
      this.recordNode(n, msg.v, { id, bep51: true, sampledAt: this.wall(), sampleIntervalS: interval, ...(r.num !== undefined ? { num: r.num } : {}) });
    } else {
      this.recordNode(n, msg.v, { id, ...(isSample ? { bep51: false } : {}) });
    }
    this.strategy.onReply(task, reply, this.ctx);
    if (this.limits.maxInfohashes !== undefined && this.dedup.size >= this.limits.maxInfohashes) this.stop('max_infohashes');
  }

  private fail(task: CrawlTask, failure: TaskFailure): void {
    this.failures[failure]++;
    this.strategy.onFailure(task, failure, this.ctx);
  }

  /** Marks bits for an endpoint; returns the bits it had before. Counts first sightings. */
  private markBook(host: string, port: number, bits: number): number {
    const before = this.book.addBits(host, port, bits);
    const added = bits & ~before;
    if (added === 0) return before;
    if (added & SEEN) this.counts.seen++;
    if (added & QUERIED) this.counts.queried++;
    if (added & ANSWERED) this.counts.answered++;
    if (added & ANSWERED_SAMPLE_ANY) this.counts.answeredSampleAny++;
    if (added & SAMPLE_OK) this.counts.sampleOk++;
    return before;
  }

  // ---- infohashes and nodes -------------------------------------------------------------------

  private takeSamples(samples: Uint8Array[], sourceId: Uint8Array, n: CrawlNode, v: Uint8Array | undefined): number {
    let fresh = 0;
    const limit = this.limits.maxInfohashes;
    const version = decodeVersion(v);
    const addr = formatEndpoint(n.host, n.port);
    for (const s of samples) {
      if (limit !== undefined && this.dedup.size >= limit) break;
      if (s.length !== 20 || !this.dedup.add(s)) continue;
      fresh++;
      this.counts.unique++;
      const record: InfohashRecord = {
        infohash: Uint8Array.from(s),
        seenAt: this.wall(),
        sourceId: Uint8Array.from(sourceId),
        sourceAddr: addr,
        ...(version.client ? { sourceClient: version.client } : {}),
        sourceVersionHex: version.hex,
      };
      if (this.infohashWriter) {
        try {
          this.infohashWriter.add(record);
        } catch (err) {
          this.onStoreError(err);
        }
      } else this.emit(record, false);
    }
    return fresh;
  }

  private emit(r: InfohashRecord, inDb: boolean): void {
    if (!this.opts.onInfohash) return;
    try {
      this.opts.onInfohash({
        infohash: toHex(r.infohash),
        first_seen: new Date(r.seenAt).toISOString(),
        in_db_before: inDb,
        source_id: r.sourceId ? toHex(r.sourceId) : '',
        source_addr: r.sourceAddr ?? '',
        source_client: r.sourceClient ?? null,
        source_version_hex: r.sourceVersionHex ?? '',
      });
    } catch (err) {
      this.log(`crawl: onInfohash failed: ${(err as Error).message}`);
    }
  }

  private recordNode(n: CrawlNode, v: Uint8Array | undefined, extra: Partial<NodeRecord>): void {
    if (!this.nodeWriter) return;
    const version = decodeVersion(v);
    try {
      this.nodeWriter.add({
        addr: formatEndpoint(n.host, n.port),
        seenAt: this.wall(),
        ...(version.hex ? { versionHex: version.hex } : {}),
        ...(version.client ? { client: version.client } : {}),
        ...extra,
      });
    } catch (err) {
      this.onStoreError(err);
    }
  }

  private openWriters(store: InfohashStore): void {
    const batch = this.opts.batch ?? {};
    const common = {
      clock: this.clock,
      maxItems: batch.maxItems ?? 500,
      maxDelayMs: batch.maxDelayMs ?? 250,
      onError: (err: unknown) => this.onStoreError(err),
    };
    this.infohashWriter = new BatchWriter<InfohashRecord, RecordResult[]>({
      ...common,
      write: (items) => store.recordInfohashes(items),
      onWritten: (results, items) => {
        this.counts.stored += items.length;
        for (let i = 0; i < items.length; i++) {
          const isNew = results[i]?.isNew ?? false;
          if (isNew) this.counts.newToDb++;
          this.emit(items[i], !isNew);
        }
      },
    });
    this.nodeWriter = new BatchWriter<NodeRecord, unknown>({ ...common, maxItems: 1000, maxDelayMs: 1000, write: (items) => store.recordNodes(items) });
  }

  private async flushWriters(): Promise<void> {
    try {
      await this.infohashWriter?.flush();
      await this.nodeWriter?.flush();
    } catch (err) {
      this.onStoreError(err);
    }
  }

  /** The first store failure stops the crawl; run() then rejects with it (reported once, there). */
  private onStoreError(err: unknown): void {
    if (this.storeError !== undefined) return;
    this.storeError = err;
    this.stop('error');
  }

  private storeFailure(err: unknown, resumed: boolean): CrawlStoreError {
    return new CrawlStoreError(err, { infohashes: this.counts.stored, newInfohashes: this.counts.newToDb, stateSavedAt: this.stateSavedAt, resumed });
  }

  // ---- resume ---------------------------------------------------------------------------------

  private async restore(): Promise<boolean> {
    const store = this.opts.store;
    if (!store) return false;
    const from = await restoreTraversal(store, this.stateKey, this.strategy, this.ctx, (t) => this.log(t));
    if (from) this.resumedFrom = from;
    return from !== null;
  }

  /** Flushes the batches, then saves the traversal (so the saved state never runs ahead of the data). */
  private async saveState(): Promise<boolean> {
    const store = this.opts.store;
    if (!store || !this.strategy.saveState) return false;
    await this.flushWriters();
    if (this.storeError !== undefined) return false;
    const run = { queries: this.runQueries(), unique: this.counts.unique, savedAt: this.wall() };
    const state = savedState(this.strategy, run, this.resumedFrom);
    try {
      await store.saveState(this.stateKey, state);
      this.stateSavedAt = state.saved_at;
      return true;
    } catch (err) {
      this.onStoreError(err);
      return false;
    }
  }

  private armProgress(every: number): void {
    const tick = (): void => {
      if (this.finished) return;
      try {
        this.opts.onProgress?.(this.stats());
      } catch {
        // a progress display must not stop the crawl
      }
      this.timers.push(this.clock.setTimeout(tick, every));
    };
    this.timers.push(this.clock.setTimeout(tick, every));
  }

  /** Nodes that answered a sample_infohashes at all (bep51_rate's denominator), for totals over families. */
  get sampleAnswers(): number {
    return this.counts.answeredSampleAny;
  }

  // ---- counting -------------------------------------------------------------------------------

  /** Queries this run accounts to the engine: all the Krpc engine sent, or with `shared` those to its family. */
  private runQueries(): number {
    return this.opts.shared ? this.opts.shared.queriesSent(this.family) : this.krpc.counters.queriesSent - this.queriesBase;
  }

  /** What --max-queries compares with: this run's queries, over every family when shared. */
  private queriesForLimit(): number {
    return this.opts.shared ? this.opts.shared.queriesSent() : this.runQueries();
  }

  /** Routing-table nodes of the crawl's family (a table may hold both), counted up to `enough`. */
  private familyTableSize(enough: number): number {
    const table = this.node.table;
    return table.closest(table.id, enough, (e) => e.family === this.family).length;
  }

  // ---- the strategy's view --------------------------------------------------------------------

  private sampleAllowedAt(n: CrawlNode): number {
    const at = this.book.extraOf(n.host, n.port);
    return at * 1000;
  }

  private log(text: string): void {
    this.opts.log?.(text);
  }

  private buildContext(): StrategyContext {
    const prng = this.prng;
    const randomId = (): Uint8Array => prng.bytes(20);
    const helpers: StrategyHelpers = {
      randomId,
      randomIdInPrefix: (prefix, bits) => randomIdInPrefix(prefix, bits, randomId),
      compareDistance,
      commonPrefixBits,
      toHex,
      random: () => prng.next(),
    };
    const family = this.family;
    const table = this.node.table;
    const toCrawlNode = (e: NodeInfo): CrawlNode => ({ id: Uint8Array.from(e.id), host: e.host, port: e.port, family: e.family });
    return {
      now: () => this.clock.now(),
      helpers,
      family,
      closestKnown: (target, count) =>
        table
          .closest(target, count, (e) => e.family === family && table.stateOf(e) !== 'bad' && this.sanitizer.allowed(e.host, e.port))
          .map(toCrawlNode),
      lookup: async (target) => {
        const r = await this.node.findNode(target, { families: [family], retries: CRAWL_LOOKUP_RETRIES });
        return r.closest.map(toCrawlNode);
      },
      allowed: (n) => n.family === family && this.sanitizer.allowed(n.host, n.port),
      ...(this.opts.minIntervalS !== undefined ? { minIntervalS: this.opts.minIntervalS } : {}),
      sampleAllowedAt: (n) => this.sampleAllowedAt(n),
      log: (text) => this.log(text),
      slots: () => Math.max(0, this.window.current - this.inFlight),
    };
  }
}

function randomSeed(): number {
  const b = new Uint32Array(1);
  randomFillSync(b);
  return b[0];
}
