// The crawl's entry in the store's run log (beginRun / endRun) and its store failures: the first
// failure stops the crawl, and run() rejects with it as a CrawlStoreError saying what was kept.
import type { InfohashStore } from '../store/types.js';
import { CrawlStoreError, type KeptByCrawl } from './errors.js';
import type { CrawlSummary } from './types.js';

export interface CrawlRunLogOptions {
  /** Absent without a store (--no-db): nothing is recorded and nothing can fail. */
  store?: InfohashStore;
  /** Record the run (false: a multi-family run records one entry, elsewhere). */
  record: boolean;
  strategy: string;
  wall: () => number;
  /** What the run has kept so far, for the error. */
  kept(): Omit<KeptByCrawl, 'resumed'>;
  /** The first store failure: the crawl stops. */
  onFirstFailure(): void;
}

export class CrawlRunLog {
  private runId: number | undefined;
  private failure: unknown;

  constructor(private readonly opts: CrawlRunLogOptions) {}

  /** A store write has failed in this run. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Opens the run's entry; a store that fails here rejects at once. */
  async begin(): Promise<void> {
    const { store } = this.opts;
    try {
      this.runId = store && this.opts.record ? await store.beginRun({ strategy: this.opts.strategy, startedAt: this.opts.wall() }) : undefined;
    } catch (err) {
      throw this.error(err, false);
    }
  }

  /** The first store failure stops the crawl; run() then rejects with it (reported once, there). */
  noteFailure(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.opts.onFirstFailure();
  }

  /** Closes the entry with the summary unless the store failed; then rejects with the first failure. */
  async end(summary: CrawlSummary): Promise<void> {
    const { store } = this.opts;
    if (store && this.runId !== undefined && this.failure === undefined) {
      try {
        await store.endRun(this.runId, { endedAt: this.opts.wall(), summary });
      } catch (err) {
        this.failure ??= err;
      }
    }
    if (this.failure !== undefined) throw this.error(this.failure, summary.resumed);
  }

  private error(err: unknown, resumed: boolean): CrawlStoreError {
    return new CrawlStoreError(err, { ...this.opts.kept(), resumed });
  }
}
