// A Clock on virtual time: nothing happens until the owner advances it, and timers fire in
// (time, creation order) order, so a simulation is deterministic and runs as fast as the CPU
// allows. The sync drivers (advance, runUntilIdle, runUntil) only run timer callbacks; the
// async ones (advanceAsync, runUntilAsync, runUntilIdleAsync) also let promise continuations
// run before time moves on, which code built on promises (Krpc queries) needs.
import type { Clock, TimerHandle } from './clock.js';

class VirtualTimer implements TimerHandle {
  constructor(
    readonly id: number,
    readonly owner: VirtualClock,
    /** Virtual ms at which it fires. */
    readonly at: number,
    public fn: (() => void) | null,
  ) {}
}

export interface VirtualClockOptions {
  /** Virtual time at creation, ms (default 0). */
  startMs?: number;
  /** Timers allowed to fire at one instant before a zero-delay loop is assumed (default 1e6). */
  maxTimersPerInstant?: number;
}

/** Default horizon of runUntilIdle: a day of virtual time. */
export const DEFAULT_IDLE_LIMIT_MS = 24 * 3600 * 1000;

const settleTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  // Binary min-heap ordered by (time, id), its keys in parallel typed arrays so that sifting
  // does not chase pointers (a million pending timers stay fast). Cancelled timers stay until
  // popped (fn === null) or compacted.
  private timers: (VirtualTimer | undefined)[] = [];
  private keyAt = new Float64Array(1024);
  private keyId = new Float64Array(1024);
  private count = 0;
  private live = 0;
  private firedCount = 0;
  private firedAtInstant = 0;
  private instant = NaN;
  private readonly maxPerInstant: number;
  private driving = false;

  constructor(options: VirtualClockOptions = {}) {
    this.time = options.startMs ?? 0;
    this.maxPerInstant = options.maxTimersPerInstant ?? 1_000_000;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = ms > 0 ? ms : 0; // also maps NaN to 0, like Node
    const timer = new VirtualTimer(this.nextId++, this, this.time + delay, fn);
    this.push(timer);
    this.live++;
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (!(handle instanceof VirtualTimer) || handle.owner !== this || handle.fn === null) return;
    handle.fn = null;
    this.live--;
    // lazy deletion; compact when cancelled entries dominate so the heap cannot grow unbounded
    if (this.count > 64 && this.live * 2 < this.count) this.compact();
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Timer callbacks run so far. */
  get fired(): number {
    return this.firedCount;
  }

  /** When the next live timer fires, or undefined if none is pending. */
  nextTimerAt(): number | undefined {
    this.dropCancelledTop();
    return this.count > 0 ? this.keyAt[0] : undefined;
  }

  // ---- synchronous drivers (timer callbacks only) -------------------------------------------

  /** Moves time forward by ms, firing every timer due on the way. Returns the number fired. */
  advance(ms: number): number {
    return this.advanceTo(this.time + Math.max(0, ms));
  }

  /** Moves time to t (never backwards), firing every timer due at or before t. */
  advanceTo(t: number): number {
    this.assertNotDriving();
    let count = 0;
    for (let at = this.nextTimerAt(); at !== undefined && at <= t; at = this.nextTimerAt()) {
      count += this.fireInstant();
    }
    if (t > this.time) this.time = t;
    return count;
  }

  /** Fires timers until none is pending or the next one lies more than limitMs ahead. */
  runUntilIdle(limitMs = DEFAULT_IDLE_LIMIT_MS): number {
    this.assertNotDriving();
    const end = this.time + limitMs;
    let count = 0;
    for (let at = this.nextTimerAt(); at !== undefined && at <= end; at = this.nextTimerAt()) {
      count += this.fireInstant();
    }
    return count;
  }

  /**
   * Fires timers one instant at a time until predicate() holds (checked before each instant)
   * or maxMs of virtual time have passed. Returns whether the predicate held.
   */
  runUntil(predicate: () => boolean, maxMs: number): boolean {
    this.assertNotDriving();
    const end = this.time + maxMs;
    for (;;) {
      if (predicate()) return true;
      const at = this.nextTimerAt();
      if (at === undefined || at > end) break;
      this.fireInstant();
    }
    if (end > this.time) this.time = end;
    return predicate();
  }

  // ---- asynchronous drivers (timers and promise continuations) ------------------------------

  /**
   * Lets everything already queued run: all microtasks (promise continuations, chains of any
   * depth) complete before the setImmediate callback that ends this wait.
   */
  settle(): Promise<void> {
    return settleTurn();
  }

  /** Like advance(ms), settling promise continuations after each instant. */
  async advanceAsync(ms: number): Promise<number> {
    const end = this.time + Math.max(0, ms);
    const { count } = await this.drive(end, () => false);
    if (end > this.time) this.time = end;
    return count;
  }

  /** Like runUntilIdle, settling promise continuations after each instant. */
  async runUntilIdleAsync(limitMs = DEFAULT_IDLE_LIMIT_MS): Promise<number> {
    return (await this.drive(this.time + limitMs, () => false)).count;
  }

  /** Like runUntil, settling promise continuations after each instant. */
  async runUntilAsync(predicate: () => boolean, maxMs: number): Promise<boolean> {
    const end = this.time + maxMs;
    const r = await this.drive(end, predicate);
    if (!r.satisfied && end > this.time) this.time = end;
    return r.satisfied || predicate();
  }

  private async drive(end: number, predicate: () => boolean): Promise<{ count: number; satisfied: boolean }> {
    this.assertNotDriving();
    this.driving = true;
    let count = 0;
    try {
      await settleTurn(); // what the caller set in motion runs first, at the current time
      for (;;) {
        if (predicate()) return { count, satisfied: true };
        const at = this.nextTimerAt();
        if (at === undefined || at > end) return { count, satisfied: false };
        count += this.fireInstant();
        await settleTurn();
      }
    } finally {
      this.driving = false;
    }
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Fires every live timer due at the earliest pending instant, including ones added meanwhile. */
  private fireInstant(): number {
    this.dropCancelledTop();
    if (this.count === 0) return 0;
    const at = this.keyAt[0];
    if (at > this.time) this.time = at;
    if (at !== this.instant) {
      this.instant = at;
      this.firedAtInstant = 0;
    }
    let count = 0;
    while (this.count > 0 && this.keyAt[0] <= at) {
      const timer = this.pop();
      const fn = timer.fn;
      if (fn === null) continue;
      timer.fn = null;
      this.live--;
      this.firedCount++;
      count++;
      if (++this.firedAtInstant > this.maxPerInstant) {
        throw new Error(`VirtualClock: more than ${this.maxPerInstant} timers at t=${at} ms (a zero-delay timer loop?)`);
      }
      fn(); // a throwing callback propagates to the driver: tests should see it
    }
    return count;
  }

  private assertNotDriving(): void {
    if (this.driving) throw new Error('VirtualClock: an async driver is already running');
  }

  private dropCancelledTop(): void {
    while (this.count > 0 && this.timers[0]!.fn === null) this.pop();
  }

  private place(i: number, timer: VirtualTimer): void {
    this.timers[i] = timer;
    this.keyAt[i] = timer.at;
    this.keyId[i] = timer.id;
  }

  private compact(): void {
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const timer = this.timers[i]!;
      if (timer.fn !== null) this.place(kept++, timer);
    }
    for (let i = kept; i < this.count; i++) this.timers[i] = undefined;
    this.count = kept;
    for (let i = (kept >> 1) - 1; i >= 0; i--) this.siftDown(i, this.timers[i]!);
  }

  private push(timer: VirtualTimer): void {
    if (this.count === this.keyAt.length) {
      const at = new Float64Array(this.count * 2);
      const id = new Float64Array(this.count * 2);
      at.set(this.keyAt);
      id.set(this.keyId);
      this.keyAt = at;
      this.keyId = id;
    }
    // move parents down into the hole until the new timer's place is found
    const { keyAt, keyId, timers } = this;
    const at = timer.at;
    const id = timer.id;
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pAt = keyAt[parent];
      if (pAt < at || (pAt === at && keyId[parent] < id)) break;
      timers[i] = timers[parent];
      keyAt[i] = pAt;
      keyId[i] = keyId[parent];
      i = parent;
    }
    this.place(i, timer);
  }

  private pop(): VirtualTimer {
    const top = this.timers[0]!;
    const last = --this.count;
    const moved = this.timers[last]!;
    this.timers[last] = undefined;
    if (last > 0) this.siftDown(0, moved);
    return top;
  }

  /** Puts timer at hole i or below, moving smaller children up. */
  private siftDown(i: number, timer: VirtualTimer): void {
    const { keyAt, keyId, timers } = this;
    const n = this.count;
    const at = timer.at;
    const id = timer.id;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (keyAt[right] < keyAt[child] || (keyAt[right] === keyAt[child] && keyId[right] < keyId[child]))) {
        child = right;
      }
      const cAt = keyAt[child];
      if (at < cAt || (at === cAt && id < keyId[child])) break;
      timers[i] = timers[child];
      keyAt[i] = cAt;
      keyId[i] = keyId[child];
      i = child;
    }
    this.place(i, timer);
  }
}
