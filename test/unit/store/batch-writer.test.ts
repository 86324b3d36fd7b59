// BatchWriter: records reach the sink in batches by size, by age, on flush() and on close().
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../../src/core/store/batch-writer.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { ih, tempDir } from './helpers.js';

function recorder(clock = new VirtualClock(), options: { maxItems?: number; maxDelayMs?: number } = {}) {
  const batches: number[][] = [];
  const writer = new BatchWriter<number, number>({
    write: (items) => {
      batches.push(items);
      return items.length;
    },
    clock,
    maxItems: options.maxItems ?? 3,
    maxDelayMs: options.maxDelayMs ?? 100,
  });
  return { writer, batches, clock };
}

describe('BatchWriter', () => {
  it('writes a batch as soon as maxItems are waiting', () => {
    const { writer, batches } = recorder();
    for (let i = 1; i <= 7; i++) writer.add(i);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(writer.pending).toBe(1);
  });

  it('writes what waits once the oldest record is maxDelayMs old', () => {
    const { writer, batches, clock } = recorder();
    writer.add(1);
    clock.advance(60);
    writer.add(2); // does not restart the timer
    clock.advance(39);
    expect(batches).toEqual([]);
    clock.advance(1);
    expect(batches).toEqual([[1, 2]]);
    expect(writer.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('cancels the timer when a size flush empties the buffer', () => {
    const { writer, batches, clock } = recorder();
    writer.add(1);
    writer.add(2);
    writer.add(3);
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('flush() writes the rest synchronously with a synchronous sink', () => {
    const { writer, batches } = recorder();
    writer.add(1);
    void writer.flush();
    expect(batches).toEqual([[1]]);
    writer.flushSync(); // nothing waiting: no empty batch
    expect(batches).toEqual([[1]]);
  });

  it('close() flushes and refuses further records', async () => {
    const { writer, batches } = recorder();
    writer.add(1);
    await writer.close();
    expect(batches).toEqual([[1]]);
    expect(() => writer.add(2)).toThrow(/closed/);
  });

  it('reports committed batches with the sink result', () => {
    const seen: Array<[number, number[]]> = [];
    const writer = new BatchWriter<number, number>({
      write: (items) => items.reduce((a, b) => a + b, 0),
      onWritten: (sum, items) => seen.push([sum, items]),
      maxItems: 2,
      maxDelayMs: 0,
    });
    writer.add(1);
    writer.add(2);
    writer.add(5);
    writer.flushSync();
    expect(seen).toEqual([
      [3, [1, 2]],
      [5, [5]],
    ]);
  });

  it('keeps asynchronous batches in order and counts them pending until written', async () => {
    const order: string[] = [];
    const releases: Array<() => void> = [];
    const writer = new BatchWriter<number, void>({
      write: (items) =>
        new Promise<void>((resolve) => {
          order.push(`start ${items.join(',')}`);
          releases.push(() => {
            order.push(`done ${items.join(',')}`);
            resolve();
          });
        }),
      maxItems: 2,
      maxDelayMs: 0,
    });
    writer.add(1);
    writer.add(2); // batch [1,2] starts
    writer.add(3);
    writer.add(4); // batch [3,4] waits behind [1,2]
    expect(writer.pending).toBe(4);
    expect(order).toEqual(['start 1,2']);
    const flushed = writer.flush();
    releases[0]();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start 1,2', 'done 1,2', 'start 3,4']);
    expect(writer.pending).toBe(2);
    releases[1]();
    await flushed;
    expect(writer.pending).toBe(0);
    expect(() => writer.flushSync()).not.toThrow();
  });

  it('hands errors of unattended flushes to onError', () => {
    const errors: unknown[] = [];
    const clock = new VirtualClock();
    const writer = new BatchWriter<number, void>({
      write: () => {
        throw new Error('disk full');
      },
      onError: (e) => errors.push(e),
      clock,
      maxItems: 10,
      maxDelayMs: 5,
    });
    writer.add(1);
    expect(() => clock.advance(5)).not.toThrow();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('disk full');
  });

  it('without onError, rethrows an unattended failure on the next call', async () => {
    const clock = new VirtualClock();
    let fail = true;
    const writer = new BatchWriter<number, void>({
      write: () => {
        if (fail) throw new Error('locked');
      },
      clock,
      maxItems: 10,
      maxDelayMs: 5,
    });
    writer.add(1);
    clock.advance(5);
    fail = false;
    expect(() => writer.add(2)).toThrow('locked');
    // Reported once; afterwards the writer carries on.
    writer.add(3);
    await expect(writer.flush()).resolves.toBeUndefined();
  });

  it('flush() rejects when the sink throws', async () => {
    const writer = new BatchWriter<number, void>({
      write: () => {
        throw new Error('boom');
      },
      maxItems: 10,
      maxDelayMs: 0,
    });
    writer.add(1);
    await expect(writer.flush()).rejects.toThrow('boom');
  });
});

describe('SqliteStore writers', () => {
  it('batch into the database and are flushed by store.close()', () => {
    const path = join(tempDir(), 'crawl.db');
    const store = new SqliteStore(path);
    let newCount = 0;
    const writer = store.infohashWriter({
      maxItems: 4,
      maxDelayMs: 0,
      onWritten: (results) => (newCount += results.filter((r) => r.isNew).length),
    });
    const nodes = store.nodeWriter({ maxItems: 100, maxDelayMs: 0 });
    for (let n = 0; n < 10; n++) writer.add({ infohash: ih(n % 6), seenAt: n });
    nodes.add({ addr: '127.0.0.1:9', seenAt: 1 });
    expect(writer.pending).toBe(2);
    expect(newCount).toBe(6);
    expect(store.has(ih(5))).toBe(true);
    store.close();
    expect(writer.isClosed).toBe(true);

    const reopened = new SqliteStore(path);
    const stats = reopened.stats();
    expect(stats.infohashes).toBe(6);
    expect(stats.nodes).toBe(1);
    expect([...reopened.listInfohashes({ order: 'times_seen', direction: 'desc' })].map((r) => r.times_seen)).toEqual([
      2, 2, 2, 2, 1, 1,
    ]);
    reopened.close();
  });
});
