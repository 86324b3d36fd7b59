// Checkpoints (src/core/crawl/checkpoint.ts) and output backpressure in the crawl engine, on
// virtual time: saves come every period only when the traversal moved, are spaced by what they
// cost in real time, and a held output stops new queries without losing a record.
import { describe, expect, it } from 'vitest';
import { Checkpointer } from '../../../src/core/crawl/checkpoint.js';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { attachCrawler, createTestnet, driveCrawl, measureRecall } from '../../../src/core/crawl/sim-crawl.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { toHex } from '../../../src/core/wire/hex.js';

describe('Checkpointer', () => {
  it('saves every period while the traversal moves, and skips when nothing changed', async () => {
    const clock = new VirtualClock();
    let mark = 0;
    const saves: number[] = [];
    const cp = new Checkpointer({ clock, everyMs: 5000, mark: () => mark, save: async () => (saves.push(clock.now()), true), measure: () => 0 });
    cp.start();
    mark = 1;
    await clock.advanceAsync(5000);
    await clock.advanceAsync(5000); // nothing moved since the last save
    mark = 2;
    await clock.advanceAsync(5000);
    expect(saves).toEqual([5000, 15000]);
    expect(cp.counters).toEqual({ saved: 2, skipped: 1 });
    await cp.stop();
    mark = 3;
    await clock.advanceAsync(20_000);
    expect(saves).toHaveLength(2);
  });

  it('spaces saves so that they take at most maxShare of the real time', async () => {
    const clock = new VirtualClock();
    let real = 0;
    let mark = 0;
    const saves: number[] = [];
    const cp = new Checkpointer({
      clock,
      everyMs: 1000,
      maxShare: 0.1,
      mark: () => ++mark, // always moving
      measure: () => real,
      save: async () => {
        saves.push(real);
        real += 50; // each save costs 50 ms of real time
        return true;
      },
    });
    cp.start();
    for (let i = 0; i < 100; i++) {
      real += 10; // virtual time runs 100x faster than real time
      await clock.advanceAsync(1000);
    }
    await cp.stop();
    // a 50 ms save at 10% allows one start per 500 ms of real time
    for (let i = 1; i < saves.length; i++) expect(saves[i] - saves[i - 1]).toBeGreaterThanOrEqual(500);
    // about 1.1 s of real time: 2 or 3 saves instead of one per engine second (100)
    expect(saves.length).toBeGreaterThanOrEqual(2);
    expect(saves.length).toBeLessThanOrEqual(3);
  });
});

describe('CrawlEngine checkpoints and backpressure', () => {
  it('a crawl stopped a few engine seconds in has already checkpointed its traversal', async () => {
    const net = createTestnet({ nodes: 2000, seed: 51 });
    const store = new SqliteStore(':memory:');
    let state: unknown;
    // a kill -9 at 20 s of engine time: what would --resume find? (the bootstrap and seed
    // lookups take ~8 s on the world's long-tailed round trips, the first checkpoint 5 s more)
    net.clock.setTimeout(() => (state = store.loadState('crawl:keyspace')), 20_000);
    const crawl = createCrawl({ node: attachCrawler(net), store, seed: 2, limits: { durationMs: 21_000 } });
    const s = await driveCrawl(net, crawl);
    expect(s.stopped_by).toBe('duration');
    expect(state).toMatchObject({ v: 1, strategy: 'keyspace' });
    store.close();
  });

  it('while the output holds it, sends no new query; released, it finishes without losing a record', async () => {
    const net = createTestnet({ nodes: 600, seed: 52 });
    let gate: Promise<void> | null = null;
    let seen = 0;
    let sentAtHold = -1;
    let sentAtRelease = -1;
    const found = new Set<string>();
    const crawl = createCrawl({
      node: attachCrawler(net),
      seed: 3,
      // only the engine holds here: virtual time goes on, as real time does for a live crawl
      backpressure: () => gate,
      onInfohash: (r) => {
        found.add(toHex(r.infohash));
        if (++seen !== 100) return;
        sentAtHold = crawl.stats().queries_sent;
        let release!: () => void;
        gate = new Promise<void>((resolve) => (release = resolve));
        net.clock.setTimeout(() => {
          sentAtRelease = crawl.stats().queries_sent;
          gate = null;
          release();
        }, 60_000);
      },
    });
    const s = await driveCrawl(net, crawl);
    expect(sentAtHold).toBeGreaterThan(0);
    // a minute of engine time went by: only id-verification pings of answers in flight may go out
    expect(sentAtRelease - sentAtHold).toBeLessThanOrEqual(5);
    expect(s.stopped_by).toBe('done');
    expect(found.size).toBe(s.unique_infohashes);
    expect(measureRecall(net.world, found).infohash_recall).toBeGreaterThanOrEqual(0.98);
  });

  it('on a testnet, a held output stops virtual time too', async () => {
    const net = createTestnet({ nodes: 300, seed: 53 });
    let gate: Promise<void> | null = null;
    let release!: () => void;
    let heldAt = -1;
    const crawl = createCrawl({
      node: attachCrawler(net),
      seed: 4,
      backpressure: () => gate,
      onInfohash: () => {
        if (gate || heldAt >= 0) return;
        heldAt = net.clock.now();
        gate = new Promise<void>((resolve) => (release = resolve));
      },
    });
    const backpressure = () => gate;
    const running = driveCrawl(net, crawl, undefined, backpressure);
    while (heldAt < 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    expect(net.clock.now()).toBe(heldAt);
    gate = null;
    release();
    const s = await running;
    expect(s.stopped_by).toBe('done');
  });
});
