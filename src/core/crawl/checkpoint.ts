// Resume state of a crawl (`crawl --resume`): the saved form, restoring it, and the periodic
// checkpoints that bound what a kill -9 costs. A checkpoint runs on a timer of the engine's clock,
// never on the query path, and only when the traversal moved since the last one. Its cost grows
// with the visited nodes (10 bytes each; bench/checkpoint.ts: about 0.1-0.3 s for 100k on a busy
// 2-core machine), so saves are also spaced to take at most `maxShare` of the real time: that
// matters on virtual time (`crawl --testnet --db`), where 5 engine seconds pass in milliseconds.
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../net/clock.js';
import type { InfohashStore } from '../store/types.js';
import type { Family } from '../wire/types.js';
import type { Strategy, StrategyContext } from './strategy.js';
import type { CrawlSummary, StopReason } from './types.js';

/** Default checkpoint period (engine clock): a kill -9 loses at most this much traversal. */
export const DEFAULT_CHECKPOINT_EVERY_MS = 5000;

const STATE_VERSION = 1;

export interface SavedState {
  v: number;
  strategy: string;
  saved_at: string;
  engine: { queries_sent: number; unique_infohashes: number };
  state: unknown;
}

export type ResumedFrom = NonNullable<CrawlSummary['resumed_from']>;

/** The stored form of a traversal; `prev` is what the run it continued had done. */
export function savedState(strategy: Strategy, run: { queries: number; unique: number; savedAt: number }, prev?: ResumedFrom): SavedState {
  return {
    v: STATE_VERSION,
    strategy: strategy.name,
    saved_at: new Date(run.savedAt).toISOString(),
    engine: {
      queries_sent: (prev?.queries_sent ?? 0) + run.queries,
      unique_infohashes: (prev?.unique_infohashes ?? 0) + run.unique,
    },
    state: strategy.saveState ? strategy.saveState() : null,
  };
}

/** Hands a saved traversal to the strategy; null (with a line in the log) when there is none it can use. */
export async function restoreTraversal(
  store: InfohashStore,
  key: string,
  strategy: Strategy,
  ctx: StrategyContext,
  log: (text: string) => void,
  quietWhenNone = false,
): Promise<ResumedFrom | null> {
  const saved = (await store.loadState<SavedState>(key)) ?? undefined;
  if (!saved) {
    if (!quietWhenNone) log(`crawl: --resume: ${await nothingToResume(store, strategy.name, ctx.family)}; starting a new pass`);
    return null;
  }
  if (saved.v !== STATE_VERSION || saved.strategy !== strategy.name || !strategy.restoreState) {
    log('crawl: the saved traversal is not usable by this strategy; starting a new pass');
    return null;
  }
  if (!strategy.restoreState(saved.state, ctx)) {
    log('crawl: the saved traversal could not be restored; starting a new pass');
    return null;
  }
  return { queries_sent: saved.engine?.queries_sent ?? 0, unique_infohashes: saved.engine?.unique_infohashes ?? 0, saved_at: saved.saved_at };
}

export interface CheckpointerOptions {
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  everyMs: number;
  /** Changes whenever the traversal has moved (e.g. queries sent plus queries settled). */
  mark(): number;
  /** Writes one checkpoint; false when it could not. */
  save(): Promise<boolean>;
  /** Largest share of real time spent saving (default 0.05). */
  maxShare?: number;
  /** Real time in ms, to measure what a save costs (default performance.now, even on a virtual clock). */
  measure?: () => number;
}

/** Saves every `everyMs` when something changed; one save at a time. */
export class Checkpointer {
  /** Checkpoints written, and skipped because nothing had changed. */
  readonly counters = { saved: 0, skipped: 0 };
  private timer: TimerHandle | null = null;
  private running: Promise<boolean> | null = null;
  private savedMark: number | null = null;
  private stopped = false;
  /** Real time before which no save starts (the cost of the last one, spread out). */
  private notBefore = 0;
  private readonly measure: () => number;
  private readonly maxShare: number;

  constructor(private readonly opts: CheckpointerOptions) {
    this.measure = opts.measure ?? (() => performance.now());
    this.maxShare = Math.min(1, Math.max(0.001, opts.maxShare ?? 0.05));
  }

  start(): void {
    if (this.stopped || this.timer || this.opts.everyMs <= 0) return;
    this.timer = this.opts.clock.setTimeout(() => this.tick(), this.opts.everyMs);
  }

  /** No more checkpoints; resolves once one in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const mark = this.opts.mark();
    if (this.running || mark === this.savedMark || this.measure() < this.notBefore) this.counters.skipped++;
    else {
      const started = this.measure();
      this.running = this.opts
        .save()
        .then(
          (ok) => {
            const ended = this.measure();
            this.notBefore = ended + (ended - started) * (1 / this.maxShare - 1);
            if (ok) {
              this.savedMark = mark;
              this.counters.saved++;
            }
            return ok;
          },
          () => false,
        )
        .finally(() => {
          this.running = null;
        });
    }
    this.start();
  }
}

/** The store key of a crawl's saved traversal; IPv4 keeps the key it always had, so older databases resume. */
export function defaultStateKey(strategy: string, family: Family): string {
  return `crawl:${strategy}${family === 6 ? ':v6' : ''}`;
}

export interface CrawlCheckpointsOptions {
  store: InfohashStore;
  /** Store key of the saved state. */
  key: string;
  strategy: Strategy;
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Checkpoint period (engine clock ms; 0 never). */
  everyMs: number;
  /** Changes whenever the traversal has moved. */
  mark(): number;
  /** True once the crawl has finished: no more periodic checkpoints. */
  finished(): boolean;
  /** Writes the buffered data; false when the store has failed. */
  flush(): Promise<boolean>;
  /** This run's figures for the saved state. */
  figures(): { queries: number; unique: number; savedAt: number };
  /** A write failed (the engine stops on the first). */
  onStoreError(err: unknown): void;
  log(text: string): void;
  /** Say nothing when no traversal is saved (a leased range that nobody walked yet). */
  quietWhenNone?: boolean;
}

/** A crawl's resume state in its store: restored at the start, checkpointed while it runs, left or cleared at the end. */
export class CrawlCheckpoints {
  /** What the run it continued had done (when resumed). */
  resumedFrom: ResumedFrom | undefined;
  /** When a save last succeeded in this run (ISO). */
  savedAt: string | null = null;
  private checkpointer?: Checkpointer;

  constructor(private readonly opts: CrawlCheckpointsOptions) {}

  /** Hands the saved traversal to the strategy; false when there was none it could use. */
  async restore(ctx: StrategyContext): Promise<boolean> {
    const { store, key, strategy, log, quietWhenNone } = this.opts;
    const from = await restoreTraversal(store, key, strategy, ctx, log, quietWhenNone);
    if (from) this.resumedFrom = from;
    return from !== null;
  }

  /** Starts the periodic checkpoints. */
  start(): void {
    this.checkpointer = new Checkpointer({
      clock: this.opts.clock,
      everyMs: this.opts.everyMs,
      mark: this.opts.mark,
      save: () => (this.opts.finished() ? Promise.resolve(false) : this.save()),
    });
    this.checkpointer.start();
  }

  /** No more periodic checkpoints; resolves once one in progress has finished. */
  async stop(): Promise<void> {
    await this.checkpointer?.stop();
  }

  /**
   * At the end of a run: stops the checkpoints and flushes the batches, then saves or clears
   * (end) unless a write failed, or the strategy was never seeded (a saved traversal then stays
   * as it was). True when state was saved.
   */
  async close(stoppedBy: StopReason, seeded: boolean): Promise<boolean> {
    await this.stop();
    if (!(await this.opts.flush()) || !seeded) return false;
    return this.end(stoppedBy);
  }

  /** A finished pass leaves nothing to resume; anything else can be continued. True when state was saved. */
  private async end(stoppedBy: StopReason): Promise<boolean> {
    if (stoppedBy !== 'done') return this.save();
    await this.opts.store.clearState(this.opts.key);
    return false;
  }

  /** Flushes the batches, then saves the traversal (so the saved state never runs ahead of the data). */
  private async save(): Promise<boolean> {
    const { store, strategy } = this.opts;
    if (!strategy.saveState) return false;
    if (!(await this.opts.flush())) return false;
    const state = savedState(strategy, this.opts.figures(), this.resumedFrom);
    try {
      await store.saveState(this.opts.key, state);
      this.savedAt = state.saved_at;
      return true;
    } catch (err) {
      this.opts.onStoreError(err);
      return false;
    }
  }
}

/** Why the database holds no traversal to resume, from its last run of the strategy. */
async function nothingToResume(store: InfohashStore, strategy: string, family: number): Promise<string> {
  const last = await store.lastEndedRun(strategy);
  if (!last) return `this database holds no ${strategy} crawl to resume`;
  const summary = (last.summary ?? {}) as { stopped_by?: unknown; by_family?: Record<string, { stopped_by?: unknown }> };
  const stoppedBy = summary.by_family?.[String(family)]?.stopped_by ?? summary.stopped_by;
  const when = new Date(last.endedAt).toISOString();
  if (stoppedBy === 'done') return `the last ${strategy} crawl of this database finished its pass (${when}), so there is nothing to resume`;
  return `the last ${strategy} crawl of this database (${when}${typeof stoppedBy === 'string' ? `, stopped by ${stoppedBy}` : ''}) saved no traversal`;
}
