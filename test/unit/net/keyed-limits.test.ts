import { describe, expect, it } from 'vitest';
import { KeyedLimits } from '../../../src/core/net/keyed-limits.js';
import { SendWindow } from '../../../src/core/net/send-window.js';
import { KeyedTokenBuckets } from '../../../src/core/net/token-bucket.js';

describe('KeyedLimits', () => {
  it('creates a limiter per key once and hands the same one back', () => {
    let made = 0;
    const k = new KeyedLimits(10, () => (made++, new SendWindow(2, 1000)));
    const a = k.get('a', 0);
    a.tryTake(0); // busy, so b's arrival does not prune it
    expect(k.get('a', 5)).toBe(a);
    expect(k.get('b', 5)).not.toBe(a);
    expect([made, k.size]).toEqual([2, 2]);
  });

  it('forgets the least recently used key at the cap, counting a busy one', () => {
    const k = new KeyedLimits(2, () => new SendWindow(1, 1000));
    const a = k.get('a', 0);
    a.tryTake(0); // busy for a second
    k.get('b', 0);
    k.get('a', 1); // a is now the most recently used
    k.get('c', 2); // b goes (idle: nothing sent)
    expect(k.get('a', 3)).toBe(a);
    expect(k.evictedBusy).toBe(0);
    k.get('d', 4); // c goes
    k.get('e', 5); // a goes, still busy
    expect(k.evictedBusy).toBe(1);
    expect(k.size).toBe(2);
  });

  it('rejects a cap below 1', () => {
    expect(() => new KeyedLimits(0, () => new SendWindow(1, 1))).toThrow(/maxKeys/);
  });
});

describe('KeyedTokenBuckets', () => {
  it('never tracks more than maxKeys keys', () => {
    const k = new KeyedTokenBuckets({ ratePerSec: 1, burst: 2, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) k.tryTake(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(k.size).toBeLessThanOrEqual(100);
    expect(k.evictedBusy).toBeGreaterThan(0);
  });

  it('drops idle buckets as new keys arrive', () => {
    const k = new KeyedTokenBuckets({ ratePerSec: 1, burst: 2, maxKeys: 1000 });
    for (let i = 0; i < 50; i++) k.tryTake(`a${i}`, 0);
    expect(k.size).toBe(50);
    // Long after, every old bucket is full again; new keys sweep them out.
    for (let i = 0; i < 50; i++) k.tryTake(`b${i}`, 60_000);
    expect(k.size).toBeLessThan(60);
    expect(k.evictedBusy).toBe(0);
  });

  it('keeps a key that is still in debt while idle ones go', () => {
    const k = new KeyedTokenBuckets({ ratePerSec: 1, burst: 1, maxKeys: 1000 });
    k.tryTake('busy', 0);
    expect(k.tryTake('busy', 0)).toBe(false);
    k.tryTake('new', 10); // prune runs; busy is not idle
    expect(k.tryTake('busy', 20)).toBe(false);
  });
});

