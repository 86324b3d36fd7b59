// Per-source token buckets for incoming queries. Unlike the outbound limiter's LRU map, a hit
// does not reorder the map (one Map.get per query), and idle buckets are swept on a schedule
// instead of on every new key, so a steady set of busy sources costs no allocations. When the
// map is still full after a sweep, the oldest eighth goes (insertion order).

interface Bucket {
  tokens: number;
  last: number;
}

export interface InboundLimiterOptions {
  ratePerSec: number;
  burst: number;
  maxKeys: number;
  /** How often idle buckets are forgotten (default 10 s). */
  sweepEveryMs?: number;
}

export class InboundLimiter {
  private readonly map = new Map<string | number, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly sweepEveryMs: number;
  private nextSweep = -Infinity;

  constructor(opts: InboundLimiterOptions) {
    if (!(opts.ratePerSec > 0)) throw new RangeError(`inbound rate must be > 0 (got ${opts.ratePerSec})`);
    if (!(opts.burst >= 1)) throw new RangeError(`inbound burst must be >= 1 (got ${opts.burst})`);
    this.perMs = opts.ratePerSec / 1000;
    this.burst = opts.burst;
    this.maxKeys = Math.max(1, opts.maxKeys);
    this.sweepEveryMs = opts.sweepEveryMs ?? 10_000;
  }

  get size(): number {
    return this.map.size;
  }

  /**
   * Takes one token for `key` at time `now` (ms); false when the source is over its limit. Keys
   * may be numbers (an IPv4 source as ip * 65536 + port, no string to build per query).
   */
  tryTake(key: string | number, now: number): boolean {
    let b = this.map.get(key);
    if (b === undefined) {
      if (now >= this.nextSweep || this.map.size >= this.maxKeys) this.sweep(now);
      b = { tokens: this.burst, last: now };
      this.map.set(key, b);
    } else if (now > b.last) {
      const t = b.tokens + (now - b.last) * this.perMs;
      b.tokens = t < this.burst ? t : this.burst;
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Forgets buckets that have refilled (they behave like new ones), then enforces the cap. */
  private sweep(now: number): void {
    this.nextSweep = now + this.sweepEveryMs;
    for (const [key, b] of this.map) {
      if (b.tokens + (now - b.last) * this.perMs >= this.burst) this.map.delete(key);
    }
    if (this.map.size < this.maxKeys) return;
    // Still full of busy sources: drop the oldest eighth, so the next new keys find room
    // without another full sweep each.
    let excess = this.map.size - this.maxKeys + Math.max(1, this.maxKeys >> 3);
    for (const key of this.map.keys()) {
      if (excess-- <= 0) break;
      this.map.delete(key);
    }
  }
}
