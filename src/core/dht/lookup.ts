// Iterative α-parallel lookup (Kademlia, as libtorrent's traversal runs it):
// - candidates sorted by XOR distance to the target, capped (default 100);
// - walk them nearest first, skipping failed ones, until k have answered; among those, keep α
//   queries in flight, always asking the nearest not yet asked;
// - a query slower than `shortTimeoutMs` gives up its slot (its answer is still used, and
//   is waited for while the candidate is among the nearest: a late reply is not a failure);
//   with an RTT estimator (`rtt`) both that and the per-attempt timeout follow measured round
//   trips instead of fixed times;
// - done when the k nearest non-failed candidates have all answered, or nothing is in flight
//   and nothing is left to ask, the bootstrap contacts included: a lookup that runs short (a
//   stale routing file's dead seeds) asks them before it gives up.
// The method is pluggable (find_node, get_peers, BEP 44 get): one callback builds the query
// arguments, another sees every reply.
import type { Clock, TimerHandle } from '../net/clock.js';
import type { Endpoint, KrpcEngine, QueryOutcome } from '../net/krpc-types.js';
import type { RttEstimator } from '../net/rtt-estimator.js';
import type { BEncodable, Family, KrpcResponse, NodeInfo, PeerInfo } from '../wire/types.js';
import { isSecureId } from './secure-id.js';
import { ID_BYTES, compareDistance, equals, idToHex } from './node-id.js';
import { NodeFlag, type RoutingTable } from './routing-table.js';
import { endpointKey } from '../net/endpoint-key.js';

export interface LookupNode extends NodeInfo {
  rttMs: number;
  /** The responder's client tag (`v`), raw. */
  version?: Uint8Array;
}

export interface LookupStats {
  queries: number;
  replies: number;
  timeouts: number;
  /** Error replies, malformed replies, replies with an unexpected id. */
  errors: number;
  /** Queries the engine refused locally (address policy, closed engine). */
  refused: number;
  /** Longest chain of referrals that led to an answer (seeds are round 1). */
  rounds: number;
  ms: number;
  /** Distinct peers in `values` left out: port 0, or refused by `allowPeer` (bogons). */
  droppedPeers: number;
}

export interface LookupPeer {
  peer: PeerInfo;
  /** Ids of the nodes that returned this peer. */
  from: Uint8Array[];
}

export interface LookupToken {
  node: LookupNode;
  token: Uint8Array;
}

/** Raw BEP 33 filters as one responder sent them. */
export interface LookupScrape {
  from: LookupNode;
  BFsd?: Uint8Array;
  BFpe?: Uint8Array;
}

export type LookupEnd = 'converged' | 'exhausted' | 'max_queries' | 'deadline' | 'aborted';

export interface LookupResult {
  target: Uint8Array;
  /** Up to k answered nodes, nearest first. */
  closest: LookupNode[];
  peers: LookupPeer[];
  /** Distinct peers from `values` that were left out (stats.droppedPeers of them). */
  droppedPeers: PeerInfo[];
  /** Write tokens by responder id (hex). */
  tokens: Map<string, LookupToken>;
  scrapes: LookupScrape[];
  stats: LookupStats;
  end: LookupEnd;
}

/** Address policy for contacts learnt from replies (bogons etc.); lives in net/. */
export type ContactFilter = (host: string, port: number, family: Family) => boolean;

/** Whether a peer from `values` is kept: a real port, and whatever the address policy says. */
export function usablePeer(p: PeerInfo, allowPeer?: ContactFilter): boolean {
  return p.port >= 1 && p.port <= 65535 && (allowPeer === undefined || allowPeer(p.host, p.port, p.family));
}

export interface LookupOptions {
  engine: KrpcEngine;
  clock: Clock;
  target: Uint8Array;
  /** Seeds come from here, and every reply and timeout is reported to it. */
  table?: RoutingTable;
  /** Extra known contacts to start from. */
  seeds?: NodeInfo[];
  /**
   * Contacts without a known id (routers); asked when fewer than 3 seeds are known, when
   * `forceBootstrap`, and as a last resort when the lookup runs out of candidates.
   */
  bootstrap?: Endpoint[];
  /** Ask `bootstrap` from the start, however many seeds the table gives (they may be stale). */
  forceBootstrap?: boolean;
  /**
   * More id-less contacts, fetched only when the lookup has run out and `bootstrap` had nothing
   * new (e.g. public routers resolved on demand).
   */
  moreBootstrap?: () => Promise<Endpoint[]>;
  /** Queries in flight; 3–8, default 4. */
  alpha?: number;
  k?: number;
  maxCandidates?: number;
  /** After this long a query stops holding a slot; default 1000 ms. */
  shortTimeoutMs?: number;
  /** Per-attempt timeout passed to the engine (default: the engine's). */
  queryTimeoutMs?: number;
  /**
   * Round trips of recent replies (a crawl's estimator): when given, each attempt times out at
   * its adaptive timeout (at most the estimator's hard one) and the short timeout is no longer
   * than that, so a dead node costs a fraction of a second; the lookup's replies feed it.
   */
  rtt?: RttEstimator;
  /**
   * Extra attempts per query; default 1. The engine resends under the same transaction, so a
   * reply late for the first attempt (a busy node) still counts while the retry waits: the
   * nodes a lookup asks are the closest known, and one lost to a late reply changes the result.
   */
  retries?: number;
  /** Hard cap on queries sent; default 300. */
  maxQueries?: number;
  /** Hard cap on the lookup's duration; default 60 s. */
  deadlineMs?: number;
  allowContact?: ContactFilter;
  /** Peers from `values` must pass this (port 0 never does); dropped ones are counted. */
  allowPeer?: ContactFilter;
  /** Address families to follow; default both. */
  families?: Family[];
  /** At most one candidate per IP (public internet). Off by default (loopback networks). */
  oneContactPerIp?: boolean;
  /** Table flags for a responder; default: BEP42_VALID when its id matches its IP. */
  flagsFor?: (node: NodeInfo) => number;
  signal?: AbortSignal;
  /** Sees every accepted reply, whatever the method (raw dumps, statistics). */
  onReply?: (msg: KrpcResponse, from: LookupNode) => void;
}

export interface LookupMethod {
  method: string;
  /** Query arguments for one node (include `id`). */
  args(to: Endpoint & { id?: Uint8Array }): { [key: string]: BEncodable | undefined };
  /** Sees every reply accepted during the lookup. */
  onReply?(msg: KrpcResponse, from: LookupNode): void;
}

const State = {
  New: 0,
  InFlight: 1,
  /** Past the short timeout: no longer holds a slot, answer still welcome. */
  Slow: 2,
  Answered: 3,
  Failed: 4,
} as const;
type State = (typeof State)[keyof typeof State];

interface Candidate {
  /** Unknown for bootstrap contacts until they answer. */
  id: Uint8Array | null;
  host: string;
  port: number;
  family: Family;
  state: State;
  hop: number;
  rttMs: number;
  version?: Uint8Array;
  timer?: TimerHandle;
}

export function findNode(opts: LookupOptions & { want?: string[] }): Promise<LookupResult> {
  const want = opts.want ?? wantFor(opts.families);
  return iterativeLookup(opts, {
    method: 'find_node',
    args: () => ({ id: opts.engine.id, target: opts.target, want }),
  });
}

/**
 * BEP 32 `want` for a lookup that follows one family only: without it a node answers in the
 * family the query reached it on, so a router asked over IPv4 would list no IPv6 contacts.
 */
function wantFor(families: readonly Family[] | undefined): string[] | undefined {
  if (families?.length !== 1) return undefined;
  return [families[0] === 6 ? 'n6' : 'n4'];
}

export function getPeers(opts: LookupOptions & { scrape?: boolean; noseed?: boolean; want?: string[] }): Promise<LookupResult> {
  return iterativeLookup(opts, {
    method: 'get_peers',
    args: () => ({
      id: opts.engine.id,
      info_hash: opts.target,
      want: opts.want,
      scrape: opts.scrape ? 1 : undefined,
      noseed: opts.noseed ? 1 : undefined,
    }),
  });
}

export function iterativeLookup(opts: LookupOptions, method: LookupMethod): Promise<LookupResult> {
  return new Lookup(opts, method).run();
}

class Lookup {
  private readonly alpha: number;
  private readonly k: number;
  private readonly cap: number;
  private readonly shortTimeoutMs: number;
  private readonly maxQueries: number;
  private readonly families: ReadonlySet<Family>;
  private readonly started: number;
  private readonly sorted: Candidate[] = [];
  private readonly bootQueue: Candidate[] = [];
  private readonly inFlight = new Set<Candidate>();
  private readonly seenEndpoints = new Set<string>();
  private readonly seenIds = new Set<string>();
  private readonly seenHosts = new Set<string>();
  /** Endpoints given a second chance after answering under an unexpected id. */
  private readonly retried = new Set<string>();
  private readonly peers = new Map<string, LookupPeer>();
  private readonly droppedPeers = new Map<string, PeerInfo>();
  private readonly tokens = new Map<string, LookupToken>();
  private readonly scrapes: LookupScrape[] = [];
  private readonly stats: LookupStats = { queries: 0, replies: 0, timeouts: 0, errors: 0, refused: 0, rounds: 0, ms: 0, droppedPeers: 0 };
  private slotsUsed = 0;
  /** The last resort (bootstrap contacts once the candidates ran out) was taken, or is being fetched. */
  private fellBack = false;
  private fetchingMore = false;
  private finished = false;
  private deadline?: TimerHandle;
  private resolve!: (r: LookupResult) => void;
  private readonly onAbort = (): void => this.finish('aborted');

  constructor(
    private readonly opts: LookupOptions,
    private readonly method: LookupMethod,
  ) {
    this.alpha = Math.max(1, Math.min(16, opts.alpha ?? 4));
    this.k = opts.k ?? 8;
    this.cap = Math.max(this.k, opts.maxCandidates ?? 100);
    this.shortTimeoutMs = opts.shortTimeoutMs ?? 1000;
    this.maxQueries = opts.maxQueries ?? 300;
    this.families = new Set(opts.families ?? [4, 6]);
    this.started = opts.clock.now();
  }

  run(): Promise<LookupResult> {
    const promise = new Promise<LookupResult>((resolve) => (this.resolve = resolve));
    if (this.opts.signal?.aborted) {
      this.finish('aborted');
      return promise;
    }
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.deadline = this.opts.clock.setTimeout(() => this.finish('deadline'), this.opts.deadlineMs ?? 60_000);
    this.seed();
    this.step();
    return promise;
  }

  private seed(): void {
    const { table, target } = this.opts;
    let seeds = 0;
    if (table) {
      const near = table.closest(target, this.k, (e) => this.families.has(e.family) && table.stateOf(e) !== 'bad');
      for (const e of near) if (this.addContact(e, 0)) seeds++;
    }
    for (const n of this.opts.seeds ?? []) if (this.addContact(n, 0)) seeds++;
    if (seeds >= 3 && !this.opts.forceBootstrap) return;
    this.queueBootstrap(this.opts.bootstrap ?? []);
  }

  /** Queues id-less contacts not asked yet; returns how many. */
  private queueBootstrap(contacts: readonly Endpoint[]): number {
    let queued = 0;
    for (const b of contacts) {
      const key = endpointKey(b.host, b.port);
      if (this.seenEndpoints.has(key)) continue;
      this.seenEndpoints.add(key);
      this.bootQueue.push({ id: null, host: b.host, port: b.port, family: b.host.includes(':') ? 6 : 4, state: State.New, hop: 0, rttMs: -1 });
      queued++;
    }
    return queued;
  }

  /**
   * Nothing left to ask and fewer than k answers (dead seeds from a stale routing file, say):
   * ask the bootstrap contacts not asked yet, else `moreBootstrap`'s. Once per lookup; returns
   * whether that gave the lookup something to wait for.
   */
  private fallBack(): boolean {
    if (this.fellBack) return false;
    this.fellBack = true;
    if (this.queueBootstrap(this.opts.bootstrap ?? []) > 0) {
      this.step();
      return true;
    }
    const more = this.opts.moreBootstrap;
    if (!more) return false;
    this.fetchingMore = true;
    Promise.resolve()
      .then(more)
      .catch(() => [] as Endpoint[])
      .then((contacts) => {
        this.fetchingMore = false;
        this.queueBootstrap(contacts);
        this.step();
      });
    return true;
  }

  /** Adds a contact with a known id if it passes every check; returns whether it was added. */
  private addContact(n: NodeInfo, hop: number): boolean {
    if (!(n.id instanceof Uint8Array) || n.id.length !== ID_BYTES) return false;
    if (!Number.isInteger(n.port) || n.port < 1 || n.port > 65535 || typeof n.host !== 'string') return false;
    if (!this.families.has(n.family)) return false;
    if (equals(n.id, this.opts.engine.id)) return false;
    const key = endpointKey(n.host, n.port);
    const idKey = idToHex(n.id);
    if (this.seenEndpoints.has(key) || this.seenIds.has(idKey)) return false;
    if (this.opts.oneContactPerIp && this.seenHosts.has(n.host)) return false;
    if (this.opts.allowContact && !this.opts.allowContact(n.host, n.port, n.family)) return false;
    this.seenEndpoints.add(key);
    this.seenIds.add(idKey);
    this.seenHosts.add(n.host);
    return this.insertSorted({ id: Uint8Array.from(n.id), host: n.host, port: n.port, family: n.family, state: State.New, hop, rttMs: -1 });
  }

  /** Binary insertion by distance; the farthest falls off past the cap. */
  private insertSorted(c: Candidate): boolean {
    const list = this.sorted;
    const target = this.opts.target;
    if (list.length >= this.cap && compareDistance(c.id!, list[list.length - 1].id!, target) >= 0) return false;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance(list[mid].id!, c.id!, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, c);
    if (list.length > this.cap) list.pop(); // an in-flight one dropped here still reports back
    return true;
  }

  private canSend(): boolean {
    return this.slotsUsed < this.alpha && this.stats.queries < this.maxQueries;
  }

  private step(): void {
    if (this.finished) return;
    // Bootstrap contacts have no distance yet: ask them as soon as a slot is free.
    while (this.bootQueue.length > 0 && this.canSend()) this.send(this.bootQueue.shift()!);
    let answered = 0;
    let pendingInTop = false;
    for (const c of this.sorted) {
      if (answered >= this.k) break;
      if (c.state === State.Failed) continue;
      if (c.state === State.Answered) {
        answered++;
        continue;
      }
      pendingInTop = true;
      if (c.state === State.New && this.canSend()) this.send(c);
    }
    if (!pendingInTop && answered >= this.k) return this.finish('converged');
    // Stalled short of k answers: nothing new to ask and nothing holds a slot (whatever is out
    // is past the short timeout). The bootstrap contacts go out now, not after the timeouts.
    if (this.slotsUsed === 0 && answered < this.k && this.stats.queries < this.maxQueries && this.fallBack()) return;
    if (this.inFlight.size > 0 || this.fetchingMore) return;
    const budgetSpent = this.stats.queries >= this.maxQueries && (pendingInTop || this.bootQueue.length > 0);
    this.finish(budgetSpent ? 'max_queries' : answered >= this.k ? 'converged' : 'exhausted');
  }

  private send(c: Candidate): void {
    const { engine, clock } = this.opts;
    c.state = State.InFlight;
    this.inFlight.add(c);
    this.slotsUsed++;
    this.stats.queries++;
    // a retry goes out under the same transaction at the adaptive timeout: a late reply to the
    // first attempt still counts while it waits
    const adaptiveMs = this.opts.rtt?.timeoutMs();
    c.timer = clock.setTimeout(() => {
      c.timer = undefined;
      if (c.state !== State.InFlight) return;
      c.state = State.Slow;
      this.slotsUsed--;
      this.step();
    }, adaptiveMs === undefined ? this.shortTimeoutMs : Math.min(this.shortTimeoutMs, adaptiveMs));
    const to: Endpoint = { host: c.host, port: c.port };
    let pending: Promise<QueryOutcome>;
    try {
      pending = engine.query(to, this.method.method, this.method.args(c.id ? { ...to, id: c.id } : to), {
        expectId: c.id ?? undefined,
        timeoutMs: adaptiveMs ?? this.opts.queryTimeoutMs,
        retries: this.opts.retries ?? 1,
      });
    } catch (err) {
      pending = Promise.resolve({ ok: false, kind: 'refused', message: String(err) });
    }
    pending.then(
      (outcome) => this.settle(c, outcome),
      (err: unknown) => this.settle(c, { ok: false, kind: 'refused', message: String(err) }),
    );
  }

  private settle(c: Candidate, outcome: QueryOutcome): void {
    if (c.timer) this.opts.clock.clearTimeout(c.timer);
    c.timer = undefined;
    if (c.state === State.InFlight) this.slotsUsed--;
    this.inFlight.delete(c);
    if ('rttMs' in outcome && outcome.rttMs !== undefined) this.opts.rtt?.record(outcome.rttMs);
    if (outcome.ok) this.onAnswer(c, outcome.msg, outcome.rttMs);
    else this.onFailure(c, outcome);
    this.step();
  }

  private onAnswer(c: Candidate, msg: KrpcResponse, rttMs: number): void {
    const rid = msg.r?.id;
    if (!(rid instanceof Uint8Array) || rid.length !== ID_BYTES || (c.id && !equals(c.id, rid))) {
      c.state = State.Failed;
      if (!this.finished) this.stats.errors++;
      return;
    }
    const node: LookupNode = { id: rid, host: c.host, port: c.port, family: c.family, rttMs, ...(msg.v ? { version: msg.v } : {}) };
    this.feedTable(node, rttMs, msg.v);
    if (this.finished) return;
    if (c.id === null) this.placeBootstrap(c, rid);
    c.state = State.Answered;
    c.rttMs = rttMs;
    c.version = msg.v;
    this.stats.replies++;
    this.stats.rounds = Math.max(this.stats.rounds, c.hop + 1);
    this.collect(msg, node);
    for (const n of msg.r.nodes ?? []) this.addContact(n, c.hop + 1);
    for (const n of msg.r.nodes6 ?? []) this.addContact(n, c.hop + 1);
  }

  /** A router answered: now that its id is known it can rank like any node. */
  private placeBootstrap(c: Candidate, id: Uint8Array): void {
    c.id = Uint8Array.from(id);
    const idKey = idToHex(id);
    if (equals(id, this.opts.engine.id) || this.seenIds.has(idKey)) return;
    this.seenIds.add(idKey);
    this.seenHosts.add(c.host);
    this.insertSorted(c);
  }

  private collect(msg: KrpcResponse, node: LookupNode): void {
    const r = msg.r;
    if (r.token instanceof Uint8Array) this.tokens.set(idToHex(node.id), { node, token: r.token });
    for (const p of r.values ?? []) {
      const key = endpointKey(p.host, p.port);
      if (!usablePeer(p, this.opts.allowPeer)) {
        this.droppedPeers.set(key, { host: p.host, port: p.port, family: p.family });
        continue;
      }
      const seen = this.peers.get(key);
      if (!seen) this.peers.set(key, { peer: { host: p.host, port: p.port, family: p.family }, from: [node.id] });
      else if (!seen.from.some((id) => equals(id, node.id))) seen.from.push(node.id);
    }
    if (r.BFsd || r.BFpe) this.scrapes.push({ from: node, ...(r.BFsd ? { BFsd: r.BFsd } : {}), ...(r.BFpe ? { BFpe: r.BFpe } : {}) });
    this.method.onReply?.(msg, node);
    this.opts.onReply?.(msg, node);
  }

  private onFailure(c: Candidate, outcome: Exclude<QueryOutcome, { ok: true }>): void {
    c.state = State.Failed;
    const counting = !this.finished;
    switch (outcome.kind) {
      case 'timeout':
        if (counting) this.stats.timeouts++;
        this.opts.table?.onTimeout({ host: c.host, port: c.port, ...(c.id ? { id: c.id } : {}) });
        break;
      case 'refused':
        if (counting) this.stats.refused++;
        break;
      case 'id_mismatch': {
        if (counting) this.stats.errors++;
        const rid = outcome.msg.r?.id;
        if (!(rid instanceof Uint8Array) || rid.length !== ID_BYTES) break;
        // The endpoint answers under another id: let the table evict what it knew there.
        this.feedTable({ id: rid, host: c.host, port: c.port, family: c.family }, outcome.rttMs, outcome.msg.v);
        // A referrer may have attached a false id to a real endpoint; give the endpoint one
        // more chance under the id it claims, so such a lie cannot hide a real node.
        const key = endpointKey(c.host, c.port);
        if (counting && !this.retried.has(key)) {
          this.retried.add(key);
          this.seenEndpoints.delete(key);
          if (this.opts.oneContactPerIp) this.seenHosts.delete(c.host);
          this.addContact({ id: rid, host: c.host, port: c.port, family: c.family }, c.hop + 1);
        }
        break;
      }
      default:
        if (counting) this.stats.errors++;
    }
  }

  private feedTable(node: NodeInfo, rttMs: number, version?: Uint8Array): void {
    const table = this.opts.table;
    if (!table) return;
    const flags = this.opts.flagsFor ? this.opts.flagsFor(node) : isSecureId(node.id, node.host) ? NodeFlag.BEP42_VALID : 0;
    table.onReply({ id: node.id, host: node.host, port: node.port, family: node.family }, flags, { rttMs, ...(version ? { version } : {}) });
  }

  private finish(end: LookupEnd): void {
    if (this.finished) return;
    this.finished = true;
    const { clock, signal } = this.opts;
    if (this.deadline) clock.clearTimeout(this.deadline);
    signal?.removeEventListener('abort', this.onAbort);
    // Queries still out keep running in the engine; their short-timeout timers are not needed.
    for (const c of this.inFlight) {
      if (c.timer) clock.clearTimeout(c.timer);
      c.timer = undefined;
    }
    const closest: LookupNode[] = [];
    for (const c of this.sorted) {
      if (closest.length >= this.k) break;
      if (c.state !== State.Answered) continue;
      closest.push({ id: c.id!, host: c.host, port: c.port, family: c.family, rttMs: c.rttMs, ...(c.version ? { version: c.version } : {}) });
    }
    this.stats.ms = clock.now() - this.started;
    this.stats.droppedPeers = this.droppedPeers.size;
    this.resolve({
      target: this.opts.target,
      closest,
      peers: [...this.peers.values()],
      droppedPeers: [...this.droppedPeers.values()],
      tokens: this.tokens,
      scrapes: this.scrapes,
      stats: { ...this.stats },
      end,
    });
  }
}

