// Buffers records and hands them to a sink in batches: when `maxItems` are waiting, when the
// oldest waiting record is `maxDelayMs` old, on flush() and on close(). One batch is one
// transaction, so a process killed with SIGKILL loses at most what is buffered (`pending`).
//
// Durability versus latency: the crawl prints an infohash from `onWritten`, after its batch is
// committed, so every printed line is in the database, and a line reaches stdout up to
// `maxDelayMs` after it was found. A kill -9 loses only records not yet printed.
import type { Clock, TimerHandle } from '../net/clock.js';
import { RealClock } from '../net/real-clock.js';

export interface BatchWriterOptions<T, R> {
  /** Writes one batch (one transaction). May return synchronously or a promise. */
  write(items: T[]): R | Promise<R>;
  /** Flush when this many records are buffered (default 500). */
  maxItems?: number;
  /** Flush this long after the first record entered an empty buffer (default 1000; 0 disables). */
  maxDelayMs?: number;
  /** Timer source (default: a RealClock, whose timers never keep the process alive). */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Called with each committed batch and the sink's result. */
  onWritten?(result: R, items: T[]): void;
  /**
   * Receives errors of flushes nobody awaits (size- and timer-triggered). Without it, such an
   * error is kept and thrown by the next add(), flush() or close(), so it is never lost.
   */
  onError?(error: unknown): void;
}

// Unref'd, so a pending flush never keeps the process alive.
const realClock = new RealClock();

function isThenable<R>(value: R | Promise<R>): value is Promise<R> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

export class BatchWriter<T, R = unknown> {
  private readonly sink: (items: T[]) => R | Promise<R>;
  private readonly maxItems: number;
  private readonly maxDelayMs: number;
  private readonly clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  private readonly onWritten?: (result: R, items: T[]) => void;
  private readonly onError?: (error: unknown) => void;

  private buffer: T[] = [];
  private timer: TimerHandle | undefined;
  /** Settles (never rejects) when every asynchronous write started so far has finished. */
  private tail: Promise<void> | undefined;
  private inFlight = 0;
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor(options: BatchWriterOptions<T, R>) {
    this.sink = options.write;
    this.maxItems = Math.max(1, Math.floor(options.maxItems ?? 500));
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.clock = options.clock ?? realClock;
    this.onWritten = options.onWritten;
    this.onError = options.onError;
  }

  /** Records not yet committed: buffered plus being written. */
  get pending(): number {
    return this.buffer.length + this.inFlight;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  add(item: T): void {
    this.rethrowFailure();
    if (this.closed) throw new Error('BatchWriter is closed');
    this.buffer.push(item);
    if (this.buffer.length >= this.maxItems) {
      this.flushUnattended();
    } else if (this.timer === undefined && this.maxDelayMs > 0 && Number.isFinite(this.maxDelayMs)) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.flushUnattended();
      }, this.maxDelayMs);
    }
  }

  /**
   * Writes what is buffered and waits for writes in progress. With a synchronous sink the batch
   * is committed before flush() returns; the promise only reports the outcome.
   */
  flush(): Promise<void> {
    try {
      this.rethrowFailure();
      return this.flushNow() ?? Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** flush() for synchronous sinks (e.g. SQLite): throws instead of rejecting. */
  flushSync(): void {
    this.rethrowFailure();
    const pendingWrite = this.flushNow();
    if (pendingWrite) {
      pendingWrite.catch((error: unknown) => this.fail(error));
      throw new Error('flushSync() needs a synchronous sink; use flush()');
    }
  }

  /** Flushes and refuses further records. Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    return this.flush();
  }

  closeSync(): void {
    this.closed = true;
    this.flushSync();
  }

  private flushUnattended(): void {
    try {
      this.flushNow()?.catch((error: unknown) => this.fail(error));
    } catch (error) {
      this.fail(error);
    }
  }

  /** Returns a promise only when something asynchronous is still running. */
  private flushNow(): Promise<void> | undefined {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.buffer.length === 0) return this.tail;
    const items = this.buffer;
    this.buffer = [];
    if (this.tail) {
      // Keep batches in order behind a write still in progress.
      return this.track(items, this.tail.then(() => this.sink(items)));
    }
    const result = this.sink(items);
    if (isThenable(result)) return this.track(items, result);
    this.onWritten?.(result, items);
    return undefined;
  }

  private track(items: T[], result: Promise<R>): Promise<void> {
    this.inFlight += items.length;
    const done = result.then(
      (value) => {
        this.inFlight -= items.length;
        this.onWritten?.(value, items);
      },
      (error: unknown) => {
        this.inFlight -= items.length;
        throw error;
      },
    );
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.tail = settled;
    void settled.then(() => {
      if (this.tail === settled) this.tail = undefined;
    });
    return done;
  }

  private fail(error: unknown): void {
    if (this.onError) this.onError(error);
    else this.failure ??= { error };
  }

  private rethrowFailure(): void {
    const failure = this.failure;
    if (failure) {
      this.failure = undefined;
      throw failure.error;
    }
  }
}
