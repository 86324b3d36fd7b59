// One timer structure for many deadlines: a binary min-heap ordered by deadline, driven by a
// single clock timer that is always armed for the earliest deadline. add/cancel are O(log n),
// and thousands of in-flight queries cost one clock timer instead of one each.
import type { Clock, TimerHandle } from './clock.js';

/** A scheduled callback. Keep it to cancel; treat its fields as read-only. */
export class TimerRef {
  /** Position in the heap, or -1 once fired or cancelled. */
  index = -1;
  constructor(
    readonly deadline: number,
    /** Tie-breaker so equal deadlines fire in insertion order. */
    readonly seq: number,
    readonly fn: (arg: any) => void,
    readonly arg: unknown,
  ) {}

  get active(): boolean {
    return this.index >= 0;
  }
}

export interface TimerWheelOptions {
  /** Fire entries whose deadline is within this many ms of now (timers may wake early). Default 1. */
  slackMs?: number;
  /** Called when a callback throws; the wheel keeps going either way. */
  onError?: (err: unknown) => void;
}

export class TimerWheel {
  private readonly heap: TimerRef[] = [];
  private seq = 0;
  private armed: TimerHandle | null = null;
  private armedFor = Infinity;
  private firing = false;
  private readonly slackMs: number;
  private readonly onError?: (err: unknown) => void;
  /** Callbacks that threw (caught). */
  callbackErrors = 0;

  constructor(
    private readonly clock: Clock,
    options: TimerWheelOptions = {},
  ) {
    this.slackMs = options.slackMs ?? 1;
    this.onError = options.onError;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Calls fn(arg) after delayMs. Passing a shared fn and a per-call arg avoids a closure per timer. */
  add<A>(delayMs: number, fn: (arg: A) => void, arg: A): TimerRef {
    return this.addAt(this.clock.now() + (delayMs > 0 ? delayMs : 0), fn, arg);
  }

  /** Calls fn(arg) at the absolute clock time deadline. */
  addAt<A>(deadline: number, fn: (arg: A) => void, arg: A): TimerRef {
    const ref = new TimerRef(deadline, this.seq++, fn, arg);
    ref.index = this.heap.length;
    this.heap.push(ref);
    this.siftUp(ref.index);
    if (!this.firing && ref.index === 0) this.arm();
    return ref;
  }

  /** Cancels a pending timer; false when it already fired or was cancelled. */
  cancel(ref: TimerRef): boolean {
    const i = ref.index;
    if (i < 0 || this.heap[i] !== ref) return false;
    this.removeAt(i);
    // A later deadline may now be first; the armed timer fires early at worst and re-arms,
    // so only disarm when nothing is left.
    if (this.heap.length === 0 && !this.firing) this.disarm();
    return true;
  }

  /** Cancels everything without calling any callback. */
  clear(): void {
    for (const ref of this.heap) ref.index = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private arm(): void {
    const first = this.heap[0];
    if (!first) {
      this.disarm();
      return;
    }
    if (this.armed && this.armedFor <= first.deadline) return;
    this.disarm();
    this.armedFor = first.deadline;
    this.armed = this.clock.setTimeout(this.onClockTimer, first.deadline - this.clock.now());
  }

  private disarm(): void {
    if (this.armed) this.clock.clearTimeout(this.armed);
    this.armed = null;
    this.armedFor = Infinity;
  }

  private readonly onClockTimer = (): void => {
    this.armed = null;
    this.armedFor = Infinity;
    this.firing = true;
    try {
      const limit = this.clock.now() + this.slackMs;
      // Entries added by callbacks with a deadline already due also fire in this loop.
      while (this.heap.length > 0 && this.heap[0].deadline <= limit) {
        const ref = this.heap[0];
        this.removeAt(0);
        try {
          ref.fn(ref.arg);
        } catch (err) {
          this.callbackErrors++;
          this.onError?.(err);
        }
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  };

  private removeAt(i: number): void {
    const heap = this.heap;
    const removed = heap[i];
    removed.index = -1;
    const last = heap.pop()!;
    if (i < heap.length) {
      heap[i] = last;
      last.index = i;
      if (i > 0 && this.less(last, heap[(i - 1) >> 1])) this.siftUp(i);
      else this.siftDown(i);
    }
  }

  private less(a: TimerRef, b: TimerRef): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const item = heap[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p];
      if (!this.less(item, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = item;
    item.index = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r], heap[l]) ? r : l;
      if (!this.less(heap[c], item)) break;
      heap[i] = heap[c];
      heap[i].index = i;
      i = c;
    }
    heap[i] = item;
    item.index = i;
  }
}
