import { describe, expect, it } from 'vitest';
import { RateLimiter, RATE_LIMIT_DEFAULTS } from '../../../src/core/net/rate-limiter.js';
import { TokenBucket } from '../../../src/core/net/token-bucket.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

describe('TokenBucket', () => {
  it('starts full, empties by the burst, and refills at its rate up to the burst', () => {
    const b = new TokenBucket(2, 3, 0); // 2/s, burst 3
    expect([b.tryTake(0), b.tryTake(0), b.tryTake(0), b.tryTake(0)]).toEqual([true, true, true, false]);
    expect(b.msUntilToken(0)).toBeCloseTo(500);
    expect(b.tryTake(499)).toBe(false);
    expect(b.tryTake(500)).toBe(true);
    expect(b.available(100_000)).toBe(3);
    expect(b.isIdle(100_000)).toBe(true);
  });

  it('reserve() books future tokens and refuses beyond maxWait without booking', () => {
    const b = new TokenBucket(1, 1, 0);
    expect(b.reserve(0, 5000)).toBe(0);
    expect(b.reserve(0, 5000)).toBeCloseTo(1000);
    expect(b.reserve(0, 5000)).toBeCloseTo(2000);
    expect(b.reserve(0, 1500)).toBe(-1);
    expect(b.reserve(0, 5000)).toBeCloseTo(3000);
  });

  it('rejects nonsense parameters', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(/rate/);
    expect(() => new TokenBucket(1, 0, 0)).toThrow(/burst/);
  });
});

describe('RateLimiter', () => {
  type Decision = { id: number; granted: boolean; at: number };
  const setup = (opts = {}) => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter(clock, opts);
    const decisions: Decision[] = [];
    const cb = (id: number, granted: boolean) => decisions.push({ id, granted, at: clock.now() });
    return { clock, limiter, decisions, cb };
  };

  it('has polite defaults: 1 per 2 s per destination with burst 5, ~100/s globally', () => {
    expect(RATE_LIMIT_DEFAULTS.perKeyRatePerSec).toBe(0.5);
    expect(RATE_LIMIT_DEFAULTS.perKeyBurst).toBe(5);
    expect(RATE_LIMIT_DEFAULTS.globalRatePerSec).toBe(100);
  });

  it('keys two defaults: 0.5/s (burst 5) per public IP, 50 in any 1000 ms per local ip:port', () => {
    expect(RATE_LIMIT_DEFAULTS.localPerKeyMax).toBe(50);
    expect(RATE_LIMIT_DEFAULTS.localPerKeyWindowMs).toBe(1000);
    const { clock, limiter, decisions, cb } = setup({ maxWaitMs: 60_000, globalRatePerSec: 1000, globalBurst: 1000 });
    for (let i = 0; i < 7; i++) limiter.acquire('1.2.3.4', cb, i);
    for (let i = 100; i < 160; i++) limiter.acquire('127.0.0.1:6881', cb, i, true);
    const granted = (from: number, to: number) => decisions.filter((d) => d.granted && d.id >= from && d.id < to).map((d) => d.at);
    expect(granted(0, 7)).toEqual([0, 0, 0, 0, 0]);
    expect(granted(100, 160)).toHaveLength(50);
    clock.advance(999);
    expect(granted(100, 160)).toHaveLength(50);
    clock.advance(1);
    expect(granted(100, 160)).toHaveLength(60);
    expect(granted(100, 160)[50]).toBe(1000); // the window moved on: the rest at once
    clock.advance(3000);
    expect(granted(0, 7)).toEqual([0, 0, 0, 0, 0, 2000, 4000]);
    // The same text as a public key and as a local key are separate buckets.
    expect(limiter.tryAcquire('127.0.0.1:6881')).toBe(true);
  });

  it('limits a local ip:port by its window: a burst of max, then the next max a window later', () => {
    const { clock, limiter, decisions, cb } = setup({ localPerKeyMax: 5, localPerKeyWindowMs: 1000 });
    for (let i = 0; i < 12; i++) limiter.acquire('127.0.0.2:6881', cb, i, true);
    expect(decisions).toHaveLength(5); // the burst, synchronously
    clock.advance(5000);
    expect(decisions.map((d) => d.at)).toEqual([0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 2000, 2000]);
  });

  it('keeps a local window exact when the global queue delays some of its sends', () => {
    const { clock, limiter, decisions, cb } = setup({ globalRatePerSec: 10, globalBurst: 2, localPerKeyMax: 2, localPerKeyWindowMs: 1000 });
    limiter.acquire('127.0.0.2:1', cb, -1, true); // two other destinations take the global burst
    limiter.acquire('127.0.0.3:1', cb, -2, true);
    for (let i = 0; i < 4; i++) limiter.acquire('127.0.0.4:1', cb, i, true);
    clock.advance(3000);
    // the first two waited for global tokens (100, 200 ms); the next two were booked for 1000,
    // but go a second after the first two went, not after they were booked: never 3 in a second
    expect(decisions.filter((d) => d.id >= 0).map((d) => [d.id, d.at])).toEqual([
      [0, 100],
      [1, 200],
      [2, 1100],
      [3, 1200],
    ]);
  });

  it('times a window send by when the callback returned: a pause between grant and socket cannot crowd the next', () => {
    const virtual = new VirtualClock();
    let paused = 0; // how far the process lost time inside callbacks (a preempted or GC-paused send)
    const clock = { now: () => virtual.now() + paused, setTimeout: virtual.setTimeout.bind(virtual), clearTimeout: virtual.clearTimeout.bind(virtual) };
    const limiter = new RateLimiter(clock, { localPerKeyMax: 5, localPerKeyWindowMs: 1000 });
    const atSocket: number[] = [];
    const cb = (id: number, granted: boolean) => {
      if (!granted) return;
      if (id === 0) paused += 40; // the first send reaches the socket 40 ms after its grant
      atSocket.push(clock.now());
    };
    for (let i = 0; i < 10; i++) limiter.acquire('127.0.0.2:6881', cb, i, true);
    virtual.advance(5000);
    expect(atSocket).toHaveLength(10);
    for (let i = 5; i < atSocket.length; i++) expect(atSocket[i] - atSocket[i - 5]).toBeGreaterThanOrEqual(1000);
  });

  it('gives local keys the public bucket with localAsPublic (the simulated world)', () => {
    const { clock, limiter, decisions, cb } = setup({ localAsPublic: true });
    for (let i = 0; i < 7; i++) limiter.acquire('10.0.0.1:6881', cb, i, true);
    clock.advance(5000);
    expect(decisions.map((d) => d.at)).toEqual([0, 0, 0, 0, 0, 2000, 4000]);
  });

  it('rejects a local window it cannot keep when built, not at the first send', () => {
    expect(() => setup({ localPerKeyMax: 65 })).toThrow(/max/);
    expect(() => setup({ localPerKeyWindowMs: 0 })).toThrow(/window/);
  });

  it('grants a burst at once (synchronously), then delays one destination to its rate', () => {
    const { clock, limiter, decisions, cb } = setup();
    for (let i = 0; i < 8; i++) limiter.acquire('1.2.3.4', cb, i);
    expect(decisions.map((d) => d.id)).toEqual([0, 1, 2, 3, 4]);
    clock.advance(10_000);
    expect(decisions.map((d) => [d.id, d.granted, d.at])).toEqual([
      [0, true, 0],
      [1, true, 0],
      [2, true, 0],
      [3, true, 0],
      [4, true, 0],
      [5, true, 2000],
      [6, true, 4000],
      [7, true, 6000],
    ]);
    expect(limiter.stats).toEqual({ immediate: 5, delayed: 3, refused: 0 });
  });

  it('does not let one busy destination hold up others', () => {
    const { clock, limiter, decisions, cb } = setup();
    for (let i = 0; i < 7; i++) limiter.acquire('busy', cb, i);
    limiter.acquire('other', cb, 100);
    expect(decisions.find((d) => d.id === 100)).toEqual({ id: 100, granted: true, at: 0 });
    clock.advance(5000);
    expect(decisions.filter((d) => d.granted)).toHaveLength(8);
  });

  it('refuses a request that would wait longer than maxWaitMs, at once', () => {
    const { limiter, decisions, cb } = setup({ perKeyRatePerSec: 1, perKeyBurst: 1, maxWaitMs: 2500 });
    for (let i = 0; i < 5; i++) limiter.acquire('k', cb, i);
    // 0 now, 1 at 1 s, 2 at 2 s; 3 would wait 3 s > 2.5 s: refused immediately, and so is 4.
    expect(decisions).toEqual([
      { id: 0, granted: true, at: 0 },
      { id: 3, granted: false, at: 0 },
      { id: 4, granted: false, at: 0 },
    ]);
    expect(limiter.queued).toBe(2);
  });

  it('queues over the global rate in FIFO order and refuses what cannot make maxWaitMs', () => {
    const { clock, limiter, decisions, cb } = setup({ globalRatePerSec: 10, globalBurst: 2, maxWaitMs: 450 });
    for (let i = 0; i < 8; i++) limiter.acquire(`k${i}`, cb, i);
    // burst 2 now; then one per 100 ms: ids 2..5 fit within 450 ms, 6 and 7 would not.
    clock.advance(1000);
    const granted = decisions.filter((d) => d.granted).map((d) => [d.id, d.at]);
    expect(granted).toEqual([
      [0, 0],
      [1, 0],
      [2, 100],
      [3, 200],
      [4, 300],
      [5, 400],
    ]);
    expect(decisions.filter((d) => !d.granted).map((d) => [d.id, d.at])).toEqual([
      [6, 0],
      [7, 0],
    ]);
  });

  it('bounds the queue length', () => {
    const { limiter, decisions, cb } = setup({ globalRatePerSec: 1, globalBurst: 1, maxQueued: 3, maxWaitMs: 60_000 });
    for (let i = 0; i < 10; i++) limiter.acquire(`k${i}`, cb, i);
    expect(limiter.queued).toBe(3);
    expect(decisions.filter((d) => !d.granted)).toHaveLength(6);
  });

  it('close() refuses everything waiting and everything after', () => {
    const { clock, limiter, decisions, cb } = setup({ perKeyRatePerSec: 1, perKeyBurst: 1 });
    limiter.acquire('k', cb, 0);
    limiter.acquire('k', cb, 1);
    limiter.close();
    limiter.acquire('k', cb, 2);
    clock.advance(10_000);
    expect(decisions.map((d) => [d.id, d.granted])).toEqual([
      [0, true],
      [1, false],
      [2, false],
    ]);
    expect(limiter.queued).toBe(0);
  });

  it('tryAcquire takes only free slots and never queues', () => {
    const { clock, limiter } = setup({ perKeyRatePerSec: 1, perKeyBurst: 2 });
    expect([limiter.tryAcquire('x'), limiter.tryAcquire('x'), limiter.tryAcquire('x')]).toEqual([true, true, false]);
    clock.advance(1000);
    expect(limiter.tryAcquire('x')).toBe(true);
    expect(limiter.queued).toBe(0);
  });

  it('stays bounded in tracked keys under a flood of destinations', () => {
    const { limiter, cb } = setup({ maxKeys: 500 });
    for (let i = 0; i < 20_000; i++) limiter.acquire(`h${i}`, cb, i);
    expect(limiter.trackedKeys).toBeLessThanOrEqual(500);
    expect(limiter.queued).toBeLessThanOrEqual(RATE_LIMIT_DEFAULTS.maxQueued);
  });

  it('waits for tokens by moving virtual time on, at rates whose token gap is under a millisecond', () => {
    // A drain fired early (the wheel's slack) used to re-arm itself for the same instant forever.
    const clock = new VirtualClock();
    const limiter = new RateLimiter(clock, { globalRatePerSec: 1000, globalBurst: 10 });
    const grantedAt: number[] = [];
    for (let i = 0; i < 200; i++) limiter.acquire(`10.0.0.${i}:1`, (_arg, granted) => granted && grantedAt.push(clock.now()), i, true);
    expect(grantedAt).toHaveLength(10);
    clock.advance(1000);
    expect(grantedAt).toHaveLength(200);
    // 190 waited for the 1000/s refill: the last one about 190 ms in, never before its token
    expect(grantedAt[199]).toBeGreaterThanOrEqual(189.9);
    expect(grantedAt[199]).toBeLessThan(200);
    expect(clock.fired).toBeLessThan(1000);
  });
});
