// A local DHT of real bitscrape nodes in one process: each node has its own UDP socket on a
// loopback address, its own Krpc engine (not read-only) and routing table, and is a full node
// (createFullNode: responder, tokens, peer store, BEP 44 items). Nodes join one after another
// through the first node and each other, fill their tables as a real node would, then announce
// infohashes through the DHT (get_peers for a token, announce_peer to the closest nodes), so
// other bitscrape processes can probe a network whose contents are known.
import { AddressPolicy, formatEndpoint, isLoopback } from '../net/address.js';
import { ipFamily } from '../wire/ip.js';
import type { Clock, TimerHandle } from '../net/clock.js';
import type { Endpoint } from '../net/krpc-types.js';
import { Krpc } from '../net/krpc-engine.js';
import { Prng } from '../net/prng.js';
import { sendWindowForRate } from '../net/send-window.js';
import { RealClock } from '../net/real-clock.js';
import { UdpTransport } from '../net/udp-transport.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { mapConcurrent } from '../util/pool.js';
import { DhtClient } from './dht-client.js';
import { createFullNode, type FullNode } from './full-node.js';
import { ID_BYTES, idToHex } from './node-id.js';
import { RoutingTable } from './routing-table.js';
import { fillTable } from './table-fill.js';

export interface TestnetOptions {
  /** Nodes to start (1–4096). */
  nodes: number;
  /** Infohashes to announce (0 allowed). */
  infohashes: number;
  /** Seeds node ids, infohashes and every random choice; default 1. */
  seed?: number;
  /** Loopback address to bind; default 127.0.0.1 (::1 works too). */
  host?: string;
  /** First port; nodes take consecutive ports from here. 0 (default): any free port each. */
  basePort?: number;
  /** Distinct nodes announcing each infohash; default 2. */
  announcersPerInfohash?: number;
  /** Nodes each newcomer pings before its first lookup; default 3. */
  introductions?: number;
  /** Nodes joining or filling at the same time; default 8. */
  parallel?: number;
  /** Time budget for each node's table fill; default 5 s. */
  fillMsPerNode?: number;
  /** Per-query timeout inside the testnet; default 1000 ms. */
  timeoutMs?: number;
  /** Re-announce and refresh stale buckets this often while running; default 10 min, 0 = never. */
  maintenanceMs?: number;
  clock?: Clock;
  onProgress?: (text: string) => void;
  /** Stops the start-up (Ctrl-C while it runs): start() closes what it started and throws TestnetAborted. */
  signal?: AbortSignal;
}

/** start() was stopped by its signal before the network was ready. */
export class TestnetAborted extends Error {
  constructor() {
    super('testnet start-up stopped');
  }
}

export interface TestnetNode {
  index: number;
  id: Uint8Array;
  host: string;
  port: number;
  address: string;
  transport: UdpTransport;
  engine: Krpc;
  table: RoutingTable;
  dht: DhtClient;
  /** Responder, tokens, peer and item stores; its service is not started (the testnet maintains itself). */
  full: FullNode;
}

export interface TestnetInfohash {
  infohash: Uint8Array;
  announcers: TestnetNode[];
}

/** The JSON state (docs/output.md, `testnet`). */
export interface TestnetState {
  bootstrap: string;
  seed: number;
  nodes: Array<{ id: string; address: string }>;
  infohashes: Array<{ infohash: string; announcers: string[]; holders: string[] }>;
}

export interface TestnetStats {
  nodes: number;
  table_nodes_min: number;
  table_nodes_avg: number;
  table_nodes_max: number;
  queries_received: number;
  queries_sent: number;
  timeouts: number;
  peers_stored: number;
}

/**
 * Local-network limits: generous (the whole network shares two cores), still bounded. Every
 * destination here is a local ip:port, so the local window applies: 200/s to one node.
 */
const LOCAL_WINDOW = sendWindowForRate(200);
const LOCAL_RATE_LIMIT = { globalRatePerSec: 2000, globalBurst: 2000, localPerKeyMax: LOCAL_WINDOW.max, localPerKeyWindowMs: LOCAL_WINDOW.windowMs, maxWaitMs: 5000 };
/** Per-source inbound limit: every node here is one ip:port source, and lookups come in bursts. */
const LOCAL_INBOUND_RATE = { ratePerSec: 200, burst: 200 };
const MAX_NODES = 4096;

export class Testnet {
  private maintenanceTimer: TimerHandle | null = null;
  private closed = false;

  private constructor(
    readonly nodes: TestnetNode[],
    readonly infohashes: TestnetInfohash[],
    readonly seed: number,
    private readonly clock: Clock,
    private readonly opts: TestnetOptions,
  ) {}

  /** The first node: every other node knows it, and so can anything joining from outside. */
  get bootstrap(): Endpoint {
    return { host: this.nodes[0].host, port: this.nodes[0].port };
  }

  static async start(opts: TestnetOptions): Promise<Testnet> {
    const count = opts.nodes;
    if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) throw new RangeError(`testnet: --nodes must be 1-${MAX_NODES}`);
    if (!Number.isInteger(opts.infohashes) || opts.infohashes < 0) throw new RangeError('testnet: --infohashes must be 0 or more');
    const host = opts.host ?? '127.0.0.1';
    if (ipFamily(host) === 0 || !isLoopback(host)) throw new RangeError(`testnet: ${host} is not a loopback address`);
    const basePort = opts.basePort ?? 0;
    if (basePort !== 0 && (basePort < 1 || basePort + count - 1 > 65535)) throw new RangeError(`testnet: ports ${basePort}-${basePort + count - 1} are out of range`);
    const seed = opts.seed ?? 1;
    const clock = opts.clock ?? new RealClock();
    const prng = new Prng(seed);
    const idPrng = prng.fork();
    const hashPrng = prng.fork();
    const choicePrng = prng.fork();
    const progress = opts.onProgress ?? (() => undefined);

    const nodes: TestnetNode[] = [];
    const net = new Testnet(nodes, [], seed, clock, opts);
    try {
      progress(`binding ${count} sockets`);
      const check = (): void => {
        if (opts.signal?.aborted) throw new TestnetAborted();
      };
      for (let i = 0; i < count; i++) {
        check();
        const first = nodes[0] ? { host: nodes[0].host, port: nodes[0].port } : null;
        nodes.push(await startNode(i, idPrng.bytes(ID_BYTES), host, basePort === 0 ? 0 : basePort + i, first, clock, opts));
      }
      check();
      await net.introduce(choicePrng, progress);
      check();
      const announced = await net.announceAll(hashPrng, choicePrng, progress);
      check();
      net.infohashes.push(...announced);
      net.scheduleMaintenance();
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  /** Joins the nodes one after another (each through node 0 and a few earlier nodes), then lets every node fill its table. */
  private async introduce(prng: Prng, progress: (t: string) => void): Promise<void> {
    const nodes = this.nodes;
    const introductions = Math.max(1, this.opts.introductions ?? 3);
    const parallel = Math.max(1, this.opts.parallel ?? 8);
    const fillMs = this.opts.fillMsPerNode ?? 5000;
    // Choices are made up front so that the seed alone decides who meets whom.
    const plans = nodes.map((n, i) => {
      if (i === 0) return [] as TestnetNode[];
      const known = new Set<number>([0]);
      while (known.size < Math.min(introductions, i)) known.add(prng.int(0, i - 1));
      return [...known].map((k) => nodes[k]);
    });
    let joined = 1;
    const signal = this.opts.signal;
    // After an abort the remaining joins and fills are skipped; the one in flight ends early.
    await forEachBounded(nodes.slice(1), parallel, async (n) => {
      if (signal?.aborted) return;
      for (const other of plans[n.index]) await n.dht.ping({ host: other.host, port: other.port });
      await n.dht.bootstrapTable({ deadlineMs: fillMs, ...(signal ? { signal } : {}) });
      joined++;
      if (joined % 50 === 0 || joined === nodes.length) progress(`${joined}/${nodes.length} nodes joined`);
    });
    // Early joiners have only met the first few: a refresh round lets everybody find everybody.
    let filled = 0;
    await forEachBounded(nodes, parallel, async (n) => {
      if (signal?.aborted) return;
      await fillTable(n.dht, { durationMs: fillMs, parallel: 2, maxLookups: 40, ...(signal ? { signal } : {}) });
      filled++;
      if (filled % 50 === 0 || filled === nodes.length) progress(`${filled}/${nodes.length} tables filled`);
    });
  }

  /** Announces each infohash from distinct nodes, through real get_peers + announce_peer. */
  private async announceAll(hashPrng: Prng, choicePrng: Prng, progress: (t: string) => void): Promise<TestnetInfohash[]> {
    const perHash = Math.min(this.nodes.length, Math.max(1, this.opts.announcersPerInfohash ?? 2));
    const parallel = Math.max(1, this.opts.parallel ?? 8);
    const out: TestnetInfohash[] = [];
    for (let i = 0; i < this.opts.infohashes; i++) {
      const chosen = new Set<number>();
      while (chosen.size < perHash) chosen.add(choicePrng.int(0, this.nodes.length - 1));
      out.push({ infohash: hashPrng.bytes(ID_BYTES), announcers: [...chosen].map((k) => this.nodes[k]) });
    }
    const jobs = out.flatMap((ih) => ih.announcers.map((node) => ({ node, infohash: ih.infohash })));
    let done = 0;
    await forEachBounded(jobs, parallel, async (job) => {
      if (this.opts.signal?.aborted) return;
      await announceFrom(job.node, job.infohash);
      done++;
      if (done % 100 === 0 || done === jobs.length) progress(`${done}/${jobs.length} announces`);
    });
    return out;
  }

  /** Periodically: refresh stale buckets and re-announce (stored peers expire after 45 min). */
  private scheduleMaintenance(): void {
    const every = this.opts.maintenanceMs ?? 10 * 60_000;
    if (every <= 0 || this.closed) return;
    this.maintenanceTimer = this.clock.setTimeout(() => {
      this.maintenanceTimer = null;
      void this.maintain().finally(() => this.scheduleMaintenance());
    }, every);
  }

  private async maintain(): Promise<void> {
    const parallel = Math.max(1, this.opts.parallel ?? 8);
    await forEachBounded(this.nodes, parallel, async (n) => {
      if (this.closed) return;
      for (const stale of n.table.staleBuckets().slice(0, 8)) {
        if (this.closed) return;
        await n.dht.findNode(stale.target, { maxQueries: 50 });
        n.table.markRefreshed(Math.min(stale.index, n.table.bucketCount - 1));
      }
    });
    const jobs = this.infohashes.flatMap((ih) => ih.announcers.map((node) => ({ node, infohash: ih.infohash })));
    await forEachBounded(jobs, parallel, async (job) => {
      if (!this.closed) await announceFrom(job.node, job.infohash);
    });
  }

  /** The network as it is now; holders are read from the nodes' peer stores. */
  state(): TestnetState {
    return {
      bootstrap: this.nodes[0].address,
      seed: this.seed,
      nodes: this.nodes.map((n) => ({ id: idToHex(n.id), address: n.address })),
      infohashes: this.infohashes.map((ih) => ({
        infohash: idToHex(ih.infohash),
        announcers: ih.announcers.map((n) => n.address),
        holders: this.nodes.filter((n) => n.full.peers.has(ih.infohash)).map((n) => n.address),
      })),
    };
  }

  stats(): TestnetStats {
    let min = Infinity;
    let max = 0;
    let sum = 0;
    const s = { queries_received: 0, queries_sent: 0, timeouts: 0, peers_stored: 0 };
    for (const n of this.nodes) {
      const size = n.table.size;
      min = Math.min(min, size);
      max = Math.max(max, size);
      sum += size;
      s.queries_received += n.engine.counters.queriesReceived;
      s.queries_sent += n.engine.counters.queriesSent;
      s.timeouts += n.engine.counters.timeouts;
      s.peers_stored += n.full.peers.peerCount;
    }
    const count = this.nodes.length;
    return { nodes: count, table_nodes_min: count ? min : 0, table_nodes_avg: count ? Math.round((sum / count) * 10) / 10 : 0, table_nodes_max: max, ...s };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.maintenanceTimer) this.clock.clearTimeout(this.maintenanceTimer);
    await Promise.all(
      this.nodes.map(async (n) => {
        await n.full.stop();
        await n.engine.close();
        await n.transport.close();
      }),
    );
  }
}

async function startNode(index: number, id: Uint8Array, host: string, port: number, first: Endpoint | null, clock: Clock, opts: TestnetOptions): Promise<TestnetNode> {
  const transport = await UdpTransport.open({ bind: [{ host, port }] });
  const bound = transport.endpoints[0];
  const policy = new AddressPolicy({ localAddresses: [bound.host] });
  const engine = new Krpc({ transport, clock, id, readOnly: false, timeoutMs: opts.timeoutMs ?? 1000, retries: 1, policy, rateLimit: LOCAL_RATE_LIMIT });
  const table = new RoutingTable({ id, clock, oneNodePerIp: false });
  const dht = new DhtClient({
    engine,
    clock,
    table,
    bootstrap: first ? [first] : [],
    allowContact: (h, p) => !policy.isBogon(h, p) && policy.mayQuery(h, p),
    lookupDefaults: { queryTimeoutMs: opts.timeoutMs ?? 1000, oneContactPerIp: false },
  });
  const full = createFullNode({
    client: dht,
    policy,
    responder: { sampleIntervalS: 60, inboundRate: LOCAL_INBOUND_RATE },
    // A querier the table would take once verified: ping it, as a real node does.
    pingCandidates: 'now',
  });
  return { index, id, host: bound.host, port: bound.port, address: formatEndpoint(bound.host, bound.port), transport, engine, table, dht, full };
}

/** get_peers for a token from the closest nodes, then announce_peer to them (our own port, implied). */
async function announceFrom(node: TestnetNode, infohash: Uint8Array): Promise<number> {
  const lookup = await node.dht.getPeers(infohash);
  const results = await node.dht.announce(infohash, lookup, { port: node.port, impliedPort: true });
  return results.filter((r) => r.ok).length;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for await (const _ of mapConcurrent(items, limit, fn)) {
    // results are void: only completion counts
  }
}

/** Writes the state as JSON atomically (temp file in the same directory, then rename). */
export async function writeStateFile(path: string, state: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(state, null, 1) + '\n');
}
