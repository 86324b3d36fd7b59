// A sliding-window send limit: at most `max` sends in any `windowMs` milliseconds, exactly. A
// token bucket of rate max/windowMs with burst 1 keeps the same promise only by spacing every
// send evenly; a window lets a burst of `max` go at once and then waits, which suits peers that
// count packets per second (libtorrent blocks a source above 5 packets/s): 5 now, 5 a second later.
//
// Two rings of times, both non-decreasing: bookings (slots handed out for sends that wait) and
// sends (when a send was actually granted). Bookings spread waiting sends so they do not all wake
// at once; the send ring is what makes the limit exact, since a booked send can go out later than
// its slot (a global queue ahead of it, a timer firing late or early).
import type { KeyedLimit } from './keyed-limits.js';

/** The most sends a window tracks (it keeps that many timestamps per key, twice). */
export const MAX_WINDOW_SENDS = 64;

export interface SendWindowLimit {
  /** Sends allowed in any window (1..MAX_WINDOW_SENDS). */
  max: number;
  windowMs: number;
}

/**
 * The window for an average rate: a second's worth of sends (at least 1, at most
 * MAX_WINDOW_SENDS) per the time they take at that rate. 5/s: 5 per 1000 ms; 0.5/s: 1 per 2000 ms;
 * 200/s: 64 per 320 ms.
 */
export function sendWindowForRate(ratePerSec: number): SendWindowLimit {
  if (!(ratePerSec > 0)) throw new Error(`send rate must be > 0 (got ${ratePerSec})`);
  const max = Math.min(MAX_WINDOW_SENDS, Math.max(1, Math.ceil(ratePerSec)));
  return { max, windowMs: (max * 1000) / ratePerSec };
}

/** The last `size` times pushed; the oldest is the one the next push overwrites. */
class TimeRing {
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly size: number) {
    this.times = new Float64Array(size);
  }

  push(t: number): void {
    this.times[this.next] = t;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    if (this.count < this.size) this.count++;
  }

  /** The time `size` pushes ago, or -Infinity while fewer were pushed. */
  oldest(): number {
    return this.count < this.size ? -Infinity : this.times[this.next];
  }

  /** The last time pushed, or -Infinity. */
  newest(): number {
    return this.count === 0 ? -Infinity : this.times[this.next === 0 ? this.size - 1 : this.next - 1];
  }
}

export class SendWindow implements KeyedLimit {
  private readonly booked: TimeRing;
  private readonly sent: TimeRing;

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {
    if (!(Number.isInteger(max) && max >= 1 && max <= MAX_WINDOW_SENDS)) throw new Error(`send window max must be an integer in 1..${MAX_WINDOW_SENDS} (got ${max})`);
    if (!(windowMs > 0)) throw new Error(`send window must be > 0 ms (got ${windowMs})`);
    this.booked = new TimeRing(max);
    this.sent = new TimeRing(max);
  }

  /** Milliseconds until a send would keep the limit, from the sends granted so far (0: now). */
  msUntilSendable(now: number): number {
    const at = this.sent.oldest() + this.windowMs;
    return at > now ? at - now : 0;
  }

  /**
   * Books the next free slot and returns the wait in ms until it (0: now); or -1, booking
   * nothing, when that wait would exceed maxWaitMs. The send itself is recorded with sentAt().
   */
  reserve(now: number, maxWaitMs: number): number {
    const slot = Math.max(now, this.booked.oldest() + this.windowMs, this.sent.oldest() + this.windowMs);
    if (slot - now > maxWaitMs) return -1;
    this.booked.push(slot);
    return slot - now;
  }

  /** Records a send granted now (the caller checked msUntilSendable(now) === 0). */
  sentAt(now: number): void {
    this.sent.push(now);
  }

  /** Books and records a send now if the limit allows it now. */
  tryTake(now: number): boolean {
    if (this.reserve(now, 0) !== 0) return false;
    this.sent.push(now);
    return true;
  }

  /** Nothing booked or sent within the last window: behaves exactly like a new window. */
  isIdle(now: number): boolean {
    return this.booked.newest() + this.windowMs <= now && this.sent.newest() + this.windowMs <= now;
  }
}
