// The leased-crawl scenario both stores run (test/unit/crawl/leased-crawl*.test.ts): one crawler
// alone for comparison, then four crawlers on one simulated world, each with its own engine and
// address, sharing one database through leases; crawler 3 is killed during its third range (its
// engines stop, its store is cut off abruptly, its leases are left to expire) and the others
// finish its ranges. The test asserts on what this returns.
import { toHex } from '../../src/core/wire/hex.js';
import type { Crawl } from '../../src/core/crawl/create-crawl.js';
import type { LeasedCrawlResult } from '../../src/core/crawl/leased-crawl.js';
import { createTestnet, measureRecall, measureTraffic, runTestnetCrawl, type TestnetRecall, type TestnetTraffic } from '../../src/core/crawl/sim-crawl.js';
import { SimCrawlers } from '../../src/core/crawl/sim-leased-crawl.js';
import type { InfohashStore } from '../../src/core/store/types.js';

export const KILLED = 3;

export interface ScenarioDatabase {
  /** The store crawler i uses (its own connection pool on PostgreSQL). */
  storeFor(crawler: number): InfohashStore;
  /** Cuts a killed crawler's connection to the database abruptly. */
  cutOff(crawler: number): Promise<void>;
}

export interface ScenarioOutcome {
  alone: { recall: TestnetRecall; traffic: TestnetTraffic };
  shared: { recall: TestnetRecall; traffic: TestnetTraffic };
  results: LeasedCrawlResult[];
  killedMidRange: boolean;
  /** Infohashes the crawlers printed as new to the database, in order, and the killed one's. */
  printedNew: string[];
  printedByKilled: string[];
  found: Set<string>;
}

export async function fourCrawlersKillOne(db: ScenarioDatabase, o: { nodes: number; seed: number; ranges: number; concurrency: number; leaseMs: number }): Promise<ScenarioOutcome> {
  const alone = await runTestnetCrawl({ nodes: o.nodes, seed: o.seed, strategy: 'keyspace', concurrency: o.concurrency });
  const net = createTestnet({ nodes: o.nodes, seed: o.seed });
  const printedNew: string[] = [];
  const printedByKilled: string[] = [];
  let killedMidRange = false;
  // after the kill the process is gone: nothing it would do reaches the database
  let dead = false;
  const hung = new Promise<never>(() => undefined);
  const killedStore = new Proxy(db.storeFor(KILLED), {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (dead ? hung : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  const killedCrawls: Crawl[] = [];
  let killedClaims = 0;
  const sim = new SimCrawlers(net, 4);
  const pass = await sim.runPass({
    storeFor: (i) => (i === KILLED ? killedStore : db.storeFor(i)),
    ranges: o.ranges,
    leaseMs: o.leaseMs,
    concurrency: o.concurrency,
    gone: (i) => i === KILLED && dead,
    onInfohash: (i, r) => {
      if (!r.inDbBefore) printedNew.push(toHex(r.infohash));
      if (i === KILLED && !dead) printedByKilled.push(toHex(r.infohash));
    },
    onRangeCrawl: (i, _claim, crawl) => {
      if (i !== KILLED) return;
      killedCrawls.push(crawl);
      // its third claim comes once ranges of its own are done, so it has printed what it found
      if (++killedClaims === 3) {
        killedMidRange = true;
        // a few virtual seconds into that range, the process is gone: kill -9
        net.clock.setTimeout(() => {
          dead = true;
          for (const c of killedCrawls) c.stop();
          void db.cutOff(KILLED);
        }, 5_000);
      }
    },
  });
  const shared = { recall: measureRecall(net.world, pass.found, [4]), traffic: measureTraffic(net.world) };
  await net.world.close();
  return {
    alone: { recall: alone.recall, traffic: alone.traffic },
    shared,
    results: pass.results.filter((r): r is LeasedCrawlResult => r !== undefined),
    killedMidRange,
    printedNew,
    printedByKilled,
    found: pass.found,
  };
}
