// The crawl engine: the pump (asks a Strategy whom to query next, sends within the query slots,
// holds for a slow output, applies the stop conditions) and the routing of each query's outcome
// (timeouts to the sanitizer and routing table, answers and failures to the ReplyIntake, an
// unexpected id to a verification ping). It drives a DhtClient's Krpc engine,
// so the same code runs over UDP on real time and inside SimNetwork on virtual time (there the
// caller advances the clock, e.g. clock.runUntilAsync(() => done, ...)). Its parts, one job each:
// docs/architecture.md, "The crawl engine in parts".
import type { DhtClient } from '../dht/dht-client.js';
import type { Clock, TimerHandle } from '../net/clock.js';
import type { KrpcEngine, QueryOutcome } from '../net/krpc-types.js';
import type { BEncodable, Family, KrpcResponse } from '../wire/types.js';
import type { CrawlCheckpoints } from './checkpoint.js';
import type { CrawlEngineOptions } from './engine-options.js';
import { buildEngineParts } from './engine-parts.js';
import { crawlStats, crawlSummary, type CrawlTally, type ProgressTicker, type RunQueries, type StatsSources } from './crawl-stats.js';
import type { QuerySlots } from './query-slots.js';
import type { CrawlIntake } from './crawl-intake.js';
import type { CrawlRunLog } from './crawl-run-log.js';
import { type EndpointBook, IN_FLIGHT, QUERIED, SEEN } from './endpoint-book.js';
import type { IntervalBook } from './interval-book.js';
import { answersLikeFindNode, type ReplyIntake } from './reply-intake.js';
import type { Sanitizer } from './sanitizer.js';
import type { CrawlTask, Strategy, StrategyContext } from './strategy.js';
import { seedCrawl, type SeedingState } from './crawl-seeding.js';
import type { CrawlLimits, CrawlPacing, CrawlStats, CrawlSummary, StopReason } from './types.js';

/** A query on its way; `claimed` marks the ping that checks an unexpected id, with the answer it came with. */
interface Flight {
  task: CrawlTask;
  claimed?: { answer: KrpcResponse; rttMs: number };
  /** Its slot was freed at the adaptive timeout; it still waits for a late reply. */
  stalled?: boolean;
  settled?: boolean;
}

export class CrawlEngine {
  readonly strategy: Strategy;
  readonly sanitizer: Sanitizer;
  readonly family: Family;
  private readonly node: DhtClient;
  private readonly krpc: KrpcEngine;
  private readonly clock: Clock;
  private readonly opts: CrawlEngineOptions;
  private readonly limits: CrawlLimits;
  private readonly ctx: StrategyContext;

  private readonly book: EndpointBook;
  private readonly intervals: IntervalBook;
  private readonly tally: CrawlTally;
  private readonly queries: RunQueries;
  private readonly statsSources: StatsSources;
  /** Calls onProgress while the crawl runs (absent without it). */
  private readonly progress: ProgressTicker | undefined;

  private readonly intake: CrawlIntake;
  /** What happens to answers and failures: books, tally, intake, strategy. */
  private readonly replies: ReplyIntake;
  private readonly runLog: CrawlRunLog;
  /** The resume state in the store (absent without a store). */
  private readonly checkpoints: CrawlCheckpoints | undefined;
  /** Whether the strategy was seeded and a saved traversal restored. */
  private readonly seeding: SeedingState = { resumed: false, seeded: false };
  /** Waiting for the output (backpressure); the pump sends nothing meanwhile. */
  private held = false;
  /** Queries settled, for the checkpointer's "something changed". */
  private settledCount = 0;

  private readonly slots: QuerySlots;
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
  private readonly onAbort = (): void => this.stop('aborted');

  constructor(opts: CrawlEngineOptions) {
    this.opts = opts;
    this.node = opts.node;
    this.krpc = opts.node.engine;
    this.clock = opts.node.clock;
    this.strategy = opts.strategy;
    ({
      family: this.family,
      limits: this.limits,
      slots: this.slots,
      book: this.book,
      intervals: this.intervals,
      tally: this.tally,
      intake: this.intake,
      replies: this.replies,
      sanitizer: this.sanitizer,
      ctx: this.ctx,
      queries: this.queries,
      statsSources: this.statsSources,
      checkpoints: this.checkpoints,
      runLog: this.runLog,
      progress: this.progress,
    } = buildEngineParts(opts, {
      log: (text) => this.log(text),
      stop: (reason) => this.stop(reason),
      durationMs: () => (this.started ? this.clock.now() - this.startedAt : 0),
      settledCount: () => this.settledCount,
      finished: () => this.finished,
    }));
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
    this.queries.start();
    await this.runLog.begin();
    if (this.opts.store) this.intake.open(this.opts.store);
    if (this.opts.signal?.aborted) this.stop('aborted');
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });

    // --duration counts from the start, bootstrap included: a bootstrap that outlasts it ends the run
    if (this.limits.durationMs !== undefined) this.timers.push(this.clock.setTimeout(() => this.stop('duration'), this.limits.durationMs));

    const seeding = seedCrawl(
      {
        node: this.node,
        family: this.family,
        strategy: this.strategy,
        ctx: this.ctx,
        bootstrapBelow: this.opts.bootstrapBelow ?? 8,
        checkpoints: this.opts.resume ? this.checkpoints : undefined,
        stopped: () => this.stopReason !== null,
      },
      this.seeding,
    ).catch((err: unknown) => this.log(`crawl: seeding failed: ${(err as Error).message}`));
    // a stop during the bootstrap lookup (Ctrl-C) does not wait for it to end
    await Promise.race([seeding, this.done]);

    this.checkpoints?.start();
    this.progress?.start();

    this.pump();
    await this.done;

    for (const t of this.timers) this.clock.clearTimeout(t);
    this.progress?.stop();
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer.handle);
    this.opts.signal?.removeEventListener('abort', this.onAbort);

    const stoppedBy: StopReason = this.stopReason ?? 'done';
    const stateSaved = (await this.checkpoints?.close(stoppedBy, this.seeding.seeded)) ?? false;
    const summary = crawlSummary(this.stats(), { stoppedBy, resumed: this.seeding.resumed, resumedFrom: this.checkpoints?.resumedFrom, stateSaved });
    await this.runLog.end(summary);
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
    return crawlStats(this.statsSources);
  }

  /** The pacing figures now (window, adaptive timeout, round trips). */
  pacing(): CrawlPacing {
    return this.slots.pacing();
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
        while (this.stopReason === null && !this.strategyDone && this.slots.inFlight < this.slots.window.current && !this.holdForOutput()) {
          if (this.limits.maxQueries !== undefined && this.queries.forLimit() >= this.limits.maxQueries) {
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
            else if (this.slots.waiting === 0 && this.retryTimer === null) this.stop('stalled');
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
    if ((this.strategyDone || this.stopReason !== null) && this.slots.waiting === 0) this.finish();
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
    if (verdict !== null || n.family !== this.family || this.book.inFlight(n.host, n.port)) {
      this.replies.failed(task, 'refused');
      return false;
    }
    if (task.method === 'sample_infohashes' && this.intervals.allowedAt(n.host, n.port) > this.clock.now()) {
      this.tally.intervalSkips++;
      this.replies.failed(task, 'refused');
      return false;
    }
    this.sanitizer.take(n.host, n.port);
    this.book.mark(n.host, n.port, SEEN | QUERIED | IN_FLIGHT);
    const want = [this.family === 6 ? 'n6' : 'n4'];
    this.send({ task }, task.method, { target: task.target, want }, n.id);
    return true;
  }

  /** Pings an endpoint that answered under an unexpected id, expecting that id. */
  private verify(task: CrawlTask, answer: KrpcResponse, rttMs: number): void {
    const n = task.node;
    this.book.mark(n.host, n.port, IN_FLIGHT);
    this.send({ task, claimed: { answer, rttMs } }, 'ping', {}, Uint8Array.from(answer.r.id));
  }

  /**
   * Sends a flight's query in a slot, with the adaptive timeout when there is one (see onStall).
   * Every send settles once: a query that throws, or rejects, settles as refused.
   */
  private send(flight: Flight, method: string, args: { [key: string]: BEncodable }, expectId: Uint8Array | undefined): void {
    const n = flight.task.node;
    this.slots.sent(this.clock.now());
    const stallMs = this.slots.stallMs();
    let pending: Promise<QueryOutcome>;
    try {
      pending = this.krpc.query({ host: n.host, port: n.port }, method, args, {
        ...(expectId ? { expectId } : {}),
        retries: 0,
        ...(this.opts.queryTimeoutMs !== undefined ? { timeoutMs: this.opts.queryTimeoutMs } : {}),
        ...(stallMs !== undefined ? { stallMs, onStall: () => this.onStall(flight) } : {}),
      });
    } catch (err) {
      pending = Promise.resolve({ ok: false, kind: 'refused', message: String(err) });
    }
    pending.then(
      (out) => this.settle(flight, out),
      (err: unknown) => this.settle(flight, { ok: false, kind: 'refused', message: String(err) }),
    );
  }

  /**
   * No reply within the adaptive timeout: probably a dead node. Its slot goes to the next
   * query; the query still waits for a late reply until the hard timeout, and one that comes is
   * used like any other (the node is not asked again).
   */
  private onStall(flight: Flight): void {
    if (flight.settled || flight.stalled) return;
    flight.stalled = true;
    this.slots.stall(this.clock.now());
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
    this.book.settled(flight.task.node.host, flight.task.node.port);
    this.slots.settled(out, flight.stalled === true, this.clock.now());
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
      if (out.ok) return this.replies.verified(task, flight.claimed.answer, flight.claimed.rttMs);
      if (out.kind !== 'id_mismatch') {
        if (out.kind === 'timeout') this.sanitizer.noteTimeout(n.host, n.port);
        return this.replies.failed(task, 'id_mismatch');
      }
    } else if (out.ok) {
      return this.replies.answered(task, out.msg, out.rttMs, true);
    }
    switch (out.kind) {
      case 'timeout':
        this.sanitizer.noteTimeout(n.host, n.port);
        this.node.table.onTimeout({ host: n.host, port: n.port, ...(n.id ? { id: n.id } : {}) });
        return this.replies.failed(task, 'timeout');
      case 'error':
        if (out.code === 204) return this.replies.unsupported(task, out.msg.v);
        return this.replies.failed(task, 'error');
      case 'bad_reply':
        if (out.msg && answersLikeFindNode(task, out.msg)) return this.replies.answered(task, out.msg, out.rttMs, false);
        return this.replies.failed(task, 'bad_reply');
      case 'id_mismatch': {
        if (flight.claimed) {
          // the verification ping came back under yet another id: the oracle bans it
          this.sanitizer.noteMismatch(n.host, n.port, out.msg.r.id);
          return this.replies.failed(task, 'id_mismatch');
        }
        const verdict = this.sanitizer.noteMismatch(n.host, n.port, out.msg.r.id);
        if (verdict === 'recorded' && this.stopReason === null) {
          // Once: the referrer may have attached a false id to a real node. A ping expecting the
          // id it claims tells; if it holds, the answer we already have is used.
          return this.verify(task, out.msg, out.rttMs);
        }
        return this.replies.failed(task, 'id_mismatch');
      }
      case 'refused':
        return this.replies.failed(task, 'refused');
    }
  }

  /** Nodes that answered a sample_infohashes at all (bep51_rate's denominator), for totals over families. */
  get sampleAnswers(): number {
    return this.book.counts.answeredSampleAny;
  }

  private log(text: string): void {
    this.opts.log?.(text);
  }
}
