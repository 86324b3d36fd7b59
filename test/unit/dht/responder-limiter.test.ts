import { describe, expect, it } from 'vitest';
import { InboundLimiter } from '../../../src/core/dht/responder-limiter.js';

describe('InboundLimiter', () => {
  it('allows a burst per key, then the rate', () => {
    const l = new InboundLimiter({ ratePerSec: 2, burst: 3, maxKeys: 10 });
    expect([1, 2, 3, 4].map(() => l.tryTake('a', 0))).toEqual([true, true, true, false]);
    expect(l.tryTake(7, 0)).toBe(true); // another key, numeric
    expect(l.tryTake('a', 499)).toBe(false);
    expect(l.tryTake('a', 500)).toBe(true); // one token per 500 ms
    expect(l.tryTake('a', 500)).toBe(false);
  });

  it('forgets refilled buckets on its sweep and stays within maxKeys', () => {
    const l = new InboundLimiter({ ratePerSec: 10, burst: 2, maxKeys: 8, sweepEveryMs: 1000 });
    for (let k = 0; k < 5; k++) l.tryTake(k, 0);
    expect(l.size).toBe(5);
    l.tryTake('new', 2000); // sweep: the five have refilled
    expect(l.size).toBe(1);
    for (let k = 0; k < 50; k++) {
      l.tryTake(k, 2000);
      l.tryTake(k, 2000); // busy: not idle, so only the cap removes them
    }
    expect(l.size).toBeLessThanOrEqual(8);
    // A key evicted while busy starts again with a full burst: the cap favours memory over memory of abuse.
    expect(l.tryTake(49, 2000)).toBe(false);
  });

  it('rejects nonsense settings', () => {
    expect(() => new InboundLimiter({ ratePerSec: 0, burst: 1, maxKeys: 1 })).toThrow();
    expect(() => new InboundLimiter({ ratePerSec: 1, burst: 0, maxKeys: 1 })).toThrow();
  });
});
