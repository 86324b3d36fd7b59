// A small in-memory DHT for BEP 44 tests: every node runs the real item handlers over an
// ItemStore, and every query and reply goes through the real wire encoder and decoder (so the
// tests see exactly the bytes a UDP peer would), on a virtual clock.
import { createHash } from 'node:crypto';
import type { Endpoint, KrpcCounters, KrpcEngine, QueryOptions, QueryOutcome } from '../../src/core/net/krpc-types.js';
import { checkResponse } from '../../src/core/net/response-rules.js';
import { ItemStore } from '../../src/core/dht/item-store.js';
import { DhtClient } from '../../src/core/dht/dht-client.js';
import { RoutingTable } from '../../src/core/dht/routing-table.js';
import { compareDistance, equals } from '../../src/core/dht/node-id.js';
import { registerItemHandlers, type ItemHandlerStats } from '../../src/core/dht/responder-items.js';
import type { MethodContext, MethodHandler } from '../../src/core/dht/responder.js';
import { encodeNodes } from '../../src/core/wire/compact.js';
import { decodeMessage, encodeError, encodeQuery, encodeResponse } from '../../src/core/wire/krpc-codec.js';
import type { BEncodable, KrpcQuery } from '../../src/core/wire/types.js';
import { prng, randomBytesFrom } from './fake-engine.js';
import type { VirtualClock } from '../../src/core/net/virtual-clock.js';

/**
 * ok: honest. silent: never answers. forger: answers get with a tampered item (when it holds
 * one) and accepts puts. tokenless: answers get without a token.
 */
export type ItemBehaviour = 'ok' | 'silent' | 'forger' | 'tokenless';

export interface ItemNode {
  id: Uint8Array;
  host: string;
  port: number;
  behaviour: ItemBehaviour;
  store: ItemStore;
  stats: ItemHandlerStats;
  handlers: Map<string, MethodHandler>;
  /** The part of the network this node knows (and reports in `nodes`). */
  known: ItemNode[];
}

const sha1 = (...parts: (Uint8Array | string)[]): Uint8Array => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

export class ItemNetwork {
  readonly nodes: ItemNode[] = [];
  private readonly byEndpoint = new Map<string, ItemNode>();
  /** Runs before a node handles a query (tests use it to race other writers). */
  beforeQuery?: (node: ItemNode, method: string) => void;

  constructor(
    readonly clock: VirtualClock,
    size: number,
    behaviour: (i: number) => ItemBehaviour = () => 'ok',
    seed = 1,
  ) {
    const rand = prng(seed);
    for (let i = 0; i < size; i++) {
      const handlers = new Map<string, MethodHandler>();
      const store = new ItemStore(clock);
      const stats = registerItemHandlers({ registerMethod: (name, h) => handlers.set(name, h) }, store);
      const node: ItemNode = { id: randomBytesFrom(rand, 20), host: `127.0.${i >> 8}.${(i & 255) + 1}`, port: 7000 + i, behaviour: behaviour(i), store, stats, handlers, known: [] };
      this.nodes.push(node);
      this.byEndpoint.set(`${node.host}|${node.port}`, node);
    }
    // Each node knows a random half of the others, so replies differ as on a real DHT.
    for (const node of this.nodes) node.known = this.nodes.filter((n) => n !== node && rand() < 0.5);
  }

  closest(target: Uint8Array, n = 8, filter: (node: ItemNode) => boolean = () => true): ItemNode[] {
    return this.nodes.filter(filter).sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, n);
  }

  find(to: Endpoint): ItemNode | undefined {
    return this.byEndpoint.get(`${to.host}|${to.port}`);
  }

  /** A client on this network: a DhtClient over a fake engine, bootstrapped from node 0. */
  client(id = randomBytesFrom(prng(999), 20), host = '127.9.9.9'): { dht: DhtClient; engine: ItemEngine } {
    const engine = new ItemEngine(this, id, host);
    const table = new RoutingTable({ id, clock: this.clock });
    const dht = new DhtClient({ engine, clock: this.clock, table, bootstrap: [{ host: this.nodes[0].host, port: this.nodes[0].port }] });
    return { dht, engine };
  }

  /** Handles one encoded query at `node`; returns the encoded reply, or null for silence. */
  handle(node: ItemNode, datagram: Uint8Array, from: Endpoint): Uint8Array | null {
    if (node.behaviour === 'silent') return null;
    const decoded = decodeMessage(datagram);
    if (!decoded.ok) {
      const e = decoded.error;
      return e.t && e.krpcCode ? encodeError(e.t, e.krpcCode, e.message) : null;
    }
    const q = decoded.value as KrpcQuery;
    this.beforeQuery?.(node, q.q);
    let out: Uint8Array | null = null;
    const token = (target: Uint8Array) => sha1(from.host, node.id, target).subarray(0, 4);
    const ctx: MethodContext = {
      reply: (body) => {
        const full: Record<string, BEncodable> = { ...(body as Record<string, BEncodable>), id: node.id };
        if (node.behaviour === 'tokenless') delete full.token;
        if (node.behaviour === 'forger') forge(full);
        out = encodeResponse(q.t, full);
      },
      error: (code, msg) => (out = encodeError(q.t, code, msg)),
      issueToken: token,
      checkToken: (tok, target) => equals(tok, token(target)),
      closestNodes: (target) => ({
        nodes: encodeNodes(this.closest(target, 8, (n) => node.known.includes(n)).map((n) => ({ id: n.id, host: n.host, port: n.port, family: 4 as const }))),
      }),
    };
    const handler = node.handlers.get(q.q);
    if (handler) handler(q, from, ctx);
    else if (q.q === 'find_node' || q.q === 'ping') ctx.reply(ctx.closestNodes(q.a.target ?? node.id));
    else ctx.error(204, 'Method Unknown');
    return out;
  }
}

/** Tampers with an item in a reply: flips a byte of an immutable value, or of a signature. */
function forge(body: Record<string, BEncodable>): void {
  if (body.v === undefined) return;
  if (body.sig instanceof Uint8Array) {
    const sig = Uint8Array.from(body.sig);
    sig[0] ^= 1;
    body.sig = sig;
  } else {
    body.v = 'forged value';
  }
}

export class ItemEngine implements KrpcEngine {
  readonly sent: Array<{ to: Endpoint; method: string; args: { [key: string]: BEncodable | undefined } }> = [];
  readonly counters: KrpcCounters = {
    sent: 0, received: 0, queriesSent: 0, responses: 0, timeouts: 0, errors: 0, malformed: 0,
    unmatched: 0, queriesReceived: 0, refused: 0, rateLimited: 0, byMethod: {}, byVersion: {},
  };
  private pendingCount = 0;
  private tid = 0;

  constructor(
    private readonly net: ItemNetwork,
    readonly id: Uint8Array,
    private readonly host: string,
  ) {}

  get inFlight(): number {
    return this.pendingCount;
  }

  query(to: Endpoint, method: string, args: { [key: string]: BEncodable | undefined }, opts: QueryOptions = {}): Promise<QueryOutcome> {
    this.sent.push({ to, method, args });
    const clock = this.net.clock;
    const t = Uint8Array.of(0, 0, (this.tid >> 8) & 255, this.tid++ & 255);
    const datagram = encodeQuery(t, method, { ...args, id: args.id ?? this.id }, { ro: true });
    const node = this.net.find(to);
    this.pendingCount++;
    return new Promise<QueryOutcome>((resolve) => {
      const done = (o: QueryOutcome): void => {
        this.pendingCount--;
        resolve(o);
      };
      const timeoutMs = opts.timeoutMs ?? 2000;
      clock.setTimeout(() => {
        const replyBytes = node ? this.net.handle(node, datagram, { host: this.host, port: 6881 }) : null;
        const reply = replyBytes ? decodeMessage(replyBytes) : null;
        if (!reply || !reply.ok) {
          clock.setTimeout(() => done({ ok: false, kind: 'timeout', attempts: 1 }), timeoutMs - 20);
          return;
        }
        const msg = reply.value;
        if (msg.y === 'e') return done({ ok: false, kind: 'error', code: msg.code, message: msg.message, msg, rttMs: 20 });
        if (msg.y !== 'r') return done({ ok: false, kind: 'bad_reply', message: 'not a reply', rttMs: 20 });
        const why = checkResponse(method, msg);
        if (why) return done({ ok: false, kind: 'bad_reply', message: why, rttMs: 20 });
        if (opts.expectId && !equals(opts.expectId, msg.r.id)) return done({ ok: false, kind: 'id_mismatch', msg, rttMs: 20 });
        done({ ok: true, msg, rttMs: 20, from: to });
      }, 20);
    });
  }

  onQuery(): void {}
  onMalformedQuery(): void {}
  onResponse(): void {}
  respond(): void {}
  respondError(): void {}
  sendRaw(): void {}
  async close(): Promise<void> {}
}
