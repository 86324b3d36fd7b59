// The responder: answers the queries other nodes send us (ping, find_node, get_peers,
// announce_peer, sample_infohashes, 204 for anything else), so that we are a useful member of
// the DHT and stay in other nodes' tables.
//
// One path for every method: the engine hands us the scanned view of each query (onQuery)
// before any object is built. Built-in methods read t / q / a.* by offset and write the reply
// bytes from pre-encoded pieces (responder-reply.ts); closest nodes come from
// RoutingTable.closest (bucket walk, no sort). A registered method (BEP 44 get / put) passes the
// same admission and gets the query decoded once from that view.
//
// Decisions (documented in docs/output.md under `node` as well):
// - Without `want`, nodes come in the querier's family; `want` with neither n4 nor n6 is read
//   as no `want`.
// - get_peers with scrape=1 for a hash we hold: BEP 33 filters AND values (values filling what
//   is left of the 1024-byte budget), as mldht does; libtorrent sends the filters instead.
// - No token when the peer store would refuse the announce (BEP 33: no token = won't accept).
// - An unknown method carrying a 20-byte `target` or `info_hash` is answered like find_node (as
//   libtorrent does: it lets newer query types still route); otherwise 204.
// - Malformed queries whose `t` was readable get the wire layer's error code (203, or 205/207
//   for BEP 44 limits) when the source passes the address policy and the rate limit; anything
//   else is dropped silently.
import type { Clock } from '../net/clock.js';
import type { AddressPolicy } from '../net/address.js';
import { BITSCRAPE_CLIENT_TAG } from '../net/krpc-engine.js';
import type { Endpoint, KrpcEngine, QueryHandler } from '../net/krpc-types.js';
import { ipv4NumberAt, parseIp } from '../wire/ip.js';
import { messageFromView } from '../wire/krpc-codec.js';
import { F, type KrpcView } from '../wire/krpc-view.js';
import type { BEncodable, Family, KrpcQuery, PeerInfo, WireError } from '../wire/types.js';
import type { AnnounceOutcome, PeerStorage } from './peer-store.js';
import { InboundLimiter } from './responder-limiter.js';
import { KEY, MAX_REPLY_BYTES, ReplyWriter } from './responder-reply.js';
import { NodeFlag, type RoutingEntry, type RoutingTable } from './routing-table.js';
import type { TokenManager } from './token-manager.js';

/** BEP 51 says at most 6 hours; libtorrent's default. */
export const DEFAULT_SAMPLE_INTERVAL_S = 21_600;
export const MAX_SAMPLES = 20;
/** Peers per get_peers reply at most (mldht sends 50), further bounded by the 1024-byte budget. */
export const MAX_VALUES = 50;
/** Nodes per family in a reply. */
export const REPLY_NODES = 8;

export interface InboundRateOptions {
  /** Queries per second per source (IP on the internet, ip:port on local networks). */
  ratePerSec: number;
  burst: number;
  /** Sources tracked at once (least recently seen forgotten first). */
  maxKeys?: number;
}

/** Default per-source limit: well above what an honest node sends, well below a flood. */
export const DEFAULT_INBOUND_RATE: Required<InboundRateOptions> = { ratePerSec: 5, burst: 25, maxKeys: 20_000 };

/** What a registered method's handler may do with the query it was given. */
export interface MethodContext {
  /** Sends `body` as the reply (our `id`, `ip` and `v` are added). */
  reply(body: object): void;
  error(code: number, msg: string): void;
  /** A write token for the querier's IP and `target` (BEP 44 get → put, like get_peers). */
  issueToken(target: Uint8Array): Uint8Array;
  checkToken(token: Uint8Array, target: Uint8Array): boolean;
  /** Compact closest good nodes; `want` as in BEP 32 (default: the querier's family). */
  closestNodes(target: Uint8Array, want?: string[]): { nodes?: Uint8Array; nodes6?: Uint8Array };
}

/**
 * A handler for a method the responder does not implement itself (BEP 44 get / put). It runs
 * during the datagram's delivery: byte fields of `q` alias the datagram, so copy what is kept.
 */
export type MethodHandler = (q: KrpcQuery, from: Endpoint, ctx: MethodContext) => void;

/** The Responder's method registry (what responder-items.ts needs). */
export interface MethodRegistry {
  registerMethod(name: string, handler: MethodHandler): void;
}

export type InfohashKind = 'get_peers' | 'announce_peer';

export type ResponderEvent =
  | { type: 'announce'; infohash: Uint8Array; peer: PeerInfo; seed: boolean; outcome: AnnounceOutcome; from: Endpoint }
  | { type: 'bad_token'; infohash: Uint8Array; from: Endpoint }
  /** A querier the routing table would take if it answers a ping (ping it, then table.onReply). */
  | { type: 'ping_candidate'; entry: RoutingEntry };

export interface ResponderOptions {
  engine: KrpcEngine;
  clock: Clock;
  table: RoutingTable;
  peers: PeerStorage;
  tokens: TokenManager;
  policy: AddressPolicy;
  /** BEP 51 `interval` (seconds, 0–21600); default 21600. */
  sampleIntervalS?: number;
  /** BEP 51 samples per reply, at most 20. */
  maxSamples?: number;
  /** Per-source limit on incoming queries; false turns it off. Default DEFAULT_INBOUND_RATE. */
  inboundRate?: InboundRateOptions | false;
  /** Our client tag in replies; must match the engine's (default BITSCRAPE_CLIENT_TAG). */
  version?: Uint8Array | null;
  /** Every info-hash seen in get_peers / announce_peer (passive harvesting). */
  onInfohash?: (infohash: Uint8Array, kind: InfohashKind, from: Endpoint) => void;
  onEvent?: (event: ResponderEvent) => void;
}

export interface MethodCounters {
  received: number;
  answered: number;
  errors: number;
}

export interface ResponderCounters {
  /** Well-formed queries that reached the responder. */
  queries: number;
  /** Replies (y=r) and error replies (y=e) sent. */
  answered: number;
  errors: number;
  /** Queries from bogon sources or port 0: never answered. */
  refused: number;
  /** Queries dropped by the per-source limit. */
  rateLimited: number;
  /** Malformed queries with a readable t; `malformedAnswered` of them got an error reply. */
  malformed: number;
  malformedAnswered: number;
  /** BEP 43 ro=1 queries (answered, sender kept out of the table). */
  readOnly: number;
  badTokens: number;
  /** get_peers answered without a token because the store would refuse the announce. */
  tokensWithheld: number;
  announces: number;
  /** Valid announces the peer store did not take (full, per-IP cap). */
  announcesRefused: number;
  handlerErrors: number;
  /** By method: the known ones, registered ones, and 'unknown' for the rest. */
  byMethod: Record<string, MethodCounters>;
}

interface Source {
  /** 4 or 16 bytes; null when the host is not an IP literal we can encode. */
  ip: Uint8Array | null;
  family: Family;
  /** Not usable under the address policy (port aside). */
  bogon: boolean;
  /** Rate-limit by ip:port (local networks) instead of by IP. */
  keyByPort: boolean;
  /** IPv4 as an unsigned 32-bit number (limiter key), -1 for IPv6. */
  v4: number;
}

const SOURCE_CACHE_MAX = 8192;
const SOURCE_CACHE_TTL_MS = 60_000;
const BUILT_IN = ['ping', 'find_node', 'get_peers', 'announce_peer', 'sample_infohashes'] as const;

function newCounters(): MethodCounters {
  return { received: 0, answered: 0, errors: 0 };
}

function isGood4(e: RoutingEntry): boolean {
  return e.family === 4 && e.failures === 0 && (e.flags & NodeFlag.BAD) === 0;
}
function isGood6(e: RoutingEntry): boolean {
  return e.family === 6 && e.failures === 0 && (e.flags & NodeFlag.BAD) === 0;
}

export class Responder implements MethodRegistry {
  readonly counters: ResponderCounters;
  private readonly engine: KrpcEngine;
  private readonly clock: Clock;
  private readonly table: RoutingTable;
  private readonly peers: PeerStorage;
  private readonly tokens: TokenManager;
  private readonly policy: AddressPolicy;
  private readonly sampleIntervalS: number;
  private readonly maxSamples: number;
  private readonly limiter: InboundLimiter | null;
  private readonly onInfohash?: ResponderOptions['onInfohash'];
  private readonly onEvent?: ResponderOptions['onEvent'];
  private readonly writer: ReplyWriter;
  private readonly methods = new Map<string, MethodHandler>();
  private readonly sources = new Map<string, Source>();
  private sourcesSince: number;
  private readonly m: Record<(typeof BUILT_IN)[number] | 'unknown', MethodCounters>;
  private closed = false;

  constructor(opts: ResponderOptions) {
    this.engine = opts.engine;
    this.clock = opts.clock;
    this.table = opts.table;
    this.peers = opts.peers;
    this.tokens = opts.tokens;
    this.policy = opts.policy;
    this.sampleIntervalS = clampInt(opts.sampleIntervalS ?? DEFAULT_SAMPLE_INTERVAL_S, 0, DEFAULT_SAMPLE_INTERVAL_S);
    this.maxSamples = clampInt(opts.maxSamples ?? MAX_SAMPLES, 0, MAX_SAMPLES);
    const rate = opts.inboundRate ?? DEFAULT_INBOUND_RATE;
    this.limiter = rate === false ? null : new InboundLimiter({ ratePerSec: rate.ratePerSec, burst: rate.burst, maxKeys: rate.maxKeys ?? DEFAULT_INBOUND_RATE.maxKeys });
    this.onInfohash = opts.onInfohash;
    this.onEvent = opts.onEvent;
    this.writer = new ReplyWriter(opts.engine.id, opts.version === undefined ? BITSCRAPE_CLIENT_TAG : opts.version);
    this.sourcesSince = this.clock.now();
    this.m = {
      ping: newCounters(),
      find_node: newCounters(),
      get_peers: newCounters(),
      announce_peer: newCounters(),
      sample_infohashes: newCounters(),
      unknown: newCounters(),
    };
    this.counters = {
      queries: 0,
      answered: 0,
      errors: 0,
      refused: 0,
      rateLimited: 0,
      malformed: 0,
      malformedAnswered: 0,
      readOnly: 0,
      badTokens: 0,
      tokensWithheld: 0,
      announces: 0,
      announcesRefused: 0,
      handlerErrors: 0,
      byMethod: { ...this.m },
    };

    opts.engine.onQuery(this.handle);
    opts.engine.onMalformedQuery(this.onMalformed);
  }

  /**
   * Adds a method (BEP 44 get / put). Its queries pass the same admission (address policy, rate
   * limit, routing table) and reach `handler` decoded.
   */
  registerMethod(name: string, handler: MethodHandler): void {
    if ((BUILT_IN as readonly string[]).includes(name)) throw new Error(`'${name}' is answered by the responder itself`);
    if (name === 'unknown') throw new Error(`'unknown' is reserved`);
    this.methods.set(name, handler);
    this.counters.byMethod[name] ??= newCounters();
  }

  /** Stops answering (the engine keeps running for our own queries). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.onQuery(null);
    this.engine.onMalformedQuery(null);
  }

  // ---- entry points -------------------------------------------------------------------------

  private readonly onMalformed = (err: WireError, from: Endpoint): void => {
    if (this.closed) return;
    const c = this.counters;
    c.malformed++;
    if (err.t === undefined || err.krpcCode === undefined) return;
    if (!this.admit(from.host, from.port)) return;
    this.engine.respondError(from, err.t, err.krpcCode, err.message);
    c.malformedAnswered++;
    c.errors++;
  };

  // ---- the hot path -------------------------------------------------------------------------

  /** Every well-formed query, whatever its method: admission, the answer, the routing table. */
  private readonly handle: QueryHandler = (view, host, port) => {
    if (this.closed) return;
    this.counters.queries++;
    const src = this.admit(host, port);
    if (src === null) return;

    const method = view.method;
    switch (method) {
      case 'ping':
        this.ping(view, src, host, port);
        break;
      case 'find_node':
        this.findNode(view, src, host, port, this.m.find_node, F.target);
        break;
      case 'get_peers':
        this.getPeers(view, src, host, port);
        break;
      case 'announce_peer':
        this.announcePeer(view, src, host, port);
        break;
      case 'sample_infohashes':
        this.sampleInfohashes(view, src, host, port);
        break;
      default: {
        const handler = this.methods.get(method);
        if (handler !== undefined) this.runRegistered(handler, view, src, host, port);
        else this.unknown(view, src, host, port);
      }
    }
    this.admitToTable(view, src, host, port);
  };

  /** The source's facts when it may be answered (policy, port, rate limit), else null. */
  private admit(host: string, port: number): Source | null {
    const c = this.counters;
    const src = this.source(host);
    if (src.bogon || src.ip === null || !(port >= 1 && port <= 65535)) {
      c.refused++;
      return null;
    }
    if (this.limiter !== null && !this.limiter.tryTake(limitKey(src, host, port), this.clock.now())) {
      c.rateLimited++;
      return null;
    }
    return src;
  }

  private source(host: string): Source {
    let src = this.sources.get(host);
    if (src !== undefined) return src;
    // The policy may open loopback/private space later (a new local address): re-ask it now and then.
    const now = this.clock.now();
    if (this.sources.size >= SOURCE_CACHE_MAX || now - this.sourcesSince > SOURCE_CACHE_TTL_MS) {
      this.sources.clear();
      this.sourcesSince = now;
    }
    const ip = parseIp(host);
    src = {
      ip,
      family: ip !== null && ip.length === 16 ? 6 : 4,
      bogon: this.policy.isBogon(host, 1),
      keyByPort: this.policy.rateLimitKey(host, 1) !== host,
      v4: ip !== null && ip.length === 4 ? ipv4NumberAt(ip) : -1,
    };
    this.sources.set(host, src);
    return src;
  }

  private admitToTable(view: KrpcView, src: Source, host: string, port: number): void {
    if (view.flag(F.ro)) {
      this.counters.readOnly++;
      return;
    }
    const id = view.bytes(F.id);
    if (id === undefined) return;
    const result = this.table.onQuery({ id, host, port, family: src.family });
    if (result.needsPing.length > 0 && this.onEvent) {
      for (const entry of result.needsPing) this.onEvent({ type: 'ping_candidate', entry });
    }
  }

  private send(host: string, port: number, data: Uint8Array, mc: MethodCounters): void {
    this.engine.sendRaw({ host, port }, data);
    mc.answered++;
    this.counters.answered++;
  }

  private sendError(host: string, port: number, view: KrpcView, code: number, message: string, mc: MethodCounters): void {
    this.engine.respondError({ host, port }, view.bytes(F.t)!, code, message);
    mc.errors++;
    this.counters.errors++;
  }

  private end(view: KrpcView): Buffer {
    const tok = view.f[F.t];
    const tape = view.tape;
    return this.writer.end(tape.buf, tape.start(tok), tape.end(tok));
  }

  // ---- methods ------------------------------------------------------------------------------

  private ping(view: KrpcView, src: Source, host: string, port: number): void {
    const mc = this.m.ping;
    mc.received++;
    const w = this.writer;
    w.begin(src.ip, port);
    w.id();
    this.send(host, port, this.end(view), mc);
  }

  /** find_node, and unknown methods that carry a target (`field` says which key). */
  private findNode(view: KrpcView, src: Source, host: string, port: number, mc: MethodCounters, field: number): void {
    mc.received++;
    const target = view.bytes(field)!;
    const w = this.writer;
    w.begin(src.ip, port);
    w.id();
    this.writeNodes(view, target, src.family, 0);
    this.send(host, port, this.end(view), mc);
  }

  private getPeers(view: KrpcView, src: Source, host: string, port: number): void {
    const mc = this.m.get_peers;
    mc.received++;
    const c = this.counters;
    const ih = view.bytes(F.info_hash)!;
    if (this.onInfohash) this.harvest(ih, 'get_peers', host, port);
    const peers = this.peers;
    const family = src.family;
    const held = peers.has(ih);
    const verdict = peers.check(ih, { host, port, family });
    const giveToken = verdict === 'added' || verdict === 'updated';
    const w = this.writer;
    w.begin(src.ip, port);
    if (held && view.flag(F.scrape)) {
      const blooms = peers.blooms(ih)!;
      w.string(KEY.BFpe, blooms.peers.bits);
      w.string(KEY.BFsd, blooms.seeds.bits);
    }
    w.id();
    this.writeNodes(view, ih, family, giveToken ? 13 : 0); // `5:token4:xxxx`
    if (giveToken) w.string(KEY.token, this.tokens.issue(host, ih));
    else c.tokensWithheld++;
    if (held) {
      const tLength = view.length(F.t);
      const per = family === 4 ? 8 : 21; // `6:` + 6 bytes, `18:` + 18 bytes
      // What is left of the budget after `6:values`, `l`, `e` and the envelope's end.
      const budget = MAX_REPLY_BYTES - w.length - w.closingBytes(tLength) - KEY.values.length - 2;
      const max = Math.min(MAX_VALUES, Math.floor(budget / per));
      const list = max > 0 ? peers.getPeers(ih, max, { noseed: view.flag(F.noseed), family }) : [];
      if (list.length > 0) {
        w.listOpen(KEY.values);
        for (const p of list) {
          const ip = this.source(p.host).ip;
          if (ip !== null) w.peer(ip, p.port);
        }
        w.listClose();
      }
    }
    this.send(host, port, this.end(view), mc);
  }

  private announcePeer(view: KrpcView, src: Source, host: string, port: number): void {
    const mc = this.m.announce_peer;
    mc.received++;
    const c = this.counters;
    const ih = view.bytes(F.info_hash)!;
    if (this.onInfohash) this.harvest(ih, 'announce_peer', host, port);
    const token = view.bytes(F.token)!;
    if (!this.tokens.verify(token, host, ih)) {
      c.badTokens++;
      if (this.onEvent) this.onEvent({ type: 'bad_token', infohash: Uint8Array.from(ih), from: { host, port } });
      this.sendError(host, port, view, 203, 'bad token', mc);
      return;
    }
    // implied_port: the UDP source port is the peer's port (it sits behind a NAT with uTP).
    const peerPort = view.flag(F.implied_port) ? port : (view.int(F.port) as number | undefined) ?? 0;
    if (!(peerPort >= 1 && peerPort <= 65535)) {
      this.sendError(host, port, view, 203, 'invalid port', mc);
      return;
    }
    const seed = view.flag(F.seed);
    const peer: PeerInfo = { host, port: peerPort, family: src.family };
    const outcome = this.peers.announce(ih, peer, seed);
    c.announces++;
    if (outcome !== 'added' && outcome !== 'updated') c.announcesRefused++;
    if (this.onEvent) this.onEvent({ type: 'announce', infohash: Uint8Array.from(ih), peer, seed, outcome, from: { host, port } });
    // A refused store still gets a plain reply: the token was valid, the node did nothing wrong.
    const w = this.writer;
    w.begin(src.ip, port);
    w.id();
    this.send(host, port, this.end(view), mc);
  }

  private sampleInfohashes(view: KrpcView, src: Source, host: string, port: number): void {
    const mc = this.m.sample_infohashes;
    mc.received++;
    const target = view.bytes(F.target)!;
    const w = this.writer;
    w.begin(src.ip, port);
    w.id();
    w.int(KEY.interval, this.sampleIntervalS);
    // Room for `num` and at least a few samples after the nodes.
    this.writeNodes(view, target, src.family, 32 + 5 * 20);
    w.int(KEY.num, this.peers.infohashCount);
    // `samples` is the last key: it gets what the 1024-byte budget leaves, up to maxSamples.
    const budget = MAX_REPLY_BYTES - w.length - w.closingBytes(view.length(F.t)) - KEY.samples.length - 4;
    const samples = this.peers.sampleInfohashes(Math.max(0, Math.min(this.maxSamples, Math.floor(budget / 20))));
    w.raw(KEY.samples);
    w.length_(samples.length * 20);
    for (const s of samples) w.raw(s);
    this.send(host, port, this.end(view), mc);
  }

  private unknown(view: KrpcView, src: Source, host: string, port: number): void {
    const mc = this.m.unknown;
    if (view.has(F.target)) return this.findNode(view, src, host, port, mc, F.target);
    if (view.has(F.info_hash)) return this.findNode(view, src, host, port, mc, F.info_hash);
    mc.received++;
    this.sendError(host, port, view, 204, 'Method Unknown', mc);
  }

  /**
   * `nodes` / `nodes6` closest to `target`, per BEP 32 `want` (default: the querier's family).
   * `reserve` bytes are kept for what the caller writes after the nodes; when both families do
   * not fit in the 1024-byte budget, the family the querier did not come from gives way.
   */
  private writeNodes(view: KrpcView, target: Uint8Array, family: Family, reserve: number): void {
    let n4 = false;
    let n6 = false;
    if (view.has(F.want)) {
      n4 = view.wants('n4');
      n6 = view.wants('n6');
    }
    if (!n4 && !n6) {
      if (family === 4) n4 = true;
      else n6 = true;
    }
    const w = this.writer;
    const list4 = n4 ? this.table.closest(target, REPLY_NODES, isGood4) : null;
    const list6 = n6 ? this.table.closest(target, REPLY_NODES, isGood6) : null;
    if (list4 !== null && list6 !== null) {
      // Key and length prefixes: `5:nodes208:` and `6:nodes6304:` at most.
      const room = MAX_REPLY_BYTES - w.length - w.closingBytes(view.length(F.t)) - reserve - 23;
      const other = family === 4 ? list6 : list4;
      const otherSize = family === 4 ? 38 : 26;
      const mine = (family === 4 ? list4.length * 26 : list6.length * 38);
      const fit = Math.max(0, Math.floor((room - mine) / otherSize));
      if (other.length > fit) other.length = fit;
    }
    if (list4 !== null) w.nodeString(KEY.nodes, list4);
    if (list6 !== null) w.nodeString(KEY.nodes6, list6);
  }

  private harvest(ih: Uint8Array, kind: InfohashKind, host: string, port: number): void {
    try {
      this.onInfohash!(Uint8Array.from(ih), kind, { host, port });
    } catch {
      this.counters.handlerErrors++;
    }
  }

  // ---- registered methods -------------------------------------------------------------------

  private runRegistered(handler: MethodHandler, view: KrpcView, src: Source, host: string, port: number): void {
    const msg = messageFromView(view) as KrpcQuery;
    const mc = this.counters.byMethod[msg.q];
    mc.received++;
    const from: Endpoint = { host, port };
    const t = Uint8Array.from(msg.t);
    const family = src.family;
    const ctx: MethodContext = {
      reply: (body) => {
        this.engine.respond(from, t, body as { [key: string]: BEncodable | undefined });
        mc.answered++;
        this.counters.answered++;
      },
      error: (code, message) => {
        this.engine.respondError(from, t, code, message);
        mc.errors++;
        this.counters.errors++;
      },
      issueToken: (target) => this.tokens.issue(host, target),
      checkToken: (token, target) => this.tokens.verify(token, host, target),
      closestNodes: (target, want) => this.closestNodes(target, family, want),
    };
    try {
      handler(msg, from, ctx);
    } catch {
      this.counters.handlerErrors++;
    }
  }

  /** Compact closest good nodes, for registered handlers. */
  closestNodes(target: Uint8Array, family: Family, want?: string[]): { nodes?: Uint8Array; nodes6?: Uint8Array } {
    let n4 = want?.includes('n4') ?? false;
    let n6 = want?.includes('n6') ?? false;
    if (!n4 && !n6) {
      if (family === 4) n4 = true;
      else n6 = true;
    }
    const out: { nodes?: Uint8Array; nodes6?: Uint8Array } = {};
    if (n4) out.nodes = this.compact(this.table.closest(target, REPLY_NODES, isGood4));
    if (n6) out.nodes6 = this.compact(this.table.closest(target, REPLY_NODES, isGood6));
    return out;
  }

  private compact(entries: readonly RoutingEntry[]): Uint8Array {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const e of entries) {
      const b = this.writer.nodes.get(e);
      if (b === null) continue;
      parts.push(b);
      n += b.length;
    }
    const out = new Uint8Array(n);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/** The per-source limiter key: IP, or ip:port where the policy keys local networks by port. */
function limitKey(src: Source, host: string, port: number): string | number {
  if (src.v4 >= 0) return src.keyByPort ? src.v4 * 65536 + port : src.v4 * 65536;
  return src.keyByPort ? host + '|' + port : host;
}

function clampInt(n: number, min: number, max: number): number {
  if (!Number.isFinite(n)) return max;
  return Math.min(max, Math.max(min, Math.floor(n)));
}
