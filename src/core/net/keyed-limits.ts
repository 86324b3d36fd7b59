// A bounded map of per-key limiters (token buckets, send windows), one LRU for all of them.
// Time is passed in (clock milliseconds), so the map runs on virtual time too.

/** What the map needs of a limiter: whether forgetting it now would change any later decision. */
export interface KeyedLimit {
  /** True when the limiter behaves exactly like a new one, so it can be forgotten. */
  isIdle(now: number): boolean;
}

/**
 * Per-key limiters in a bounded map. Keys are kept in least-recently-used order; idle limiters at
 * the old end are dropped as new keys arrive, and the cap is enforced by forgetting the least
 * recently used key even if it is still busy (counted in evictedBusy).
 */
export class KeyedLimits<L extends KeyedLimit> {
  private readonly map = new Map<string, L>();
  /** Keys forgotten while still busy (only when the cap is reached). */
  evictedBusy = 0;

  /** create(now) makes the limiter of a key seen for the first time (or again after it was dropped). */
  constructor(
    readonly maxKeys: number,
    private readonly create: (now: number) => L,
  ) {
    if (!(maxKeys >= 1)) throw new Error(`maxKeys must be >= 1 (got ${maxKeys})`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The limiter of key, created if unknown, and marked most recently used. */
  get(key: string, now: number): L {
    const map = this.map;
    let l = map.get(key);
    if (l) {
      map.delete(key);
      map.set(key, l);
      return l;
    }
    this.prune(now);
    l = this.create(now);
    map.set(key, l);
    return l;
  }

  /** Drops idle limiters from the old end (a couple per call keeps it amortised O(1)), then enforces the cap. */
  private prune(now: number): void {
    const map = this.map;
    let checked = 0;
    for (const [key, l] of map) {
      if (checked++ >= 2 || !l.isIdle(now)) break;
      map.delete(key);
    }
    while (map.size >= this.maxKeys) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      if (!map.get(oldest.value)!.isIdle(now)) this.evictedBusy++;
      map.delete(oldest.value);
    }
  }
}
