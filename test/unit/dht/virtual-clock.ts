// A deterministic virtual clock for dht tests: time moves only when the test advances it.
import type { Clock, TimerHandle } from '../../../src/core/net/clock.js';

interface Timer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > until) break;
      this.timers.delete(next.id);
      this.time = next.at;
      next.fn();
    }
    this.time = until;
  }

  /**
   * Runs timers one at a time, letting promise callbacks settle between them, until `done`
   * settles or no timer is left. Bounded by `maxSteps`.
   */
  async run<T>(done: Promise<T>, maxSteps = 1_000_000): Promise<T> {
    let settled = false;
    done.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let step = 0; step < maxSteps; step++) {
      await flush();
      if (settled) return done;
      const next = this.earliest();
      if (!next) break;
      this.timers.delete(next.id);
      this.time = next.at;
      next.fn();
    }
    await flush();
    if (settled) return done;
    throw new Error(`virtual clock: promise still pending at t=${this.time} with ${this.timers.size} timers`);
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}

/** Lets queued promise reactions run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
