// Several crawlers on one simulated world, each with its own engine and address, sharing one
// store through keyspace leases, on virtual time: the harness of the leased-crawl tests and of
// `npm run bench scale`. Settings default to the crawl command's (CRAWL_DEFAULTS).
import { trackPendingCalls, type TrackedCalls } from '../util/pending-calls.js';
import type { InfohashStore, LeaseClaim } from '../store/types.js';
import type { DhtClient } from '../dht/dht-client.js';
import { createCrawl, type Crawl } from './create-crawl.js';
import { CRAWL_DEFAULTS } from './defaults.js';
import { rangeShares, runLeasedCrawl, type LeasedCrawlResult } from './leased-crawl.js';
import { attachCrawler, driveClock, simulatedRateLimit, type Testnet } from './sim-crawl.js';
import type { CrawlInfohash } from './types.js';
import { toHex } from '../wire/hex.js';

export interface SharedPassOptions {
  net: Testnet;
  crawlers: number;
  /** The store crawler i uses: one SQLite store for all, or a pool of its own on PostgreSQL. */
  storeFor(crawler: number): InfohashStore;
  /** Default CRAWL_DEFAULTS.leaseRanges. */
  ranges?: number;
  /** Default CRAWL_DEFAULTS.leaseMs. */
  leaseMs?: number;
  /** Default CRAWL_DEFAULTS.concurrency. */
  concurrency?: number;
  /** Read the BEP 51 intervals other crawlers recorded when a range starts (default true, as crawl --leases does). */
  sharedIntervals?: boolean;
  /** Each range's crawl as it is made (a test kills one). */
  onRangeCrawl?(crawler: number, claim: LeaseClaim, crawl: Crawl): void;
  onInfohash?(crawler: number, record: CrawlInfohash): void;
  /** Progress lines of the crawlers and their range crawls. */
  log?(crawler: number, text: string): void;
  /** A crawler that is gone (killed): the run no longer waits for it or for its store. */
  gone?(crawler: number): boolean;
  /** Default a week. */
  maxVirtualMs?: number;
}

export interface SharedPassResult {
  /** Per crawler; undefined for one that is gone. */
  results: (LeasedCrawlResult | undefined)[];
  /** Distinct infohashes the crawlers reported. */
  found: Set<string>;
  /** When each of them was first reported, virtual ms from the start, in order. */
  foundAt: number[];
  /** Virtual time from the start to the last crawler's end. */
  virtual_ms: number;
}

/** Crawlers attached to a world, kept across passes as long-running processes would be. */
export class SimCrawlers {
  readonly nodes: DhtClient[];
  private passes = 0;

  constructor(
    readonly net: Testnet,
    count: number,
    readonly ratePerSec: number = CRAWL_DEFAULTS.ratePerSec,
  ) {
    this.nodes = Array.from({ length: count }, (_, i) =>
      attachCrawler(net, { seed: 100 + i, host: `10.255.0.${i + 1}`, rateLimit: simulatedRateLimit(ratePerSec), queryTimeoutMs: CRAWL_DEFAULTS.timeoutMs }),
    );
  }

  /**
   * One pass: every crawler runs the leased crawl until the pass is done (a new pass if the last
   * one is done). Virtual time stands still while a store call of a crawler not gone is pending.
   */
  async runPass(o: Omit<SharedPassOptions, 'net' | 'crawlers'>): Promise<SharedPassResult> {
    const { net } = this;
    const pass = ++this.passes;
    const start = net.clock.now();
    const wallBase = Date.UTC(2026, 0, 1);
    const now = (): number => wallBase + Math.round(net.clock.now());
    const gone = o.gone ?? (() => false);
    const found = new Set<string>();
    const foundAt: number[] = [];
    const stores: TrackedCalls<InfohashStore>[] = this.nodes.map((_, i) => trackPendingCalls(o.storeFor(i)));
    const results: (LeasedCrawlResult | undefined)[] = this.nodes.map(() => undefined);
    let settled = 0;
    const share = rangeShares(o.concurrency ?? CRAWL_DEFAULTS.concurrency, this.ratePerSec, o.ranges ?? CRAWL_DEFAULTS.leaseRanges);
    this.nodes.forEach((node, i) => {
      const store = stores[i].tracked;
      void runLeasedCrawl({
        store,
        owner: `crawler-${i}`,
        strategy: 'keyspace',
        ranges: o.ranges ?? CRAWL_DEFAULTS.leaseRanges,
        leaseMs: o.leaseMs ?? CRAWL_DEFAULTS.leaseMs,
        now,
        sleep: (ms, signal) => sleepVirtual(net, ms, signal),
        rangesAtOnce: share.rangesAtOnce,
        sharedIntervals: o.sharedIntervals ?? true,
        crawlRange: (range, stateKey, claim, sampleDue) => {
          const crawl = createCrawl({
            node,
            strategy: 'keyspace',
            range,
            stateKey,
            resume: 'if-saved',
            store,
            concurrency: share.concurrency,
            ratePerSec: share.ratePerSec,
            seed: pass * 1_000_000 + i * 10_000 + claim.range,
            wallClock: now,
            ...(o.log ? { log: (text: string) => o.log?.(i, text) } : {}),
            ...(sampleDue ? { sampleDue } : {}),
            onInfohash: (r) => {
              const hex = toHex(r.infohash);
              if (!found.has(hex)) foundAt.push(net.clock.now() - start);
              found.add(hex);
              o.onInfohash?.(i, r);
            },
          });
          o.onRangeCrawl?.(i, claim, crawl);
          return crawl;
        },
      }).then(
        (r) => {
          results[i] = r;
          settled++;
        },
        () => {
          settled++; // a crawler that is gone: its store calls fail
        },
      );
    });
    const live = (): number[] => this.nodes.map((_, i) => i).filter((i) => !gone(i));
    const done = (): boolean => live().every((i) => results[i] !== undefined) || settled === this.nodes.length;
    const hold = (): Promise<void> | null => {
      for (const i of live()) {
        const busy = stores[i].busy();
        if (busy) return busy;
      }
      return null;
    };
    await driveClock(net, done, o.maxVirtualMs ?? 7 * 24 * 3600_000, hold);
    return { results: results.map((r, i) => (gone(i) ? undefined : r)), found, foundAt, virtual_ms: net.clock.now() - start };
  }
}

/** Waits on virtual time; an abort ends the wait early. */
export function sleepVirtual(net: Testnet, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = net.clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      net.clock.clearTimeout(t);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
