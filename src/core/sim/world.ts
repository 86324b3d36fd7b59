// A simulated DHT of up to a few hundred thousand nodes in one process, for crawl tests, the
// crawl bench and `crawl --testnet`. The nodes are not Responders: each is a row in typed arrays
// (id, port, behaviour, a routing table of indices into the world, the infohashes it stores),
// and one shared handler answers every query with the wire layer's scanner. That keeps a node
// at a few hundred bytes, so 100,000 of them fit comfortably.
//
// The routing tables look like real k-bucket tables: for every prefix length a node shares with
// others there is a bucket of contacts picked at random from that part of the keyspace, with the
// far buckets thinner than the near ones, and dead (unresponsive) nodes listed like live ones.
// Each infohash is stored on the `replicas` responsive nodes closest to it.
//
// Nodes can have an IPv6 address (fd00::/96, SimNetwork.hostFor6) besides or instead of their
// IPv4 one (`dualStack`, `ipv6Only`), with the same id and port on both, as BEP 32 nodes have. As
// BEP 32 asks, each family has its own routing tables (an IPv6 table lists only IPv6 contacts);
// a node answers in the family the query came on, or as `want` asks. An infohash stored on a
// dual-stack node can be found over either family.
//
// Everything derives from `seed`: the same options give the same world (and without IPv6 nodes,
// the same world as before IPv6 existed here: the families draw from their own generator).
import type { Clock } from '../net/clock.js';
import { Prng } from '../net/prng.js';
import { SimNetwork } from '../net/sim-network.js';
import { ipv4ToNumber } from '../wire/ip.js';
import type { LocalEndpoint, MessageHandler, Transport } from '../net/transport.js';
import type { Family } from '../wire/types.js';
import { encodeError, encodeResponse } from '../wire/krpc-codec.js';
import { F, KrpcView, scanKrpc } from '../wire/krpc-view.js';
import { Tape } from '../wire/bencode.js';
import { toHex } from '../wire/hex.js';
import type { Endpoint } from '../net/krpc-types.js';

export interface WorldOptions {
  nodes: number;
  infohashes: number;
  seed?: number;
  /** Fraction of all nodes that never answer (default 0.5). */
  unresponsive?: number;
  /** Fraction of all nodes that answer under a fresh random id every time (default 0.05). */
  spoofers?: number;
  /** Fraction of the responsive nodes that support sample_infohashes (default 0.6). */
  bep51?: number;
  /** Of the responsive nodes without BEP 51: the fraction answering 204 instead of nodes only (default 0.5). */
  unsupportedError?: number;
  /** Fraction of the responsive nodes behind an inbound rate limit (default 0.05). */
  rateLimited?: number;
  rateLimit?: { perSecond: number; burst: number };
  /** BEP 51 `interval` the nodes ask for, seconds (default 300, mldht's). */
  intervalS?: number;
  /** Most samples per reply (default 20). */
  maxSamples?: number;
  /** Nodes that store each infohash (default 8). */
  replicas?: number;
  /** Contacts per near bucket (default 8) and per far bucket (default 3). */
  bucketK?: number;
  farBucketK?: number;
  /** How many of a node's deepest buckets count as near (default 6). */
  nearBuckets?: number;
  /** Bootstrap contacts offered (responsive nodes; default 8 per family). */
  bootstrapCount?: number;
  /** Fraction of all nodes with both an IPv4 and an IPv6 address (default 0). */
  dualStack?: number;
  /** Fraction of all nodes with an IPv6 address only (default 0). */
  ipv6Only?: number;
  /**
   * Round trip of each node's path (both of its addresses), log-normal: median and sigma of
   * its logarithm (default 150 ms and 0.8, see docs/architecture.md); null: the network's
   * latency only.
   */
  rtt?: { medianMs: number; sigma: number } | null;
  /** Fraction of datagrams lost in transit, each way (default WORLD_LOSS, 0.5%). */
  loss?: number;
}

/** The world's round-trip model by default (docs/architecture.md, "Crawl pacing"). */
const WORLD_RTT = { medianMs: 150, sigma: 0.8 } as const;
/** Datagrams lost in transit by default (each way). */
const WORLD_LOSS = 0.005;
/** One-way jitter per datagram by default, on top of the node's path delay, ms. */
const WORLD_JITTER_MS = { min: 0, max: 5 } as const;

/** Address families of a node (bits of SimWorld.stack). */
export const Stack = { v4: 1, v6: 2 } as const;

/** The Stack bit of a family. */
export const stackBit = (family: Family): number => (family === 6 ? Stack.v6 : Stack.v4);

/** Node kinds. */
export const NodeKind = { normal: 0, unresponsive: 1, spoofer: 2 } as const;

const FLAG_BEP51 = 1;
const FLAG_ERROR_204 = 2;
const FLAG_RATE_LIMITED = 4;

/** Client tags by index: what the nodes put in `v`. */
const TAGS: readonly (Uint8Array | undefined)[] = [
  Uint8Array.of(0x4c, 0x54, 2, 0x08), // LT 2.0.8
  Uint8Array.of(0x4c, 0x54, 2, 0x09), // LT 2.0.9
  Uint8Array.of(0x6d, 0x6c, 0, 12), // ml 12
  Uint8Array.of(0x55, 0x54, 0x0d, 0xc6), // UT
  Uint8Array.of(0x4c, 0x54, 1, 0x12), // LT 1.1.2
  undefined,
];

export interface WorldCounters {
  /** Queries each handler saw, by method. */
  byMethod: Record<string, number>;
  /** sample_infohashes received by a BEP 51 node before its interval had passed since the last one. */
  earlySamples: number;
  /** Datagrams the client transports sent to addresses that are not world nodes. */
  strayClientSends: number;
  /** Client datagrams that reached a world node's handler but were not well-formed queries. */
  malformed: number;
}

export class SimWorld {
  readonly network: SimNetwork;
  readonly clock: Clock;
  readonly size: number;
  readonly seed: number;
  /** 20 bytes per node. */
  readonly ids: Uint8Array;
  readonly ports: Uint16Array;
  readonly kind: Uint8Array;
  readonly flags: Uint8Array;
  readonly tag: Uint8Array;
  /** Per node, the families it has an address in (Stack bits). */
  readonly stack: Uint8Array;
  /** IPv4 routing tables: contacts of node i are contacts[contactStart[i] .. contactStart[i+1]). */
  readonly contactStart: Int32Array;
  readonly contacts: Int32Array;
  /** IPv6 routing tables, likewise (empty for nodes without IPv6). */
  readonly contactStart6: Int32Array;
  readonly contacts6: Int32Array;
  /** Infohashes: 20 bytes each; node i stores hold[holdStart[i] .. holdStart[i+1]). */
  readonly infohashes: Uint8Array;
  readonly infohashCount: number;
  readonly holdStart: Int32Array;
  readonly hold: Int32Array;
  /** Per infohash: 1 when a responsive BEP 51 node stores it (a crawl can find it). */
  readonly reachable: Uint8Array;
  /** Per infohash: the families (Stack bits) over which a responsive BEP 51 node storing it answers. */
  readonly reachableBy: Uint8Array;
  /** Queries the crawler's transports sent to each node (delivered or not). */
  readonly sentTo: Uint32Array;
  /** Queries each node's handler received. */
  readonly received: Uint32Array;
  /** Proper sample_infohashes answers each node sent. */
  readonly sampled: Uint32Array;
  readonly counters: WorldCounters = { byMethod: {}, earlySamples: 0, strayClientSends: 0, malformed: 0 };
  readonly bootstrap: Endpoint[];

  private readonly intervalS: number;
  private readonly maxSamples: number;
  private readonly lastSampledAt: Float64Array;
  private readonly prng: Prng;
  private readonly view = new KrpcView(new Tape(256));
  private readonly transports: Transport[] = [];
  /** IPv6 transports by node (undefined for nodes without IPv6). */
  private readonly transports6: Array<Transport | undefined> = [];
  private readonly ipBase = ipv4ToNumber(SimNetwork.hostFor(0));
  private closed = false;

  constructor(network: SimNetwork, clock: Clock, options: WorldOptions) {
    const n = Math.floor(options.nodes);
    if (!(n >= 1 && n <= 1_000_000)) throw new RangeError('world nodes must be within 1..1,000,000');
    const m = Math.floor(options.infohashes);
    if (!(m >= 0)) throw new RangeError('world infohashes must be >= 0');
    this.network = network;
    this.clock = clock;
    this.size = n;
    this.seed = options.seed ?? 1;
    this.intervalS = options.intervalS ?? 300;
    this.maxSamples = options.maxSamples ?? 20;
    const prng = new Prng(this.seed);

    // --- nodes: ids, ports, behaviours
    this.ids = prng.bytes(n * 20);
    this.ports = new Uint16Array(n);
    this.kind = new Uint8Array(n);
    this.flags = new Uint8Array(n);
    this.tag = new Uint8Array(n);
    const unresponsive = options.unresponsive ?? 0.5;
    const spoofers = options.spoofers ?? 0.05;
    const bep51 = options.bep51 ?? 0.6;
    const err204 = options.unsupportedError ?? 0.5;
    const rateLimited = options.rateLimited ?? 0.05;
    for (let i = 0; i < n; i++) {
      this.ports[i] = prng.int(1025, 65535);
      const r = prng.next();
      if (r < unresponsive) this.kind[i] = NodeKind.unresponsive;
      else if (r < unresponsive + spoofers) this.kind[i] = NodeKind.spoofer;
      let f = 0;
      if (prng.chance(bep51)) f |= FLAG_BEP51;
      else if (prng.chance(err204)) f |= FLAG_ERROR_204;
      if (prng.chance(rateLimited)) f |= FLAG_RATE_LIMITED;
      this.flags[i] = f;
      this.tag[i] = f & FLAG_BEP51 ? (prng.chance(0.8) ? prng.int(0, 1) : 2) : prng.int(3, 5);
    }

    // --- address families, from a generator of their own (an IPv4-only world is unchanged)
    this.stack = new Uint8Array(n).fill(Stack.v4);
    const dual = options.dualStack ?? 0;
    const v6only = options.ipv6Only ?? 0;
    if (!(dual >= 0 && v6only >= 0 && dual + v6only <= 1)) throw new RangeError('dualStack + ipv6Only must be within 0..1');
    const familyPrng = new Prng(this.seed ^ 0x6666);
    if (dual + v6only > 0) {
      for (let i = 0; i < n; i++) {
        const r = familyPrng.next();
        if (r < v6only) this.stack[i] = Stack.v6;
        else if (r < v6only + dual) this.stack[i] = Stack.v4 | Stack.v6;
      }
    }

    // --- routing tables, one per family, built over that family's nodes sorted by id
    const order = sortById(this.ids, n);
    const shape = { nearK: options.bucketK ?? 8, farK: options.farBucketK ?? 3, nearBuckets: options.nearBuckets ?? 6 };
    const tables = buildTables(this.ids, n, order.filter((i) => this.stack[i] & Stack.v4), prng, shape);
    this.contactStart = tables.start;
    this.contacts = tables.list;
    const tables6 = buildTables(this.ids, n, order.filter((i) => this.stack[i] & Stack.v6), familyPrng, shape);
    this.contactStart6 = tables6.start;
    this.contacts6 = tables6.list;

    // --- infohashes on the replicas closest responsive nodes
    this.infohashCount = m;
    this.infohashes = prng.bytes(m * 20);
    const holders = order.filter((i) => this.kind[i] === NodeKind.normal);
    const holderKeys = new Float64Array(holders.length);
    for (let s = 0; s < holders.length; s++) holderKeys[s] = top48(this.ids, holders[s] * 20);
    const replicas = Math.min(options.replicas ?? 8, holders.length);
    const placed = placeInfohashes(this.ids, this.infohashes, m, holders, holderKeys, replicas);
    const counts = new Int32Array(n + 1);
    for (let j = 0; j < placed.length; j++) counts[placed[j]]++;
    this.holdStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.holdStart[i + 1] = this.holdStart[i] + counts[i];
    this.hold = new Int32Array(placed.length);
    const fill = this.holdStart.slice(0, n);
    this.reachable = new Uint8Array(m);
    this.reachableBy = new Uint8Array(m);
    for (let j = 0; j < placed.length; j++) {
      const i = placed[j];
      const ih = Math.floor(j / replicas);
      this.hold[fill[i]++] = ih;
      if (this.flags[i] & FLAG_BEP51) {
        this.reachable[ih] = 1;
        this.reachableBy[ih] |= this.stack[i];
      }
    }

    this.sentTo = new Uint32Array(n);
    this.received = new Uint32Array(n);
    this.sampled = new Uint32Array(n);
    this.lastSampledAt = new Float64Array(n).fill(-Infinity);
    this.prng = prng.fork();

    // --- attach every node to the network (each family's address has its own behaviour state)
    const rl = options.rateLimit ?? { perSecond: 2, burst: 5 };
    // path delays from a generator of their own, so the world's structure is the same with or without them
    const rtt = options.rtt === undefined ? WORLD_RTT : options.rtt;
    const rttPrng = new Prng(this.seed ^ 0x277);
    for (let i = 0; i < n; i++) {
      const delay = rtt ? lognormal(rttPrng, rtt.medianMs, rtt.sigma) / 2 : 0;
      for (const family of [4, 6] as const) {
        if (!(this.stack[i] & stackBit(family))) {
          if (family === 4) this.transports.push(NO_TRANSPORT);
          continue;
        }
        const host = family === 6 ? SimNetwork.hostFor6(i) : SimNetwork.hostFor(i);
        const t = network.attach(host, this.ports[i]);
        t.delayMs = delay;
        t.onMessage((data, fromHost, fromPort) => this.onDatagram(i, family, data, fromHost, fromPort));
        if (family === 6) this.transports6[i] = t;
        else this.transports.push(t);
        if (this.kind[i] === NodeKind.unresponsive) network.setBehaviour(host, this.ports[i], { kind: 'unresponsive' });
        else if (this.flags[i] & FLAG_RATE_LIMITED) network.setBehaviour(host, this.ports[i], { kind: 'rate_limited', perSecond: rl.perSecond, burst: rl.burst });
      }
    }

    // --- bootstrap contacts: responsive, not rate limited; IPv4 ones, then IPv6 ones
    this.bootstrap = [];
    const want = Math.min(options.bootstrapCount ?? 8, holders.length);
    const pick = (family: Family, from: Prng): void => {
      const bit = stackBit(family);
      let found = 0;
      for (let tries = 0; found < want && tries < n * 4; tries++) {
        const i = from.int(0, n - 1);
        if (this.kind[i] !== NodeKind.normal || this.flags[i] & FLAG_RATE_LIMITED || !(this.stack[i] & bit)) continue;
        const ep = this.endpointOf(i, family);
        if (this.bootstrap.some((b) => b.host === ep.host)) continue;
        this.bootstrap.push(ep);
        found++;
      }
    };
    pick(4, prng);
    if (dual + v6only > 0) pick(6, familyPrng);
  }

  /**
   * A world on a network of its own. Without latencyMs/loss the network adds WORLD_JITTER_MS
   * and loses WORLD_LOSS of the datagrams, on top of each node's path delay (options.rtt).
   */
  static create(options: WorldOptions & { clock: Clock; latencyMs?: { min: number; max: number } }): SimWorld {
    const network = new SimNetwork({
      clock: options.clock,
      seed: (options.seed ?? 1) ^ 0x5eed,
      latencyMs: options.latencyMs ?? (options.rtt === null ? undefined : WORLD_JITTER_MS),
      loss: options.loss ?? WORLD_LOSS,
    });
    return new SimWorld(network, options.clock, options);
  }

  // ---- ground truth ---------------------------------------------------------------------------

  /** Node i's address in a family (its IPv4 one by default; check `stack` for the ones it has). */
  endpointOf(i: number, family: Family = 4): Endpoint {
    return { host: family === 6 ? SimNetwork.hostFor6(i) : SimNetwork.hostFor(i), port: this.ports[i] };
  }

  hasFamily(i: number, family: Family): boolean {
    return (this.stack[i] & stackBit(family)) !== 0;
  }

  idOf(i: number): Uint8Array {
    return this.ids.slice(i * 20, i * 20 + 20);
  }

  /** The world index of a node address (either family), or -1. */
  indexOf(host: string, port: number): number {
    if (host.includes(':')) {
      const i = SimNetwork.indexOf6(host);
      return i >= 0 && i < this.size && this.stack[i] & Stack.v6 && this.ports[i] === port ? i : -1;
    }
    const ip = ipv4ToNumber(host);
    const i = ip - this.ipBase;
    return ip >= 0 && i >= 0 && i < this.size && this.stack[i] & Stack.v4 && this.ports[i] === port ? i : -1;
  }

  isResponsive(i: number): boolean {
    return this.kind[i] === NodeKind.normal;
  }

  supportsBep51(i: number): boolean {
    return (this.flags[i] & FLAG_BEP51) !== 0;
  }

  /** Answers sample_infohashes with a 204 error, which carries no id (a spoofer among them shows nothing to a sample). */
  refusesSamples(i: number): boolean {
    return (this.flags[i] & (FLAG_BEP51 | FLAG_ERROR_204)) === FLAG_ERROR_204;
  }

  /** Responsive nodes that answer sample_infohashes (over one of `families`): the ones a crawl should sample. */
  responsiveBep51(families: readonly Family[] = [4, 6]): number[] {
    const bits = familyBits(families);
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) if (this.kind[i] === NodeKind.normal && this.flags[i] & FLAG_BEP51 && this.stack[i] & bits) out.push(i);
    return out;
  }

  infohashHex(j: number): string {
    return toHex(this.infohashes.subarray(j * 20, j * 20 + 20));
  }

  /** Hex of every infohash a crawl of `families` can find (stored on a responsive BEP 51 node it can reach). */
  reachableInfohashes(families: readonly Family[] = [4, 6]): Set<string> {
    const bits = familyBits(families);
    const out = new Set<string>();
    for (let j = 0; j < this.infohashCount; j++) if (this.reachableBy[j] & bits) out.add(this.infohashHex(j));
    return out;
  }

  allInfohashes(): Set<string> {
    const out = new Set<string>();
    for (let j = 0; j < this.infohashCount; j++) out.add(this.infohashHex(j));
    return out;
  }

  storedBy(i: number): number {
    return this.holdStart[i + 1] - this.holdStart[i];
  }

  /** Typed-array bytes of the world (transports and the network's maps not included). */
  get bytes(): number {
    return (
      this.ids.byteLength + this.ports.byteLength + this.kind.byteLength * 4 + this.contactStart.byteLength + this.contacts.byteLength +
      this.contactStart6.byteLength + this.contacts6.byteLength +
      this.infohashes.byteLength + this.holdStart.byteLength + this.hold.byteLength + this.reachable.byteLength * 2 +
      this.sentTo.byteLength * 3 + this.lastSampledAt.byteLength
    );
  }

  // ---- the crawler's side ---------------------------------------------------------------------

  /**
   * A transport for a crawler at host:port on this world's network that counts what it sends
   * per destination node (queries per distinct node, delivered or not).
   */
  attachClient(host = '10.255.0.1', port = 6881): Transport {
    return this.attachClientOn([{ host, port }]);
  }

  /** attachClient with an endpoint per family (one IPv4 and/or one IPv6 address). */
  attachClientOn(binds: ReadonlyArray<{ host: string; port: number }>): Transport {
    const inner = this.network.attachAll(binds);
    return new CountingTransport(inner, (h, p) => {
      const i = this.indexOf(h, p);
      if (i >= 0) this.sentTo[i]++;
      else this.counters.strayClientSends++;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.transports) await t.close();
    for (const t of this.transports6) await t?.close();
  }

  // ---- the shared handler ---------------------------------------------------------------------

  /** A query to node i's address in `family`; answers go out of that address. */
  private onDatagram(i: number, family: Family, data: Uint8Array, fromHost: string, fromPort: number): void {
    const v = scanKrpc(data, this.view);
    if (v.error !== null || v.y !== 0x71) {
      if (v.error !== null) this.counters.malformed++;
      return; // answers and errors are never answered; junk is dropped
    }
    const t = v.bytes(F.t);
    if (t === undefined) return;
    this.received[i]++;
    const method = v.method;
    this.counters.byMethod[method] = (this.counters.byMethod[method] ?? 0) + 1;
    const tag = TAGS[this.tag[i]];
    const id = this.kind[i] === NodeKind.spoofer ? this.prng.bytes(20) : this.ids.subarray(i * 20, i * 20 + 20);
    const to = family === 6 ? this.transports6[i]! : this.transports[i];
    // BEP 32: the contacts come in the querier's family unless `want` names n4 and/or n6
    let want = stackBit(family);
    if (v.has(F.want)) {
      const asked = (v.wants('n4') ? Stack.v4 : 0) | (v.wants('n6') ? Stack.v6 : 0);
      if (asked !== 0) want = asked;
    }
    const nodes = (target: Uint8Array): Record<string, Uint8Array> => ({
      ...(want & Stack.v4 ? { nodes: this.closestNodes(i, target, 4) } : {}),
      ...(want & Stack.v6 ? { nodes6: this.closestNodes(i, target, 6) } : {}),
    });
    const reply = (body: Record<string, Uint8Array | number>): void => {
      to.send(encodeResponse(Uint8Array.from(t), { id, ...body }, { v: tag }), fromHost, fromPort);
    };
    const fail = (code: number, message: string): void => {
      to.send(encodeError(Uint8Array.from(t), code, message, { v: tag }), fromHost, fromPort);
    };
    switch (method) {
      case 'ping':
        return reply({});
      case 'find_node': {
        const target = v.bytes(F.target);
        if (target === undefined || target.length !== 20) return fail(203, 'find_node needs a 20-byte target');
        return reply(nodes(target));
      }
      case 'get_peers': {
        const ih = v.bytes(F.info_hash);
        if (ih === undefined || ih.length !== 20) return fail(203, 'get_peers needs a 20-byte info_hash');
        return reply({ token: Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 0x5a, 0xa5), ...nodes(ih) });
      }
      case 'sample_infohashes': {
        const target = v.bytes(F.target);
        if (target === undefined || target.length !== 20) return fail(203, 'sample_infohashes needs a 20-byte target');
        const contacts = nodes(target);
        if (!(this.flags[i] & FLAG_BEP51)) {
          // libtorrent before BEP 51 reads an unknown query with a target as find_node; others refuse it
          return this.flags[i] & FLAG_ERROR_204 ? fail(204, 'Method Unknown') : reply(contacts);
        }
        const now = this.clock.now();
        if (now - this.lastSampledAt[i] < this.intervalS * 1000) this.counters.earlySamples++;
        this.lastSampledAt[i] = now;
        if (this.kind[i] === NodeKind.normal) this.sampled[i]++;
        return reply({ interval: this.intervalS, num: this.storedBy(i), samples: this.samplesOf(i), ...contacts });
      }
      default:
        return fail(204, 'Method Unknown');
    }
  }

  /** Compact node info of the (up to) 8 contacts of node i closest to target, from its table of `family`. */
  private closestNodes(i: number, target: Uint8Array, family: Family): Uint8Array {
    const ids = this.ids;
    const best = new Int32Array(8);
    const start = family === 6 ? this.contactStart6 : this.contactStart;
    const list = family === 6 ? this.contacts6 : this.contacts;
    let count = 0;
    for (let c = start[i]; c < start[i + 1]; c++) {
      const node = list[c];
      if (count === 8 && !closer(ids, node, best[7], target)) continue;
      let pos = count < 8 ? count++ : 7;
      while (pos > 0 && closer(ids, node, best[pos - 1], target)) {
        best[pos] = best[pos - 1];
        pos--;
      }
      best[pos] = node;
    }
    // IPv4: id, the 4 address bytes, port; IPv6: id, fd00::/96 and the same 4 bytes, port
    const size = family === 6 ? 38 : 26;
    const out = new Uint8Array(count * size);
    for (let k = 0; k < count; k++) {
      const node = best[k];
      out.set(ids.subarray(node * 20, node * 20 + 20), k * size);
      const ip = this.ipBase + node;
      let o = k * size + 20;
      if (family === 6) {
        out[o] = 0xfd;
        o += 12;
      }
      out[o] = ip >>> 24;
      out[o + 1] = (ip >>> 16) & 0xff;
      out[o + 2] = (ip >>> 8) & 0xff;
      out[o + 3] = ip & 0xff;
      out[o + 4] = this.ports[node] >> 8;
      out[o + 5] = this.ports[node] & 0xff;
    }
    return out;
  }

  /** Up to maxSamples random distinct infohashes node i stores. */
  private samplesOf(i: number): Uint8Array {
    const from = this.holdStart[i];
    const count = this.holdStart[i + 1] - from;
    const take = Math.min(count, this.maxSamples);
    const pick = Array.from(this.hold.subarray(from, from + count));
    for (let k = 0; k < take; k++) {
      const r = k + Math.floor(this.prng.next() * (count - k));
      const tmp = pick[k];
      pick[k] = pick[r];
      pick[r] = tmp;
    }
    const out = new Uint8Array(take * 20);
    for (let k = 0; k < take; k++) out.set(this.infohashes.subarray(pick[k] * 20, pick[k] * 20 + 20), k * 20);
    return out;
  }
}

/** A transport that reports each destination before passing the datagram on. */
class CountingTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly onSend: (host: string, port: number) => void,
  ) {}

  get endpoints(): readonly LocalEndpoint[] {
    return this.inner.endpoints;
  }

  send(data: Uint8Array, host: string, port: number): void {
    this.onSend(host, port);
    this.inner.send(data, host, port);
  }

  onMessage(handler: MessageHandler): void {
    this.inner.onMessage(handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Stands in for the IPv4 transport of a node without IPv4 (never used: nothing reaches it). */
const NO_TRANSPORT: Transport = {
  endpoints: [],
  send: () => undefined,
  onMessage: () => undefined,
  close: () => Promise.resolve(),
};

/** A log-normal draw: median · e^(sigma · z), z standard normal (Box–Muller). */
function lognormal(prng: Prng, median: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - prng.next())) * Math.cos(2 * Math.PI * prng.next());
  return median * Math.exp(sigma * z);
}

function familyBits(families: readonly Family[]): number {
  let bits = 0;
  for (const f of families) bits |= stackBit(f);
  return bits;
}

// ---- construction helpers -------------------------------------------------------------------

/** Whether node a is closer to target than node b (XOR metric). */
function closer(ids: Uint8Array, a: number, b: number, target: Uint8Array): boolean {
  const ao = a * 20;
  const bo = b * 20;
  for (let k = 0; k < 20; k++) {
    const da = ids[ao + k] ^ target[k];
    const db = ids[bo + k] ^ target[k];
    if (da !== db) return da < db;
  }
  return false;
}

function top48(b: Uint8Array, off: number): number {
  return ((b[off] << 16) | (b[off + 1] << 8) | b[off + 2]) * 0x1000000 + ((b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]);
}

function compareIds(ids: Uint8Array, a: number, b: number): number {
  const ao = a * 20;
  const bo = b * 20;
  for (let k = 0; k < 20; k++) if (ids[ao + k] !== ids[bo + k]) return ids[ao + k] - ids[bo + k];
  return a - b;
}

function sortById(ids: Uint8Array, n: number): Int32Array {
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => compareIds(ids, a, b));
  return Int32Array.from(order);
}

/** First index in sorted keys with keys[s] >= value. */
function lowerBound(keys: Float64Array, value: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** [start, end) of the sorted positions whose top-48-bit key starts with the `bits`-bit prefix of key. */
function prefixRange(keys: Float64Array, key: number, bits: number): [number, number] {
  const span = 2 ** (48 - bits);
  const lo = Math.floor(key / span) * span;
  return [lowerBound(keys, lo), lowerBound(keys, lo + span)];
}

/** Routing tables of the nodes in `order` (sorted by id) over each other; nodes not in it get none. */
function buildTables(
  ids: Uint8Array,
  nodes: number,
  order: Int32Array,
  prng: Prng,
  k: { nearK: number; farK: number; nearBuckets: number },
): { start: Int32Array; list: Int32Array } {
  const n = order.length;
  const keys = new Float64Array(n);
  for (let s = 0; s < n; s++) keys[s] = top48(ids, order[s] * 20);
  const start = new Int32Array(nodes + 1);
  const chunks: Array<Int32Array | undefined> = [];
  let total = 0;
  const buf = new Int32Array(48 * Math.max(k.nearK, k.farK));
  for (let s = 0; s < n; s++) {
    const node = order[s];
    const key = keys[s];
    // depth: the shortest prefix this node shares with nobody (its table has buckets below it)
    let depth = 1;
    while (depth < 48) {
      const [a, b] = prefixRange(keys, key, depth);
      if (b - a <= 1) break;
      depth++;
    }
    let len = 0;
    for (let d = 0; d < depth; d++) {
      // bucket d: nodes sharing exactly d bits, i.e. the sibling subtree at depth d+1
      const span = 2 ** (48 - d - 1);
      const own = Math.floor(key / span);
      const sibling = own % 2 === 0 ? own + 1 : own - 1;
      const a = lowerBound(keys, sibling * span);
      const b = lowerBound(keys, sibling * span + span);
      const want = d >= depth - k.nearBuckets ? k.nearK : k.farK;
      const size = b - a;
      if (size <= want) {
        for (let x = a; x < b; x++) buf[len++] = order[x];
      } else {
        const first = len;
        while (len - first < want) {
          const pick = order[a + Math.floor(prng.next() * size)];
          let dup = false;
          for (let y = first; y < len; y++) if (buf[y] === pick) dup = true;
          if (!dup) buf[len++] = pick;
        }
      }
    }
    chunks[node] = buf.slice(0, len);
    total += len;
  }
  const list = new Int32Array(total);
  let at = 0;
  for (let i = 0; i < nodes; i++) {
    start[i] = at;
    const chunk = chunks[i];
    if (!chunk) continue;
    list.set(chunk, at);
    at += chunk.length;
  }
  start[nodes] = at;
  return { start, list };
}

/** For each infohash, the `replicas` holders closest to it; returns holder indices, replicas per infohash. */
function placeInfohashes(
  ids: Uint8Array,
  infohashes: Uint8Array,
  m: number,
  holders: Int32Array,
  holderKeys: Float64Array,
  replicas: number,
): Int32Array {
  const out = new Int32Array(m * replicas);
  if (replicas === 0) return new Int32Array(0);
  const window = replicas * 2;
  const pool: number[] = [];
  for (let j = 0; j < m; j++) {
    const target = infohashes.subarray(j * 20, j * 20 + 20);
    const pos = lowerBound(holderKeys, top48(infohashes, j * 20));
    pool.length = 0;
    for (let s = Math.max(0, pos - window); s < Math.min(holders.length, pos + window); s++) pool.push(holders[s]);
    pool.sort((a, b) => (closer(ids, a, b, target) ? -1 : closer(ids, b, a, target) ? 1 : 0));
    for (let r = 0; r < replicas; r++) out[j * replicas + r] = pool[r];
  }
  return out;
}
