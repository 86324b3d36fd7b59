// Token buckets: a single bucket, and a bounded map of buckets keyed by destination (or source).
// Time is passed in (clock milliseconds) so the buckets stay pure and run on virtual time too.

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;

  /** ratePerSec tokens are added per second, up to burst. The bucket starts full. */
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSec > 0)) throw new Error(`token bucket rate must be > 0 (got ${ratePerSec})`);
    if (!(burst >= 1)) throw new Error(`token bucket burst must be >= 1 (got ${burst})`);
    this.perMs = ratePerSec / 1000;
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      const t = this.tokens + (now - this.last) * this.perMs;
      this.tokens = t < this.burst ? t : this.burst;
      this.last = now;
    }
  }

  /** Tokens available now (may be negative while reservations are outstanding). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Takes one token if one is available now. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until one token is available (0 if now). */
  msUntilToken(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.perMs;
  }

  /**
   * Reserves one token, going into debt if needed, and returns the wait in ms before it may be
   * used; or -1 (nothing reserved) when that wait would exceed maxWaitMs.
   */
  reserve(now: number, maxWaitMs: number): number {
    const wait = this.msUntilToken(now);
    if (wait > maxWaitMs) return -1;
    this.tokens -= 1;
    return wait;
  }

  /** A full bucket behaves exactly like a new one, so it can be forgotten. */
  isIdle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}

export interface KeyedBucketsOptions {
  ratePerSec: number;
  burst: number;
  /** Hard cap on tracked keys; the least recently used key is forgotten beyond it. */
  maxKeys: number;
}

/**
 * Per-key token buckets in a bounded map. Keys are kept in least-recently-used order; idle (full)
 * buckets at the old end are dropped as new keys arrive, and the cap is enforced by forgetting the
 * least recently used key even if it is still in debt (counted in evictedBusy).
 */
export class KeyedTokenBuckets {
  private readonly map = new Map<string, TokenBucket>();
  /** Keys forgotten while still holding a debt (only when the cap is reached). */
  evictedBusy = 0;

  constructor(readonly options: KeyedBucketsOptions) {
    if (!(options.maxKeys >= 1)) throw new Error(`maxKeys must be >= 1 (got ${options.maxKeys})`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The bucket for key, created full if unknown, and marked most recently used. */
  bucket(key: string, now: number): TokenBucket {
    const map = this.map;
    let b = map.get(key);
    if (b) {
      map.delete(key);
      map.set(key, b);
      return b;
    }
    this.prune(now);
    b = new TokenBucket(this.options.ratePerSec, this.options.burst, now);
    map.set(key, b);
    return b;
  }

  tryTake(key: string, now: number): boolean {
    return this.bucket(key, now).tryTake(now);
  }

  reserve(key: string, now: number, maxWaitMs: number): number {
    return this.bucket(key, now).reserve(now, maxWaitMs);
  }

  /** Drops idle buckets from the old end (a couple per call keeps it amortised O(1)), then enforces the cap. */
  private prune(now: number): void {
    const map = this.map;
    let checked = 0;
    for (const [key, b] of map) {
      if (checked++ >= 2 || !b.isIdle(now)) break;
      map.delete(key);
    }
    while (map.size >= this.options.maxKeys) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      const b = map.get(oldest.value)!;
      if (!b.isIdle(now)) this.evictedBusy++;
      map.delete(oldest.value);
    }
  }
}
