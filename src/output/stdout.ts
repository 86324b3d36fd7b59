// Everything a command prints on stdout goes through here: NDJSON records (one per line, as they
// arrive) or human text. A closed stdout (`| head`) flips `closed` so the command can stop early,
// save what it must and still exit 0.
//
// A slow reader: stdout to a pipe is asynchronous in Node, so whatever the reader has not taken
// waits in memory. Commands whose records are their result wait for the reader (`backlogged`,
// `drained()`, `recordAndWait()`) and never drop one; an event stream that may lose events
// (`node`) uses offer(), which drops and counts once `dropAboveBytes` are waiting. After a
// signal, release() stops every wait so that a stuck reader cannot hold the run.
import { EventEmitter } from 'node:events';
import { jsonLine } from './records.js';

export type JsonRecord = Record<string, unknown>;

/** offer() drops records while more than this is waiting for the reader. */
const DEFAULT_DROP_ABOVE_BYTES = 1024 * 1024;

/** settle(): give up when the reader took nothing for this long, or after maxMs in all. */
const SETTLE_IDLE_MS = 1000;
const SETTLE_MAX_MS = 10_000;
const SETTLE_POLL_MS = 25;

type Out = NodeJS.WritableStream & Pick<NodeJS.WriteStream, 'writableLength' | 'writableNeedDrain'>;

export class StdoutWriter extends EventEmitter {
  closed = false;
  records = 0;
  /** Records offer() dropped because the reader was behind. */
  dropped = 0;
  private released = false;
  private drain: Promise<void> | null = null;

  constructor(
    private readonly out: Out = process.stdout,
    private readonly dropAboveBytes = DEFAULT_DROP_ABOVE_BYTES,
  ) {
    super();
    // EPIPE and friends arrive asynchronously as 'error' events; all of them mean "stop writing".
    // 'close' covers a stream destroyed without an error event reaching us.
    out.on('error', () => this.markClosed());
    out.on('close', () => this.markClosed());
  }

  /** One NDJSON line (numbers rounded: records.ts). Returns false once stdout is gone. */
  record(record: JsonRecord): boolean {
    this.records++;
    return this.text(jsonLine(record) + '\n');
  }

  text(chunk: string): boolean {
    if (this.closed) return false;
    try {
      this.out.write(chunk);
    } catch {
      this.markClosed();
    }
    return !this.closed;
  }

  /** One record, then, if the reader is behind, waits until it catches up. False once stdout is gone. */
  async recordAndWait(record: JsonRecord): Promise<boolean> {
    this.record(record);
    if (this.backlogged) await this.drained();
    return !this.closed;
  }

  /** A record the reader may miss: written, unless the reader is too far behind (then counted in `dropped`). */
  offer(record: JsonRecord): boolean {
    if (this.closed) return false;
    if (this.out.writableLength >= this.dropAboveBytes) {
      this.dropped++;
      return true;
    }
    return this.record(record);
  }

  /** The reader is behind (more than the stream's high-water mark is waiting): producers should wait. */
  get backlogged(): boolean {
    return !this.closed && !this.released && this.out.writableNeedDrain === true;
  }

  /** Bytes written that the reader has not taken yet. */
  get waitingBytes(): number {
    return this.out.writableLength;
  }

  /** Resolves when the reader has caught up, stdout is gone, or release() was called. Never rejects. */
  drained(): Promise<void> {
    if (!this.backlogged) return Promise.resolve();
    this.drain ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.removeListener('drain', done);
        this.removeListener('closed', done);
        this.removeListener('released', done);
        this.drain = null;
        resolve();
      };
      this.out.on('drain', done);
      this.once('closed', done);
      this.once('released', done);
    });
    return this.drain;
  }

  /** The run is ending (a signal): nobody waits for the reader any more. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.emit('released');
  }

  /**
   * Waits until the reader has taken everything written, bounded: it gives up once the reader
   * took nothing for a second (a stuck pipe), and after 10 s in all. True when all was taken.
   */
  async settle(idleMs = SETTLE_IDLE_MS, maxMs = SETTLE_MAX_MS): Promise<boolean> {
    const start = Date.now();
    let last = this.out.writableLength;
    let lastChange = start;
    while (!this.closed && this.out.writableLength > 0) {
      const now = Date.now();
      const waiting = this.out.writableLength;
      if (waiting !== last) {
        last = waiting;
        lastChange = now;
      }
      if (now - lastChange >= idleMs || now - start >= maxMs) return false;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
    return true;
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('closed');
  }
}
