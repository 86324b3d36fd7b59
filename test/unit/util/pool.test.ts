import { describe, expect, it } from 'vitest';
import { mapConcurrent, untilStopped } from '../../../src/core/util/pool.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapConcurrent', () => {
  it('runs at most `limit` jobs at once and yields every result in finishing order', async () => {
    // Each job ends when the test opens its gate, so the order does not depend on timers (a loaded
    // machine fires late timers together).
    const gates = Array.from({ length: 8 }, () => {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    });
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const out: number[] = [];
    const drained = (async () => {
      for await (const v of mapConcurrent(gates.keys(), 3, async (i) => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await gates[i].promise;
        running--;
        return i;
      })) out.push(v);
    })();
    const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
    await settle();
    expect(started).toEqual([0, 1, 2]);
    for (const i of [1, 3, 2, 5, 0, 4, 7, 6]) {
      gates[i].resolve();
      await settle();
    }
    await drained;
    expect(peak).toBe(3);
    expect(out).toEqual([1, 3, 2, 5, 0, 4, 7, 6]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('yields results while the source is still waiting for its next item (a slow stdin)', async () => {
    const events: string[] = [];
    async function* slowSource(): AsyncGenerator<number> {
      yield 1;
      await sleep(50);
      events.push('source resumed');
      yield 2;
    }
    for await (const v of mapConcurrent(slowSource(), 4, async (x) => x * 10)) events.push(`result ${v}`);
    expect(events).toEqual(['result 10', 'source resumed', 'result 20']);
  });

  it('pulls items only when a slot is free', async () => {
    let pulled = 0;
    function* source(): Generator<number> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    }
    const gen = mapConcurrent(source(), 2, async (x) => {
      await sleep(1);
      return x;
    });
    await gen.next();
    expect(pulled).toBeLessThanOrEqual(3);
    await gen.return(undefined);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    function* source(): Generator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const v of mapConcurrent(source(), 2, async (x) => x)) if (v >= 3) break;
    expect(closed).toBe(true);
  });

  it('handles an empty source', async () => {
    const out: number[] = [];
    for await (const v of mapConcurrent([], 4, async (x: number) => x)) out.push(v);
    expect(out).toEqual([]);
  });
});

describe('untilStopped', () => {
  it('ends a source blocked on a read as soon as the stop promise settles', async () => {
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    async function* blocked(): AsyncGenerator<number> {
      yield 1;
      await new Promise(() => {}); // never delivers
      yield 2;
    }
    const seen: number[] = [];
    setTimeout(release, 20);
    for await (const v of untilStopped(blocked(), stop)) seen.push(v);
    expect(seen).toEqual([1]);
  });

  it('passes a finite source through untouched', async () => {
    const seen: number[] = [];
    async function* three(): AsyncGenerator<number> {
      yield* [1, 2, 3];
    }
    for await (const v of untilStopped(three(), new Promise(() => {}))) seen.push(v);
    expect(seen).toEqual([1, 2, 3]);
  });
});
