// An in-memory stand-in for the KRPC engine: a simulated network of nodes that answer
// find_node / get_peers from what they know, on a virtual clock. Only what lookups need.
import { createHash } from 'node:crypto';
import type { Endpoint, KrpcCounters, KrpcEngine, QueryOptions, QueryOutcome } from '../../src/core/net/krpc-types.js';
import { commonPrefixBits, compareDistance, equals, idToHex } from '../../src/core/dht/node-id.js';
import type { BEncodable, KrpcResponse, NodeInfo, PeerInfo, ResponseBody } from '../../src/core/wire/types.js';
import type { VirtualClock } from '../../src/core/net/virtual-clock.js';

/**
 * ok: answers truthfully. silent: never answers. error: answers 202. liar: answers under
 * another id. garbage: answers with made-up contacts close to the target (unreachable, bogon,
 * duplicated, our own id, wrong-length ids). slow: answers after 1.5 s. A node's `latencyMs`
 * may be changed by a test (a busy node answering after the query timeout).
 */
export type Behaviour = 'ok' | 'silent' | 'error' | 'liar' | 'garbage' | 'slow';

export interface FakeNode {
  id: Uint8Array;
  host: string;
  port: number;
  behaviour: Behaviour;
  latencyMs: number;
  /** Its routing table: up to 8 nodes per shared-prefix length. */
  known: FakeNode[];
  /** Stored peers by info-hash hex: [peer, seed]. */
  peers: Map<string, Array<[PeerInfo, boolean]>>;
}

/** Deterministic xorshift32 PRNG. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export function randomBytesFrom(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

export interface FakeNetworkOptions {
  size: number;
  seed?: number;
  /** Behaviour of node i (default all ok). */
  behaviour?: (i: number, rand: () => number) => Behaviour;
}

export class FakeNetwork {
  readonly nodes: FakeNode[] = [];
  readonly rand: () => number;
  private readonly byEndpoint = new Map<string, FakeNode>();

  constructor(
    readonly clock: VirtualClock,
    opts: FakeNetworkOptions,
  ) {
    this.rand = prng(opts.seed ?? 1);
    for (let i = 0; i < opts.size; i++) {
      const behaviour = opts.behaviour?.(i, this.rand) ?? 'ok';
      const node: FakeNode = {
        id: randomBytesFrom(this.rand, 20),
        host: `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
        port: 20000 + (i % 30000),
        behaviour,
        latencyMs: behaviour === 'slow' ? 1500 : 10 + Math.floor(this.rand() * 190),
        known: [],
        peers: new Map(),
      };
      this.nodes.push(node);
      this.byEndpoint.set(`${node.host}|${node.port}`, node);
    }
    // A third of the nodes keep dead (silent) nodes in their tables, so lookups meet timeouts.
    this.nodes.forEach((n, i) => (n.known = this.buildKnown(n, i % 3 === 0)));
  }

  private buildKnown(self: FakeNode, keepsDead: boolean): FakeNode[] {
    const perLevel = new Map<number, FakeNode[]>();
    // Visit others in a node-specific order so tables differ between nodes.
    const start = Math.floor(this.rand() * this.nodes.length);
    for (let j = 0; j < this.nodes.length; j++) {
      const other = this.nodes[(start + j) % this.nodes.length];
      if (other === self || (other.behaviour === 'silent' && !keepsDead)) continue;
      const level = commonPrefixBits(self.id, other.id);
      const bucket = perLevel.get(level) ?? [];
      if (bucket.length < 8) bucket.push(other);
      perLevel.set(level, bucket);
    }
    return [...perLevel.values()].flat();
  }

  find(to: Endpoint): FakeNode | undefined {
    return this.byEndpoint.get(`${to.host}|${to.port}`);
  }

  /** Ground truth: the n nodes nearest to target among those matching `filter`. */
  trueClosest(target: Uint8Array, n: number, filter: (node: FakeNode) => boolean = () => true): FakeNode[] {
    return this.nodes
      .filter(filter)
      .sort((a, b) => compareDistance(a.id, b.id, target))
      .slice(0, n);
  }

  /** What `node` answers to find_node/get_peers for `target`: the 8 nearest it knows. */
  reportedBy(node: FakeNode, target: Uint8Array): FakeNode[] {
    return [...node.known].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 8);
  }

  /** Stores peers at the `holders` nodes nearest to the info-hash. */
  storePeers(infohash: Uint8Array, peers: Array<[PeerInfo, boolean]>, holders = 8): FakeNode[] {
    const chosen = this.trueClosest(infohash, holders, (n) => n.behaviour === 'ok');
    for (const n of chosen) n.peers.set(idToHex(infohash), peers);
    return chosen;
  }

  engine(id: Uint8Array): FakeEngine {
    return new FakeEngine(this, id);
  }
}

export interface SentQuery {
  to: Endpoint;
  method: string;
  args: { [key: string]: BEncodable | undefined };
  opts: QueryOptions;
  at: number;
}

export class FakeEngine implements KrpcEngine {
  readonly sent: SentQuery[] = [];
  maxInFlight = 0;
  private current = 0;
  readonly counters: KrpcCounters = {
    sent: 0,
    received: 0,
    queriesSent: 0,
    responses: 0,
    timeouts: 0,
    errors: 0,
    malformed: 0,
    unmatched: 0,
    queriesReceived: 0,
    refused: 0,
    rateLimited: 0,
    byMethod: {},
    byVersion: {},
  };

  constructor(
    private readonly net: FakeNetwork,
    readonly id: Uint8Array,
  ) {}

  get inFlight(): number {
    return this.current;
  }

  query(to: Endpoint, method: string, args: { [key: string]: BEncodable | undefined }, opts: QueryOptions = {}): Promise<QueryOutcome> {
    const clock = this.net.clock;
    this.sent.push({ to, method, args, opts, at: clock.now() });
    this.counters.queriesSent++;
    this.current++;
    this.maxInFlight = Math.max(this.maxInFlight, this.current);
    const timeoutMs = opts.timeoutMs ?? 2000;
    const attempts = 1 + (opts.retries ?? 0);
    const node = this.net.find(to);
    return new Promise<QueryOutcome>((resolve) => {
      const done = (o: QueryOutcome): void => {
        this.current--;
        resolve(o);
      };
      // Retries resend under the same transaction (as Krpc does), so a reply to the first
      // attempt that comes after its timeout still counts until the last attempt times out.
      if (!node || node.behaviour === 'silent' || node.latencyMs >= timeoutMs * attempts) {
        clock.setTimeout(() => done({ ok: false, kind: 'timeout', attempts }), timeoutMs * attempts);
        return;
      }
      const rtt = node.latencyMs;
      clock.setTimeout(() => {
        if (node.behaviour === 'error') {
          const msg = { y: 'e' as const, t: new Uint8Array(4), code: 202, message: 'Server Error' };
          done({ ok: false, kind: 'error', code: 202, message: 'Server Error', msg, rttMs: rtt });
          return;
        }
        const body = this.answer(node, method, args);
        const msg: KrpcResponse = { y: 'r', t: new Uint8Array(4), r: body, rawBody: {}, v: Uint8Array.of(0x46, 0x4b, 0, 1) };
        if (opts.expectId && !equals(opts.expectId, body.id)) {
          done({ ok: false, kind: 'id_mismatch', msg, rttMs: rtt });
          return;
        }
        done({ ok: true, msg, rttMs: rtt, from: { host: node.host, port: node.port } });
      }, rtt);
    });
  }

  private answer(node: FakeNode, method: string, args: { [key: string]: BEncodable | undefined }): ResponseBody {
    const target = (method === 'get_peers' ? args.info_hash : args.target) as Uint8Array;
    const id = node.behaviour === 'liar' ? createHash('sha1').update(node.id).digest() : node.id;
    const body: ResponseBody = { id: new Uint8Array(id) };
    if (node.behaviour === 'garbage') {
      body.nodes = this.garbage(target);
    } else {
      body.nodes = this.net.reportedBy(node, target).map((n): NodeInfo => ({ id: n.id, host: n.host, port: n.port, family: 4 }));
    }
    if (method === 'get_peers') {
      body.token = createHash('sha1').update(node.id).update(target).digest().subarray(0, 4);
      const stored = node.peers.get(idToHex(target));
      if (stored) {
        body.values = stored.filter(([, seed]) => !(args.noseed && seed)).map(([p]) => p);
        if (args.scrape) {
          body.BFsd = new Uint8Array(256).fill(stored.filter(([, s]) => s).length);
          body.BFpe = new Uint8Array(256).fill(stored.filter(([, s]) => !s).length);
        }
      }
    }
    return body;
  }

  /** Contacts that look great (very close to the target) but are lies. */
  private garbage(target: Uint8Array): NodeInfo[] {
    const out: NodeInfo[] = [];
    const near = (): Uint8Array => {
      const id = Uint8Array.from(target);
      id[19] ^= 1 + Math.floor(this.net.rand() * 255);
      return id;
    };
    for (let i = 0; i < 4; i++) out.push({ id: near(), host: `127.200.0.${i + 1}`, port: 9000 + i, family: 4 }); // nobody there
    out.push({ id: near(), host: '0.0.0.0', port: 6881, family: 4 }); // bogon
    out.push({ id: near(), host: '127.200.1.1', port: 0, family: 4 }); // port 0
    out.push({ id: this.id, host: '127.200.1.2', port: 7000, family: 4 }); // the querier itself
    out.push({ id: near().subarray(0, 19), host: '127.200.1.3', port: 7000, family: 4 }); // short id
    const real = this.net.nodes[0];
    out.push({ id: near(), host: real.host, port: real.port, family: 4 }); // a real endpoint under a false id
    return out;
  }

  onQuery(): void {}
  onMalformedQuery(): void {}
  onResponse(): void {}
  respond(): void {}
  respondError(): void {}
  sendRaw(): void {}
  async close(): Promise<void> {}
}
