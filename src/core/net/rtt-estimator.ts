// An adaptive query timeout from the round trips of recent replies, after mldht's
// RPCServer/ResponseTimeoutFilter: a node that has not answered by the time ~90% of answers have
// come in is probably dead, so the caller stops waiting for it there instead of at the hard
// timeout. The estimate is a ring of the last `size` reply RTTs; the percentiles are recomputed
// every few samples (sorting on every query would cost more than the queries).
//
// timeout = clamp(p90, p10 + marginMs, hardMs): the lower bound keeps a fast, narrow
// distribution (loopback) from timing out on ordinary jitter, the upper bound is the hard timeout.
// Until minSamples replies were seen it is the hard timeout.

export interface RttEstimatorOptions {
  /** The hard timeout (the --timeout flag): the adaptive one never exceeds it. */
  hardMs: number;
  /** Replies remembered (default 256). */
  size?: number;
  /** Replies needed before the estimate is used (default 32). */
  minSamples?: number;
  /** The timeout is at least p10 plus this (default 100 ms). */
  marginMs?: number;
  /** Quantile the timeout sits at (default 0.9). */
  quantile?: number;
}

export interface RttSnapshot {
  samples: number;
  p10_ms: number | null;
  p50_ms: number | null;
  p90_ms: number | null;
  timeout_ms: number;
}

export class RttEstimator {
  readonly hardMs: number;
  private readonly ring: Float64Array;
  private readonly minSamples: number;
  private readonly marginMs: number;
  private readonly quantile: number;
  private count = 0;
  private pos = 0;
  private dirty = 0;
  private cached: { p10: number; p50: number; p90: number; timeout: number } | null = null;

  constructor(options: RttEstimatorOptions) {
    if (!(options.hardMs > 0)) throw new RangeError('RttEstimator: hardMs must be > 0');
    this.hardMs = options.hardMs;
    const size = Math.max(8, Math.floor(options.size ?? 256));
    this.ring = new Float64Array(size);
    this.minSamples = Math.min(size, Math.max(1, Math.floor(options.minSamples ?? 32)));
    this.marginMs = options.marginMs ?? 100;
    this.quantile = options.quantile ?? 0.9;
  }

  /** Replies recorded so far (not bounded by the ring size). */
  get samples(): number {
    return this.count;
  }

  /** Records the round trip of a reply (late ones too: leaving them out would bias it low). */
  record(rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    this.ring[this.pos] = rttMs;
    this.pos = (this.pos + 1) % this.ring.length;
    this.count++;
    this.dirty++;
  }

  /** The timeout to use for the next query, ms. */
  timeoutMs(): number {
    const s = this.stats();
    return s ? s.timeout : this.hardMs;
  }

  snapshot(): RttSnapshot {
    const s = this.stats();
    return {
      samples: this.count,
      p10_ms: s ? round1(s.p10) : null,
      p50_ms: s ? round1(s.p50) : null,
      p90_ms: s ? round1(s.p90) : null,
      timeout_ms: round1(s ? s.timeout : this.hardMs),
    };
  }

  private stats(): { p10: number; p50: number; p90: number; timeout: number } | null {
    if (this.count < this.minSamples) return null;
    // refreshed every 1/16 of the ring: cheap, and fresh enough for a drifting distribution
    if (this.cached && this.dirty < Math.max(1, this.ring.length >> 4)) return this.cached;
    const n = Math.min(this.count, this.ring.length);
    const sorted = this.ring.slice(0, n).sort();
    const at = (q: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
    const p10 = at(0.1);
    const p50 = at(0.5);
    const p90 = at(this.quantile);
    const timeout = Math.min(this.hardMs, Math.max(p90, p10 + this.marginMs));
    this.cached = { p10, p50, p90, timeout };
    this.dirty = 0;
    return this.cached;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
