// `crawl --testnet N`: a crawl of an in-process simulated DHT on virtual time, with recall
// against the world's ground truth. Also the harness of the crawl tests and bench.
import { trackPendingCalls } from '../util/pending-calls.js';
import { DhtClient } from '../dht/dht-client.js';
import { RoutingTable } from '../dht/routing-table.js';
import { AddressPolicy } from '../net/address.js';
import { Krpc } from '../net/krpc-engine.js';
import type { RateLimitOptions } from '../net/rate-limiter.js';
import { CRAWL_DEFAULTS } from './defaults.js';
import { Prng } from '../net/prng.js';
import { VirtualClock } from '../net/virtual-clock.js';
import { SimWorld, stackBit, type WorldOptions } from '../sim/world.js';
import { toHex } from '../wire/hex.js';
import type { Family } from '../wire/types.js';
import { createCrawl, type Crawl, type CreateCrawlOptions } from './create-crawl.js';
import type { CrawlInfohash, CrawlStats, CrawlSummary } from './types.js';

export interface Testnet {
  clock: VirtualClock;
  world: SimWorld;
}

export interface TestnetOptions {
  nodes: number;
  /** Default: as many as nodes. */
  infohashes?: number;
  seed?: number;
  /** Anything else about the world (fractions, interval, table shape). */
  world?: Partial<WorldOptions>;
}

/** Builds a world on a fresh virtual clock. */
export function createTestnet(options: TestnetOptions): Testnet {
  const clock = new VirtualClock();
  const world = SimWorld.create({
    ...(options.world ?? {}),
    nodes: options.nodes,
    infohashes: options.infohashes ?? options.nodes,
    seed: options.seed ?? 1,
    clock,
  });
  return { clock, world };
}

/**
 * The world a crawl of these families runs on by default: IPv4 only; all IPv6; or, for both,
 * half the nodes dual-stack and a fifth IPv6 only (so each family has nodes of its own).
 */
export function worldForFamilies(families: readonly Family[]): Partial<WorldOptions> {
  const v4 = families.includes(4);
  const v6 = families.includes(6);
  if (!v6) return {};
  return v4 ? { dualStack: 0.5, ipv6Only: 0.2 } : { ipv6Only: 1 };
}

export interface CrawlerOptions {
  /** Crawler address on the sim network (default 10.255.0.1:6881, and fd00::aff:1 for IPv6). */
  host?: string;
  host6?: string;
  port?: number;
  /** The families it has an address in (default [4]). */
  families?: readonly Family[];
  /** Seed for the crawler's id and its strategy's PRNG. */
  seed?: number;
  /** Hard per-query timeout (default CRAWL_DEFAULTS.timeoutMs). */
  queryTimeoutMs?: number;
  /** The Krpc engine's outbound limits (default simulatedRateLimit()); false: none. */
  rateLimit?: RateLimitOptions | false;
}

/**
 * The crawler's limits on the testnet: the global rate (default the crawl's), and per node the
 * limits of a public IP (0.5/s, burst 5), since the simulated nodes, on private addresses, stand
 * for public ones (a real private network would get the laxer local limits).
 */
export function simulatedRateLimit(ratePerSec: number = CRAWL_DEFAULTS.ratePerSec): RateLimitOptions {
  return { globalRatePerSec: ratePerSec, globalBurst: ratePerSec, localAsPublic: true };
}

/** A DhtClient for a crawler attached to the testnet (queries counted per destination by the world). */
export function attachCrawler(net: Testnet, options: CrawlerOptions = {}): DhtClient {
  const { clock, world } = net;
  const prng = new Prng(options.seed ?? world.seed ^ 0xc0ffee);
  const families = options.families ?? [4];
  const port = options.port ?? 6881;
  const binds = [
    ...(families.includes(4) ? [{ host: options.host ?? '10.255.0.1', port }] : []),
    ...(families.includes(6) ? [{ host: options.host6 ?? 'fd00::aff:1', port }] : []),
  ];
  const transport = world.attachClientOn(binds);
  const policy = AddressPolicy.simulated();
  const id = prng.bytes(20);
  const timeoutMs = options.queryTimeoutMs ?? CRAWL_DEFAULTS.timeoutMs;
  const engine = new Krpc({ transport, clock, id, policy, rateLimit: options.rateLimit ?? simulatedRateLimit(), timeoutMs });
  const table = new RoutingTable({ id, clock, oneNodePerIp: false });
  return new DhtClient({
    engine,
    clock,
    table,
    // the routers it can reach: those of its families
    bootstrap: world.bootstrap.filter((b) => families.includes(b.host.includes(':') ? 6 : 4)),
    allowContact: (host, port) => !policy.isBogon(host, port),
    lookupDefaults: { queryTimeoutMs: timeoutMs },
  });
}

/**
 * Runs a crawl built on a testnet to its end on virtual time; stops it past maxVirtualMs. While
 * `hold` returns a promise (the output is behind), virtual time stands still until it settles.
 */
export async function driveCrawl(
  net: Testnet,
  crawl: Crawl,
  maxVirtualMs = 7 * 24 * 3600_000,
  hold?: () => Promise<void> | null,
): Promise<CrawlSummary> {
  let finished = false;
  // Settled at once into a value: a run that rejects (a full disk) while the clock is still
  // being driven must not count as an unhandled rejection, which would end the process.
  const outcome = crawl.run().then(
    (summary) => ({ ok: true as const, summary }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  void outcome.then(() => {
    finished = true;
  });
  await driveClock(net, () => finished, maxVirtualMs, hold);
  if (!finished) {
    crawl.stop();
    await net.clock.runUntilAsync(() => finished, 60_000);
  }
  const result = await outcome;
  if (!result.ok) throw result.error;
  return result.summary;
}

/**
 * Runs virtual time until `done()` holds or maxVirtualMs have passed; while `hold` returns a
 * promise (a database answering), time stands still until it settles. Returns whether done.
 */
export async function driveClock(net: Testnet, done: () => boolean, maxVirtualMs: number, hold?: () => Promise<void> | null): Promise<boolean> {
  const end = net.clock.now() + maxVirtualMs;
  for (;;) {
    let wait: Promise<void> | null = null;
    await net.clock.runUntilAsync(() => done() || (wait = hold?.() ?? null) !== null, Math.max(0, end - net.clock.now()));
    if (done() || wait === null) return done();
    await wait;
  }
}

export interface TestnetRecall {
  infohashes_found: number;
  /** Infohashes stored on at least one responsive BEP 51 node. */
  infohashes_reachable: number;
  infohashes_total: number;
  /** found reachable / reachable. */
  infohash_recall: number;
  bep51_nodes_sampled: number;
  bep51_nodes_responsive: number;
  /** Responsive BEP 51 nodes that answered at least one sample_infohashes / all of them. */
  bep51_node_recall: number;
}

export interface TestnetTraffic {
  /** Queries the crawler sent to world nodes (lookups and verifications included). */
  queries: number;
  distinct_nodes_contacted: number;
  queries_per_distinct_node: number;
  queries_to_responsive: number;
  responsive_contacted: number;
  responsive_total: number;
  queries_per_responsive_node: number;
  /** sample_infohashes that reached a node before its interval had passed. */
  early_samples: number;
}

export interface TestnetResult {
  summary: CrawlSummary;
  recall: TestnetRecall;
  traffic: TestnetTraffic;
  world: { nodes: number; seed: number; infohashes: number };
  virtual_ms: number;
  wall_ms: number;
}

export interface RunTestnetOptions extends TestnetOptions, Omit<CreateCrawlOptions, 'session' | 'node' | 'strategy' | 'onProgress'> {
  strategy?: CreateCrawlOptions['strategy'];
  /** Progress on virtual time (default every 10 virtual seconds). */
  onProgress?(stats: CrawlStats): void;
  onInfohash?(record: CrawlInfohash): void;
  crawler?: CrawlerOptions;
  maxVirtualMs?: number;
}

export async function runTestnetCrawl(options: RunTestnetOptions): Promise<TestnetResult> {
  const wallStart = performance.now();
  const { nodes, infohashes, seed, world: worldOpts, crawler, maxVirtualMs, onInfohash, ...crawlOpts } = options;
  const families = crawlOpts.families ?? [crawlOpts.family ?? 4];
  const net = createTestnet({ nodes, infohashes, seed, world: { ...worldForFamilies(families), ...(worldOpts ?? {}) } });
  const node = attachCrawler(net, { seed: (seed ?? 1) * 7 + 3, families, ...(crawler ?? {}) });
  const found = new Set<string>();
  const startVirtual = net.clock.now();
  // virtual runs print virtual times relative to the wall clock at start
  const wallBase = Date.now();
  // a database that answers asynchronously (PostgreSQL) holds virtual time while it works
  const store = crawlOpts.store ? trackPendingCalls(crawlOpts.store) : undefined;
  const hold = (): Promise<void> | null => crawlOpts.backpressure?.() ?? store?.busy() ?? null;
  const crawl = createCrawl({
    progressEveryMs: 10_000,
    seed: (seed ?? 1) * 31 + 7,
    // whole ms, as Date.now() gives: simulated round trips make virtual times fractional
    wallClock: () => wallBase + Math.round(net.clock.now() - startVirtual),
    ...crawlOpts,
    ...(store ? { store: store.tracked } : {}),
    node,
    onInfohash: (r) => {
      found.add(toHex(r.infohash));
      onInfohash?.(r);
    },
  });
  const summary = await driveCrawl(net, crawl, maxVirtualMs, hold);
  const result: TestnetResult = {
    summary,
    recall: measureRecall(net.world, found, families),
    traffic: measureTraffic(net.world),
    world: { nodes: net.world.size, seed: net.world.seed, infohashes: net.world.infohashCount },
    virtual_ms: net.clock.now() - startVirtual,
    wall_ms: Math.round(performance.now() - wallStart),
  };
  await net.world.close();
  return result;
}

/** Recall against what a crawl of `families` can reach (default: both, i.e. everything reachable). */
export function measureRecall(world: SimWorld, found: ReadonlySet<string>, families: readonly Family[] = [4, 6]): TestnetRecall {
  let bits = 0;
  for (const f of families) bits |= stackBit(f);
  let reachable = 0;
  let foundReachable = 0;
  for (let j = 0; j < world.infohashCount; j++) {
    if (!(world.reachableBy[j] & bits)) continue;
    reachable++;
    if (found.has(world.infohashHex(j))) foundReachable++;
  }
  let bep51 = 0;
  let sampled = 0;
  for (let i = 0; i < world.size; i++) {
    if (!world.isResponsive(i) || !world.supportsBep51(i) || !(world.stack[i] & bits)) continue;
    bep51++;
    if (world.sampled[i] > 0) sampled++;
  }
  return {
    infohashes_found: found.size,
    infohashes_reachable: reachable,
    infohashes_total: world.infohashCount,
    infohash_recall: reachable > 0 ? foundReachable / reachable : 1,
    bep51_nodes_sampled: sampled,
    bep51_nodes_responsive: bep51,
    bep51_node_recall: bep51 > 0 ? sampled / bep51 : 1,
  };
}

export function measureTraffic(world: SimWorld): TestnetTraffic {
  let queries = 0;
  let contacted = 0;
  let toResponsive = 0;
  let responsiveContacted = 0;
  let responsiveTotal = 0;
  for (let i = 0; i < world.size; i++) {
    const q = world.sentTo[i];
    const responsive = world.isResponsive(i);
    if (responsive) responsiveTotal++;
    if (q === 0) continue;
    queries += q;
    contacted++;
    if (responsive) {
      toResponsive += q;
      responsiveContacted++;
    }
  }
  return {
    queries,
    distinct_nodes_contacted: contacted,
    queries_per_distinct_node: contacted > 0 ? queries / contacted : 0,
    queries_to_responsive: toResponsive,
    responsive_contacted: responsiveContacted,
    responsive_total: responsiveTotal,
    queries_per_responsive_node: responsiveContacted > 0 ? toResponsive / responsiveContacted : 0,
    early_samples: world.counters.earlySamples,
  };
}
