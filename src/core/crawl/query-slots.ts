// A crawl's query slots: the concurrency window sizes them, the adaptive timeout (from measured
// round trips) frees a slot early. A query stalled at it no longer holds a slot but still waits
// for a late reply until the hard timeout (docs/architecture.md, "Crawl pacing").
import type { QueryOutcome } from '../net/krpc-types.js';
import { RttEstimator } from '../net/rtt-estimator.js';
import { ConcurrencyWindow } from './concurrency-window.js';
import type { CrawlPacing } from './types.js';

export interface QuerySlotsOptions {
  /** Queries in flight at most: the bound of the window. */
  concurrency: number;
  /** The global query rate the window aims at, per second (Infinity: unlimited). */
  ratePerSec: number;
  /** Free a slot at the adaptive timeout; false: at the hard timeout, with a fixed number of slots. */
  adaptive: boolean;
  hardMs: number;
}

export class QuerySlots {
  /** Queries holding a slot. */
  inFlight = 0;
  /** Stalled queries still waiting for a late reply (no slot held). */
  lingering = 0;
  /** Queries whose slot was freed at the adaptive timeout; of those, answered late. */
  stalled = 0;
  lateReplies = 0;
  readonly window: ConcurrencyWindow;
  private readonly rtt: RttEstimator;

  constructor(
    private readonly opts: QuerySlotsOptions,
    nowMs: number,
  ) {
    const { concurrency, ratePerSec, adaptive } = opts;
    this.rtt = new RttEstimator({ hardMs: opts.hardMs });
    // without the adaptive timeout the slots stay fixed too (the pacing before both existed)
    this.window = new ConcurrencyWindow({ max: concurrency, ratePerSec, ...(adaptive ? {} : { min: concurrency, initial: concurrency }) }, nowMs);
  }

  /** Slots free now. */
  get free(): number {
    return Math.max(0, this.window.current - this.inFlight);
  }

  /** Queries still waiting for an outcome, with a slot or not. */
  get waiting(): number {
    return this.inFlight + this.lingering;
  }

  /** A query went out and holds a slot. */
  sent(nowMs: number): void {
    this.inFlight++;
    this.window.onSent(nowMs);
  }

  /** The adaptive timeout for a query about to go out: at it, call stall() (undefined: no adaptive timeout). */
  stallMs(): number | undefined {
    return this.opts.adaptive ? this.rtt.timeoutMs() : undefined;
  }

  /** A query reached the adaptive timeout: its slot is freed, it lingers. */
  stall(nowMs: number): void {
    this.inFlight--;
    this.lingering++;
    this.stalled++;
    this.window.onStall(nowMs);
  }

  /** A query's outcome came; `stalled` when it had lost its slot at the adaptive timeout. */
  settled(out: QueryOutcome, stalled: boolean, nowMs: number): void {
    if ('rttMs' in out && out.rttMs !== undefined) this.rtt.record(out.rttMs);
    if (stalled) {
      this.lingering--;
      if (out.ok || (out.kind !== 'timeout' && out.kind !== 'refused')) this.lateReplies++;
    } else {
      this.inFlight--;
      if (out.ok || out.kind !== 'timeout') this.window.onAnswer(nowMs);
      else this.window.onStall(nowMs);
    }
  }

  /** The pacing figures now (window, adaptive timeout, round trips). */
  pacing(): CrawlPacing {
    const w = this.window.snapshot();
    const r = this.rtt.snapshot();
    const rate = this.opts.ratePerSec;
    return {
      rate_limit_per_s: Number.isFinite(rate) ? rate : null,
      queries_per_s: w.rate_per_s,
      window: w.window,
      window_max: w.max,
      timeout_ms: this.opts.adaptive ? r.timeout_ms : this.rtt.hardMs,
      hard_timeout_ms: this.rtt.hardMs,
      rtt_p50_ms: r.p50_ms,
      rtt_p90_ms: r.p90_ms,
      stalled: this.stalled,
      late_replies: this.lateReplies,
      waiting_late: this.lingering,
    };
  }
}
