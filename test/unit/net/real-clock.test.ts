import { afterEach, describe, expect, it, vi } from 'vitest';
import { repeat } from '../../../src/core/net/clock.js';
import { MAX_TIMER_STEP_MS, RealClock } from '../../../src/core/net/real-clock.js';

describe('RealClock', () => {
  it('reads monotonic milliseconds', async () => {
    const clock = new RealClock();
    const a = clock.now();
    await new Promise((r) => setTimeout(r, 20));
    const b = clock.now();
    expect(b - a).toBeGreaterThanOrEqual(15);
    expect(b - a).toBeLessThan(5000);
  });

  it('fires timers and cancels them', async () => {
    const clock = new RealClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('a'), 5);
    const h = clock.setTimeout(() => fired.push('b'), 5);
    clock.clearTimeout(h);
    const t0 = clock.now();
    await new Promise<void>((r) => clock.setTimeout(r, 30));
    expect(clock.now() - t0).toBeGreaterThanOrEqual(25);
    expect(fired).toEqual(['a']);
  });

  it('unrefs timers by default and keeps them referenced on request', () => {
    const unrefd = new RealClock();
    const refd = new RealClock({ unref: false });
    const h1 = unrefd.setTimeout(() => {}, 10_000) as unknown as { timer: NodeJS.Timeout };
    const h2 = refd.setTimeout(() => {}, 10_000) as unknown as { timer: NodeJS.Timeout };
    expect(h1.timer.hasRef()).toBe(false);
    expect(h2.timer.hasRef()).toBe(true);
    unrefd.clearTimeout(h1 as never);
    refd.clearTimeout(h2 as never);
  });
});

describe('RealClock with timers of 2^31 ms or more', () => {
  const DAY = 86_400_000;
  afterEach(() => {
    vi.useRealTimers();
  });

  // Node's own setTimeout (and the fake one here, which copies it) fires a delay past 2^31-1 ms
  // after 1 ms; the clock must chain shorter steps instead.
  it('fires a 30-day timer after 30 days, not before', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const clock = new RealClock();
    const start = clock.now();
    let firedAt: number | null = null;
    clock.setTimeout(() => (firedAt = clock.now() - start), 30 * DAY);
    vi.advanceTimersByTime(1000);
    expect(firedAt).toBeNull();
    vi.advanceTimersByTime(30 * DAY - 1000 - 1);
    expect(firedAt).toBeNull();
    vi.advanceTimersByTime(1);
    expect(firedAt).toBe(30 * DAY);
  });

  it('keeps a 100-year timer pending across its steps, and cancels it at any step', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const clock = new RealClock();
    const years100 = 36_525 * DAY;
    let fired = 0;
    clock.setTimeout(() => fired++, years100);
    const cancelled = clock.setTimeout(() => fired++, years100);
    vi.advanceTimersByTime(MAX_TIMER_STEP_MS * 3 + 5); // past a few steps
    expect(fired).toBe(0);
    clock.clearTimeout(cancelled);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(years100 - (MAX_TIMER_STEP_MS * 3 + 5) - 1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('repeats a 30-day period every 30 days (node --stats-every 30d) until stopped', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const clock = new RealClock();
    let ticks = 0;
    const stop = repeat(clock, 30 * DAY, () => ticks++);
    vi.advanceTimersByTime(30 * DAY - 1);
    expect(ticks).toBe(0);
    vi.advanceTimersByTime(1);
    expect(ticks).toBe(1);
    vi.advanceTimersByTime(30 * DAY);
    expect(ticks).toBe(2);
    stop();
    vi.advanceTimersByTime(90 * DAY);
    expect(ticks).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});
