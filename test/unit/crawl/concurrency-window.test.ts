import { describe, expect, it } from 'vitest';
import { ConcurrencyWindow } from '../../../src/core/crawl/concurrency-window.js';

/** Drives one period: `sent` queries, `answered` and `stalled` outcomes spread over periodMs. */
function period(w: ConcurrencyWindow, start: number, periodMs: number, sent: number, answered: number, stalled: number): number {
  const events = sent + answered + stalled;
  for (let i = 0; i < events; i++) {
    const t = start + (i * (periodMs - 1)) / Math.max(1, events);
    if (i < sent) w.onSent(t);
    else if (i < sent + answered) w.onAnswer(t);
    else w.onStall(t);
  }
  w.tick(start + periodMs);
  return start + periodMs;
}

describe('ConcurrencyWindow', () => {
  it('grows additively while the achieved rate is below the allowed rate, up to its bound', () => {
    const w = new ConcurrencyWindow({ max: 100, initial: 20, step: 10, ratePerSec: 1000, periodMs: 500 }, 0);
    let t = 0;
    // 100 queries per 500 ms = 200/s, far below 1000/s; half of them stall, steadily
    for (let i = 0; i < 3; i++) t = period(w, t, 500, 100, 50, 50);
    expect(w.current).toBe(50);
    for (let i = 0; i < 20; i++) t = period(w, t, 500, 100, 50, 50);
    expect(w.current).toBe(100);
    expect(w.snapshot()).toMatchObject({ window: 100, max: 100, stall_share: 0.5 });
  });

  it('holds once the rate is reached: the rate, not the slots, binds', () => {
    const w = new ConcurrencyWindow({ max: 512, initial: 64, step: 16, ratePerSec: 100, periodMs: 1000 }, 0);
    let t = 0;
    for (let i = 0; i < 10; i++) t = period(w, t, 1000, 100, 60, 40);
    expect(w.current).toBe(64);
    expect(w.snapshot().rate_per_s).toBe(100);
  });

  it('cuts multiplicatively on a loss burst above the usual stall share, not below its floor', () => {
    const w = new ConcurrencyWindow({ max: 512, min: 8, initial: 256, step: 16, ratePerSec: 10_000, periodMs: 500 }, 0);
    let t = period(w, 0, 500, 200, 100, 100); // 50% stall: the usual share here
    expect(w.current).toBe(272);
    t = period(w, t, 500, 200, 20, 180); // 90%: a burst
    expect(w.current).toBe(204);
    for (let i = 0; i < 30; i++) t = period(w, t, 500, 200, 0, 200);
    expect(w.current).toBeGreaterThanOrEqual(8);
    expect(w.snapshot().cut).toBeGreaterThan(0);
  });

  it('does not judge a period with too few outcomes', () => {
    const w = new ConcurrencyWindow({ max: 512, initial: 32, ratePerSec: 1000, minOutcomes: 20 }, 0);
    period(w, 0, 500, 5, 2, 3);
    expect(w.current).toBe(32);
  });

  it('keeps the initial size within its bounds', () => {
    expect(new ConcurrencyWindow({ max: 16, ratePerSec: 100 }, 0).current).toBe(16);
    expect(new ConcurrencyWindow({ max: 4, min: 8, ratePerSec: 100 }, 0).current).toBe(4);
  });
});
