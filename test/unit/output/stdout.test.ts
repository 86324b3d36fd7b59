// StdoutWriter (src/output/stdout.ts) against a reader we control: producers that wait see the
// backlog and its end, offer() drops and counts beyond its bound instead of queueing, release()
// frees waiters, and settle() gives up on a stuck reader instead of hanging.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StdoutWriter } from '../../../src/output/stdout.js';

/** A pipe whose reader takes chunks only when told to. */
class SlowReader extends Writable {
  readonly taken: string[] = [];
  private pending: Array<() => void> = [];
  constructor(highWaterMark = 64) {
    super({ highWaterMark, decodeStrings: false });
  }
  override _write(chunk: string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(() => {
      this.taken.push(String(chunk));
      cb();
    });
  }
  /** The reader takes everything waiting. */
  readAll(): void {
    while (this.pending.length > 0) this.pending.shift()!();
  }
}

const out = (r: SlowReader) => r as unknown as NodeJS.WriteStream;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('StdoutWriter with a slow reader', () => {
  it('reports the backlog and resolves drained() once the reader catches up; nothing is lost', async () => {
    const reader = new SlowReader(64);
    const w = new StdoutWriter(out(reader));
    expect(w.backlogged).toBe(false);
    for (let i = 0; i < 10; i++) w.record({ i, pad: 'x'.repeat(20) });
    expect(w.backlogged).toBe(true);
    let drained = false;
    const wait = w.drained().then(() => (drained = true));
    expect(w.drained()).toBe(w.drained()); // one waiter however often producers ask
    await turn();
    expect(drained).toBe(false);
    for (let i = 0; i < 20 && !drained; i++) {
      reader.readAll();
      await turn();
    }
    await wait;
    expect(w.backlogged).toBe(false);
    expect(reader.taken.join('').trim().split('\n').map((l) => JSON.parse(l).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('recordAndWait() returns only when the reader has caught up', async () => {
    const reader = new SlowReader(16);
    const w = new StdoutWriter(out(reader));
    let returned = false;
    const p = w.recordAndWait({ big: 'y'.repeat(100) }).then(() => (returned = true));
    await turn();
    expect(returned).toBe(false);
    reader.readAll();
    await p;
    expect(returned).toBe(true);
  });

  it('offer() drops and counts records once the backlog passes its bound, and writes again after', async () => {
    const reader = new SlowReader(16);
    const w = new StdoutWriter(out(reader), 1000);
    let written = 0;
    for (let i = 0; i < 200; i++) {
      const before = w.waitingBytes;
      expect(w.offer({ i, pad: 'z'.repeat(40) })).toBe(true);
      if (w.waitingBytes > before) written++;
    }
    expect(w.dropped).toBeGreaterThan(150);
    expect(written + w.dropped).toBe(200);
    expect(w.waitingBytes).toBeLessThan(1000 + 100);
    for (let i = 0; i < 50 && w.waitingBytes > 0; i++) {
      reader.readAll();
      await turn();
    }
    const dropped = w.dropped;
    w.offer({ after: true });
    expect(w.dropped).toBe(dropped);
  });

  it('release() frees every waiter and stops further waits (a signal with a stuck reader)', async () => {
    const reader = new SlowReader(16);
    const w = new StdoutWriter(out(reader));
    w.record({ big: 'q'.repeat(100) });
    const wait = w.drained();
    w.release();
    await wait;
    expect(w.backlogged).toBe(false);
    await w.recordAndWait({ more: 'q'.repeat(100) }); // does not wait any more
  });

  it('settle() waits for a reader that reads and gives up on one that does not', async () => {
    const reader = new SlowReader(16);
    const w = new StdoutWriter(out(reader));
    w.record({ a: 1 });
    setTimeout(() => reader.readAll(), 50);
    expect(await w.settle(1000, 5000)).toBe(true);
    w.record({ b: 2 });
    const started = Date.now();
    expect(await w.settle(200, 5000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('a closed stdout ends the waits', async () => {
    const reader = new SlowReader(16);
    const w = new StdoutWriter(out(reader));
    w.record({ big: 'c'.repeat(100) });
    const wait = w.drained();
    reader.emit('error', Object.assign(new Error('EPIPE'), { code: 'EPIPE' }));
    await wait;
    expect(w.closed).toBe(true);
    expect(w.offer({ x: 1 })).toBe(false);
  });
});
