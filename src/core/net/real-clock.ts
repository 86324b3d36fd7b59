// Wall-clock implementation of Clock: monotonic milliseconds from performance.now() and Node timers.
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from './clock.js';

export interface RealClockOptions {
  /**
   * Unref timers so that a pending timer never keeps the process alive on its own (default true).
   * Sockets keep the process alive while they are open; timeouts alone should not.
   */
  unref?: boolean;
}

class RealTimerHandle implements TimerHandle {
  constructor(
    readonly id: number,
    readonly timer: NodeJS.Timeout,
  ) {}
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
    return performance.timeOrigin + performance.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = setTimeout(fn, ms > 0 ? ms : 0);
    if (this.unref) timer.unref();
    return new RealTimerHandle(this.nextId++, timer);
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof RealTimerHandle) clearTimeout(handle.timer);
  }
}
