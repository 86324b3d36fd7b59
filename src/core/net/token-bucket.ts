// Token buckets: a single bucket, and a bounded map of buckets keyed by destination (or source).
// Time is passed in (clock milliseconds) so the buckets stay pure and run on virtual time too.
import { KeyedLimits, type KeyedLimit } from './keyed-limits.js';

export class TokenBucket implements KeyedLimit {
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

/** Per-key token buckets in a bounded LRU map (KeyedLimits): a new key's bucket starts full. */
export class KeyedTokenBuckets extends KeyedLimits<TokenBucket> {
  constructor(readonly options: KeyedBucketsOptions) {
    super(options.maxKeys, (now) => new TokenBucket(options.ratePerSec, options.burst, now));
  }

  tryTake(key: string, now: number): boolean {
    return this.get(key, now).tryTake(now);
  }

  reserve(key: string, now: number, maxWaitMs: number): number {
    return this.get(key, now).reserve(now, maxWaitMs);
  }
}
