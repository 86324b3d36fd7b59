// The crawl engine's parts, built from its options: query slots, books, intake, reply intake,
// sanitizer, strategy context, resume checkpoints, run log, query count and the sources of its
// statistics. The parts ask the engine a few things back (EngineHooks); the engine keeps the
// pump and the routing.
import type { AddressPolicy } from '../net/address.js';
import { Prng } from '../net/prng.js';
import type { Family } from '../wire/types.js';
import { CRAWL_DEFAULTS } from './defaults.js';
import { CrawlCheckpoints, DEFAULT_CHECKPOINT_EVERY_MS, defaultStateKey } from './checkpoint.js';
import { Key20Set } from './compact-sets.js';
import type { CrawlEngineOptions } from './engine-options.js';
import { CrawlTally, ProgressTicker, RunQueries, crawlStats, type StatsSources } from './crawl-stats.js';
import { QuerySlots } from './query-slots.js';
import { CrawlIntake } from './crawl-intake.js';
import { CrawlRunLog } from './crawl-run-log.js';
import { EndpointBook } from './endpoint-book.js';
import { IntervalBook } from './interval-book.js';
import { ReplyIntake } from './reply-intake.js';
import { Sanitizer } from './sanitizer.js';
import type { StrategyContext } from './strategy.js';
import { buildStrategyContext, randomSeed } from './strategy-context.js';
import type { CrawlLimits, StopReason } from './types.js';

/** What the parts read from the engine, or tell it. */
export interface EngineHooks {
  log(text: string): void;
  stop(reason: StopReason): void;
  /** Engine clock ms since run() started (0 before). */
  durationMs(): number;
  /** Queries settled so far (with those sent: the checkpointer's "something changed"). */
  settledCount(): number;
  finished(): boolean;
}

export interface EngineParts {
  family: Family;
  limits: CrawlLimits;
  slots: QuerySlots;
  book: EndpointBook;
  intervals: IntervalBook;
  tally: CrawlTally;
  intake: CrawlIntake;
  replies: ReplyIntake;
  sanitizer: Sanitizer;
  ctx: StrategyContext;
  queries: RunQueries;
  statsSources: StatsSources;
  /** The resume state in the store (absent without a store). */
  checkpoints: CrawlCheckpoints | undefined;
  runLog: CrawlRunLog;
  /** Calls onProgress every progressEveryMs once started (absent without onProgress). */
  progress: ProgressTicker | undefined;
}

export function buildEngineParts(opts: CrawlEngineOptions, hooks: EngineHooks): EngineParts {
  const node = opts.node;
  const krpc = node.engine;
  const clock = node.clock;
  const strategy = opts.strategy;
  const family = opts.family ?? 4;
  const limiter = (krpc as { limiter?: { options: { globalRatePerSec: number } } | null }).limiter;
  const slots = new QuerySlots(
    {
      concurrency: Math.max(1, Math.floor(opts.concurrency ?? CRAWL_DEFAULTS.concurrency)),
      ratePerSec: opts.ratePerSec ?? limiter?.options.globalRatePerSec ?? Infinity,
      adaptive: opts.adaptiveTimeout ?? true,
      hardMs: opts.queryTimeoutMs ?? (krpc as { queryTimeoutMs?: number }).queryTimeoutMs ?? CRAWL_DEFAULTS.timeoutMs,
    },
    clock.now(),
  );
  const limits = opts.limits ?? {};
  const wall = opts.wallClock ?? Date.now;
  const book = new EndpointBook();
  const intervals = new IntervalBook(book.table);
  const tally = new CrawlTally();
  if (opts.sampleDue) intervals.seed(opts.sampleDue, clock.now(), wall());
  const dedup = opts.shared?.dedup ?? new Key20Set(4096);
  // the run log is built last; the parts reach it only once the engine runs
  const noteStoreFailure = (err: unknown): void => runLog.noteFailure(err);
  const intake = new CrawlIntake({
    clock,
    dedup,
    wall,
    ...(limits.maxInfohashes !== undefined ? { maxInfohashes: limits.maxInfohashes } : {}),
    ...(opts.batch ? { batch: opts.batch } : {}),
    ...(opts.onInfohash ? { onInfohash: opts.onInfohash } : {}),
    log: hooks.log,
    onStoreError: noteStoreFailure,
  });
  const prng = new Prng(opts.seed ?? randomSeed());
  const policy = opts.policy ?? (krpc as { policy?: AddressPolicy }).policy;
  let sanitizer: Sanitizer;
  if (opts.sanitizer instanceof Sanitizer) sanitizer = opts.sanitizer;
  else {
    if (!policy) throw new Error('CrawlEngine: no address policy (pass options.policy)');
    sanitizer = new Sanitizer({ ...(opts.sanitizer ?? {}), policy, clock });
  }
  const ctx = buildStrategyContext({
    node,
    family,
    sanitizer,
    prng,
    ...(opts.minIntervalS !== undefined ? { minIntervalS: opts.minIntervalS } : {}),
    sampleAllowedAt: (n) => intervals.allowedAt(n.host, n.port),
    slots: () => slots.free,
    log: hooks.log,
  });
  const replies = new ReplyIntake({
    node,
    family,
    clock,
    wall,
    strategy,
    ctx,
    sanitizer,
    book,
    intervals,
    tally,
    intake,
    dedup,
    ...(limits.maxInfohashes !== undefined ? { maxInfohashes: limits.maxInfohashes } : {}),
    ...(opts.minIntervalS !== undefined ? { minIntervalS: opts.minIntervalS } : {}),
    stop: hooks.stop,
  });
  const queries = new RunQueries(krpc, family, opts.shared);
  const statsSources: StatsSources = {
    strategy,
    book,
    intake,
    tally,
    sanitizer,
    dedup,
    database: opts.store !== undefined,
    slots,
    now: () => clock.now(),
    queries,
    durationMs: hooks.durationMs,
  };
  const checkpoints: CrawlCheckpoints | undefined = opts.store
    ? new CrawlCheckpoints({
        store: opts.store,
        key: opts.stateKey ?? defaultStateKey(strategy.name, family),
        strategy,
        clock,
        everyMs: opts.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS,
        mark: () => krpc.counters.queriesSent + hooks.settledCount(),
        finished: hooks.finished,
        flush: async (): Promise<boolean> => {
          await intake.flush();
          return !runLog.failed;
        },
        figures: () => ({ queries: queries.count(), unique: intake.counts.unique, savedAt: wall() }),
        onStoreError: noteStoreFailure,
        log: hooks.log,
        quietWhenNone: opts.resume === 'if-saved',
      })
    : undefined;
  const runLog: CrawlRunLog = new CrawlRunLog({
    ...(opts.store ? { store: opts.store } : {}),
    record: opts.recordRun !== false,
    strategy: strategy.name,
    wall,
    kept: () => ({ infohashes: intake.counts.stored, newInfohashes: intake.counts.newToDb, stateSavedAt: checkpoints?.savedAt ?? null }),
    onFirstFailure: () => hooks.stop('error'),
  });
  const onProgress = opts.onProgress;
  const progress = onProgress
    ? new ProgressTicker(clock, opts.progressEveryMs ?? 1000, () => {
        if (!hooks.finished()) onProgress(crawlStats(statsSources));
      })
    : undefined;
  return { family, limits, slots, book, intervals, tally, intake, replies, sanitizer, ctx, queries, statsSources, checkpoints, runLog, progress };
}
