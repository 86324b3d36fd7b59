// Four crawlers on one simulated world, each with its own engine and address, sharing one
// database through keyspace leases: together they find what one crawler finds, each node is
// queried about once overall, and when one dies mid-range (it stops renewing, as after kill -9)
// the others finish its range from its checkpoint.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCrawl } from '../../../src/core/crawl/create-crawl.js';
import { runLeasedCrawl, type LeasedCrawlResult } from '../../../src/core/crawl/leased-crawl.js';
import { SqliteStore } from '../../../src/core/store/index.js';
import { attachCrawler, createTestnet, measureRecall, measureTraffic, runTestnetCrawl } from '../../../src/core/crawl/sim-crawl.js';
import type { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { toHex } from '../../../src/core/wire/hex.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sleeper(clock: VirtualClock) {
  return (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = clock.setTimeout(() => resolve(), ms);
      signal.addEventListener('abort', () => {
        clock.clearTimeout(t);
        resolve();
      }, { once: true });
    });
}

const NODES = 20000;
const SEED = 5;

describe('leased crawl on a simulated world', () => {
  it('four crawlers share a pass: one crawler\'s recall and queries, a dead crawler\'s range finished by the others', async () => {
    // one crawler alone, for comparison
    const alone = await runTestnetCrawl({ nodes: NODES, seed: SEED, strategy: 'keyspace', concurrency: 64 });

    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-leases-'));
    dirs.push(dir);
    const store = SqliteStore.open(join(dir, 'shared.db'));
    const net = createTestnet({ nodes: NODES, seed: SEED });
    const wallBase = Date.UTC(2026, 0, 1);
    const now = (): number => wallBase + Math.round(net.clock.now());
    const found = new Set<string>();
    const printed: string[] = [];
    let killedMidRange = false;
    // after the kill, crawler 3's process is gone: nothing it would do reaches the database
    let dead = false;
    const hung = new Promise<never>(() => undefined);
    const deadStore = new Proxy(store, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => (dead ? hung : (v as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    const crawler = (i: number): Promise<LeasedCrawlResult> => {
      const node = attachCrawler(net, { seed: 100 + i, host: `10.255.0.${i + 1}` });
      return runLeasedCrawl({
        store: i === 3 ? deadStore : store,
        owner: `crawler-${i}`,
        strategy: 'keyspace',
        ranges: 16,
        leaseMs: 60_000,
        now,
        sleep: sleeper(net.clock),
        log: () => undefined,
        // crawler 3 dies during its second range
        crawlRange: (range, stateKey, claim) => {
          const crawl = createCrawl({
            node,
            strategy: 'keyspace',
            range,
            stateKey,
            resume: true,
            store: i === 3 ? deadStore : store,
            concurrency: 64,
            seed: i * 1000 + claim.range,
            wallClock: now,
            onInfohash: (r) => {
              if (!r.inDbBefore) printed.push(toHex(r.infohash));
              found.add(toHex(r.infohash));
            },
          });
          if (i === 3 && claim.range > 0 && !killedMidRange) {
            killedMidRange = true;
            // a few virtual seconds in, the process is gone: its engine stops, its lease is left
            net.clock.setTimeout(() => {
              dead = true;
              crawl.stop();
            }, 5_000);
          }
          return crawl;
        },
      });
    };
    let settled = 0;
    // crawler 3 never settles: its process is gone
    const runs = [0, 1, 2].map((i) => crawler(i).finally(() => settled++));
    void crawler(3);
    await net.clock.runUntilAsync(() => settled === 3, 7 * 24 * 3600_000);
    const results = await Promise.all(runs);
    // the dead crawler released nothing: its lease expired and another crawler took the range over
    const status = store.passStatus(1)!;
    expect(status).toMatchObject({ ranges: 16, done: 16, active: 0 });
    expect(killedMidRange).toBe(true);
    const takenOver = results.reduce((n, r) => n + r.rangesTakenOver, 0);
    expect(takenOver).toBe(1);
    expect(results.every((r) => r.end === 'pass_done')).toBe(true);

    const recall = measureRecall(net.world, found, [4]);
    expect(recall.infohash_recall).toBeGreaterThanOrEqual(alone.recall.infohash_recall - 0.03);
    const traffic = measureTraffic(net.world);
    // about once per node overall: the split costs at most 5% more than one crawler alone
    expect(traffic.queries_per_distinct_node).toBeLessThanOrEqual(alone.traffic.queries_per_distinct_node * 1.05);
    // every infohash printed once overall (the database says whether it was new)
    expect(new Set(printed).size).toBe(printed.length);
    expect(store.stats().infohashes).toBe(found.size);
    store.close();
  }, 240_000);
});
