// The crawl's number of query slots, AIMD style (TCP's congestion window): the window grows by
// a step each period while the achieved query rate stays below the allowed rate and no loss
// burst is seen, and is cut by a factor on a loss burst. So the rate, not a fixed slot count,
// ends up the binding limit, while a path that starts dropping makes the crawl back off.
//
// "Loss" is the share of queries that stalled (no reply within the adaptive timeout). On the
// DHT a large share of contacts is simply dead, so the share itself says little: a burst is a
// period whose share exceeds the long-run average (an EWMA) by `burstMargin`.

export interface ConcurrencyWindowOptions {
  /** Upper bound (the --concurrency flag). */
  max: number;
  /** Lower bound (default min(8, max)). */
  min?: number;
  /** Starting size (default min(32, max)). */
  initial?: number;
  /** Allowed queries per second (the --rate flag); Infinity when unlimited. */
  ratePerSec: number;
  /** How often the window is reconsidered, ms (default 500). */
  periodMs?: number;
  /** Additive step per period (default 16). */
  step?: number;
  /** Multiplicative cut on a loss burst (default 0.75). */
  cut?: number;
  /** A period is a burst when its stall share exceeds the average by this (default 0.15). */
  burstMargin?: number;
  /** Outcomes a period needs before it counts (default 20). */
  minOutcomes?: number;
}

export interface WindowSnapshot {
  window: number;
  max: number;
  /** Queries per second in the last period. */
  rate_per_s: number;
  /** Long-run share of queries that stalled. */
  stall_share: number;
  grown: number;
  cut: number;
}

export class ConcurrencyWindow {
  private readonly max: number;
  private readonly min: number;
  private readonly rate: number;
  private readonly periodMs: number;
  private readonly step: number;
  private readonly cutFactor: number;
  private readonly burstMargin: number;
  private readonly minOutcomes: number;
  private size: number;
  private periodStart: number;
  private sent = 0;
  private answered = 0;
  private stalled = 0;
  private lastRate = 0;
  private avgStall = -1;
  private grown = 0;
  private cuts = 0;

  constructor(options: ConcurrencyWindowOptions, now: number) {
    this.max = Math.max(1, Math.floor(options.max));
    this.min = Math.max(1, Math.min(this.max, Math.floor(options.min ?? 8)));
    this.size = Math.max(this.min, Math.min(this.max, Math.floor(options.initial ?? 32)));
    this.rate = options.ratePerSec > 0 ? options.ratePerSec : Infinity;
    this.periodMs = options.periodMs ?? 500;
    this.step = options.step ?? 16;
    this.cutFactor = options.cut ?? 0.75;
    this.burstMargin = options.burstMargin ?? 0.15;
    this.minOutcomes = options.minOutcomes ?? 20;
    this.periodStart = now;
  }

  /** Queries that may be in flight now. */
  get current(): number {
    return this.size;
  }

  onSent(now: number): void {
    this.sent++;
    this.tick(now);
  }

  /** A reply within the adaptive timeout. */
  onAnswer(now: number): void {
    this.answered++;
    this.tick(now);
  }

  /** No reply within the adaptive timeout. */
  onStall(now: number): void {
    this.stalled++;
    this.tick(now);
  }

  snapshot(): WindowSnapshot {
    return {
      window: this.size,
      max: this.max,
      rate_per_s: Math.round(this.lastRate * 10) / 10,
      stall_share: Math.round(Math.max(0, this.avgStall) * 1000) / 1000,
      grown: this.grown,
      cut: this.cuts,
    };
  }

  /** Closes the period once it is long enough: grow, cut or hold. */
  tick(now: number): void {
    const elapsed = now - this.periodStart;
    if (elapsed < this.periodMs) return;
    const outcomes = this.answered + this.stalled;
    this.lastRate = (this.sent * 1000) / elapsed;
    if (outcomes >= this.minOutcomes) {
      const share = this.stalled / outcomes;
      const burst = this.avgStall >= 0 && share > this.avgStall + this.burstMargin;
      this.avgStall = this.avgStall < 0 ? share : this.avgStall * 0.8 + share * 0.2;
      if (burst) {
        const next = Math.max(this.min, Math.floor(this.size * this.cutFactor));
        if (next < this.size) this.cuts++;
        this.size = next;
      } else if (this.lastRate < this.rate * 0.95 && this.size < this.max) {
        this.size = Math.min(this.max, this.size + this.step);
        this.grown++;
      }
    }
    this.periodStart = now;
    this.sent = 0;
    this.answered = 0;
    this.stalled = 0;
  }
}
