import { describe, expect, it } from 'vitest';
import { MAX_WINDOW_SENDS, SendWindow, sendWindowForRate } from '../../../src/core/net/send-window.js';

/** The most of these times within any span shorter than windowMs. */
function maxInWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j] - times[i] >= windowMs) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

describe('SendWindow', () => {
  it('lets a burst of max go at once, then waits for the oldest to leave the window', () => {
    const w = new SendWindow(5, 1000);
    expect(Array.from({ length: 6 }, () => w.tryTake(0))).toEqual([true, true, true, true, true, false]);
    expect(w.msUntilSendable(0)).toBe(1000);
    expect(w.tryTake(999)).toBe(false);
    expect(w.tryTake(1000)).toBe(true);
    expect(w.msUntilSendable(1000)).toBe(0); // the other four of t=0 left too
  });

  it('books slots for waiting sends in order, at most max per window, and refuses beyond maxWaitMs', () => {
    const w = new SendWindow(2, 1000);
    const waits = Array.from({ length: 7 }, () => w.reserve(0, 2500));
    expect(waits).toEqual([0, 0, 1000, 1000, 2000, 2000, -1]);
    expect(w.reserve(0, 3000)).toBe(3000); // the refusal booked nothing
  });

  it('is exact from the sends granted, when a booked send goes out later than its slot', () => {
    const w = new SendWindow(2, 1000);
    expect([w.reserve(0, 5000), w.reserve(0, 5000), w.reserve(0, 5000), w.reserve(0, 5000)]).toEqual([0, 0, 1000, 1000]);
    w.sentAt(0);
    w.sentAt(300); // the second booked send was held up 300 ms
    w.sentAt(1000);
    expect(w.msUntilSendable(1000)).toBe(300); // the fourth, booked for 1000, may not go before 1300
    // and bookings made now are past both
    expect(w.reserve(1000, 5000)).toBe(1000);
  });

  it('never has more than max sends within any window under a stream of reservations', () => {
    const w = new SendWindow(5, 1000);
    const sends: number[] = [];
    for (let t = 0; t < 10_000; t += 37) {
      const wait = w.reserve(t, 60_000);
      sends.push(t + wait);
      w.sentAt(t + wait);
    }
    expect(maxInWindow(sends, 1000)).toBe(5);
    expect(maxInWindow(sends, 1001)).toBe(6); // and it is tight: the window is no wider than asked
  });

  it('is idle once a window has passed since the last booking and send', () => {
    const w = new SendWindow(3, 1000);
    expect(w.isIdle(0)).toBe(true);
    w.tryTake(10);
    expect(w.isIdle(1009)).toBe(false);
    expect(w.isIdle(1010)).toBe(true);
  });

  it('rejects nonsense parameters', () => {
    expect(() => new SendWindow(0, 1000)).toThrow(/max/);
    expect(() => new SendWindow(MAX_WINDOW_SENDS + 1, 1000)).toThrow(/max/);
    expect(() => new SendWindow(1.5, 1000)).toThrow(/max/);
    expect(() => new SendWindow(5, 0)).toThrow(/window/);
  });
});

describe('sendWindowForRate', () => {
  it('is a second of sends at the rate, at least 1 and at most MAX_WINDOW_SENDS', () => {
    expect(sendWindowForRate(5)).toEqual({ max: 5, windowMs: 1000 });
    expect(sendWindowForRate(0.5)).toEqual({ max: 1, windowMs: 2000 });
    expect(sendWindowForRate(2.5)).toEqual({ max: 3, windowMs: 1200 });
    expect(sendWindowForRate(200)).toEqual({ max: 64, windowMs: 320 });
    expect(() => sendWindowForRate(0)).toThrow(/rate/);
  });
});
