// Wall-clock implementation of Clock: monotonic milliseconds from performance.now() and Node timers.
import type { Clock, TimerHandle } from './clock.js';

/**
 * The longest delay Node's setTimeout takes: past it (2^31 ms, about 24.8 days) a timer fires
 * after 1 ms instead. Longer timers are chained in steps of at most this.
 */
export const MAX_TIMER_STEP_MS = 2 ** 31 - 1;

export interface RealClockOptions {
  /**
   * Unref timers so that a pending timer never keeps the process alive on its own (default true).
   * Sockets keep the process alive while they are open; timeouts alone should not.
   */
  unref?: boolean;
}

class RealTimerHandle implements TimerHandle {
  /** The Node timer of the current step (a long timer re-arms it). */
  timer: NodeJS.Timeout | undefined;
  constructor(readonly id: number) {}
}

export class RealClock implements Clock {
  private readonly unref: boolean;
  private nextId = 1;

  constructor(options: RealClockOptions = {}) {
    this.unref = options.unref ?? true;
  }

  now(): number {
    // Offset by the process start so times are positive and comparable with saved wall times
    // (routing files store last-seen times; 0 means "never" in the table).
    // The global, not node:perf_hooks' export: the same object, but tests can fake the global.
    return performance.timeOrigin + performance.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = new RealTimerHandle(this.nextId++);
    const delay = ms > 0 ? ms : 0; // also maps NaN to 0, like Node
    if (delay <= MAX_TIMER_STEP_MS) {
      handle.timer = this.arm(fn, delay);
      return handle;
    }
    // Each step measures what is left against the deadline, so the steps do not add up drift.
    const deadline = this.now() + delay;
    const step = (): void => {
      const left = deadline - this.now();
      handle.timer = left > MAX_TIMER_STEP_MS ? this.arm(step, MAX_TIMER_STEP_MS) : this.arm(fn, left > 0 ? left : 0);
    };
    step();
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof RealTimerHandle && handle.timer !== undefined) clearTimeout(handle.timer);
  }

  private arm(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(fn, ms);
    if (this.unref) timer.unref();
    return timer;
  }
}
