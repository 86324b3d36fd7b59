// A DHT client: the engine, the routing table and the bootstrap contacts tied together, with
// the operations every command and strategy uses (ping, lookups, announce, sample). The
// responder (answering queries) attaches to the same engine in a full node (full-node.ts).
import type { Clock } from '../net/clock.js';
import type { Endpoint, KrpcEngine, QueryOutcome } from '../net/krpc-types.js';
import type { NodeInfo } from '../wire/types.js';
import { ipFamily } from '../wire/ip.js';
import { bep42Ok, ExternalIpVoter } from './secure-id.js';
import { findNode, getPeers, iterativeLookup, type ContactFilter, type LookupMethod, type LookupOptions, type LookupResult, type LookupToken } from './lookup.js';
import { NodeFlag, type RoutingTable } from './routing-table.js';

export interface DhtClientOptions {
  engine: KrpcEngine;
  clock: Clock;
  table: RoutingTable;
  /**
   * Routers and other id-less contacts: the first lookup asks them whatever the table holds (a
   * restored table may be stale), later ones when the table has too few nodes or they run short.
   */
  bootstrap?: Endpoint[];
  /** Contacts fetched only when a lookup runs short and `bootstrap` is empty (public routers). */
  fallbackBootstrap?: () => Promise<Endpoint[]>;
  /** Contacts learnt from replies must pass this (bogon filter of the address policy). */
  allowContact?: ContactFilter;
  /** Peers from get_peers `values` must pass this (AddressPolicy.isBogonPeer); port 0 never does. */
  allowPeer?: ContactFilter;
  /** Defaults for every lookup (alpha, timeouts, caps). */
  lookupDefaults?: Partial<Omit<LookupOptions, 'engine' | 'clock' | 'target' | 'table'>>;
  /** Distinct responders needed before our external IP is believed (BEP 42). */
  ipVoters?: number;
}

export interface AnnounceResult {
  node: NodeInfo;
  ok: boolean;
  error?: string;
  rttMs?: number;
}

export class DhtClient {
  readonly engine: KrpcEngine;
  readonly clock: Clock;
  readonly table: RoutingTable;
  readonly bootstrap: Endpoint[];
  readonly externalIp: ExternalIpVoter;
  readonly allowPeer?: ContactFilter;
  private readonly allowContact?: ContactFilter;
  private readonly lookupDefaults: DhtClientOptions['lookupDefaults'];
  private readonly fallbackBootstrap?: () => Promise<Endpoint[]>;
  private fallbackFetch: Promise<Endpoint[]> | null = null;
  /** Whether a lookup has been started yet (the first one asks the bootstrap contacts). */
  private looked = false;

  constructor(opts: DhtClientOptions) {
    this.engine = opts.engine;
    this.clock = opts.clock;
    this.table = opts.table;
    this.bootstrap = opts.bootstrap ?? [];
    this.allowContact = opts.allowContact;
    this.allowPeer = opts.allowPeer;
    this.lookupDefaults = opts.lookupDefaults ?? {};
    this.fallbackBootstrap = opts.fallbackBootstrap;
    this.externalIp = new ExternalIpVoter({ minVoters: opts.ipVoters ?? 21 });
    // Every reply tells us how the responder sees us (BEP 42 `ip`) and keeps the table fresh.
    this.engine.onResponse((msg, from) => {
      if (msg.ip) this.externalIp.vote(`${from.host}:${from.port}`, msg.ip.host);
    });
  }

  /** Flags a responder earns in the table: BEP 42 validity of its id for its address. */
  flagsFor(node: NodeInfo): number {
    return bep42Ok(node.id, node.host) ? NodeFlag.BEP42_VALID : 0;
  }

  /** Pings one endpoint; a reply updates the routing table. */
  async ping(to: Endpoint, timeoutMs?: number): Promise<QueryOutcome> {
    const out = await this.engine.query(to, 'ping', {}, timeoutMs !== undefined ? { timeoutMs } : {});
    if (out.ok) this.noteReply(out.msg.r.id, to, out.rttMs, out.msg.v);
    else if (out.kind === 'timeout') this.table.onTimeout(to);
    return out;
  }

  /** Records a verified reply from `from` in the routing table. */
  noteReply(id: Uint8Array, from: Endpoint, rttMs: number, version?: Uint8Array, extraFlags = 0): void {
    const family = ipFamily(from.host);
    if (family === 0) return;
    const node: NodeInfo = { id, host: from.host, port: from.port, family };
    this.table.onReply(node, this.flagsFor(node) | extraFlags, { rttMs, ...(version ? { version } : {}) });
  }

  private lookupOptions(target: Uint8Array, extra: Partial<LookupOptions> = {}): LookupOptions {
    const first = !this.looked;
    this.looked = true;
    return {
      engine: this.engine,
      clock: this.clock,
      table: this.table,
      bootstrap: this.bootstrap,
      forceBootstrap: first,
      ...(this.fallbackBootstrap ? { moreBootstrap: () => this.fetchFallback() } : {}),
      flagsFor: (n) => this.flagsFor(n),
      ...(this.allowContact ? { allowContact: this.allowContact } : {}),
      ...(this.allowPeer ? { allowPeer: this.allowPeer } : {}),
      ...this.lookupDefaults,
      ...extra,
      target,
    };
  }

  /**
   * The fallback contacts, fetched once and then kept as bootstrap contacts; an empty answer
   * (no DNS yet) is tried again by a later lookup.
   */
  private fetchFallback(): Promise<Endpoint[]> {
    if (this.bootstrap.length > 0) return Promise.resolve(this.bootstrap);
    this.fallbackFetch ??= this.fallbackBootstrap!().then(
      (found) => {
        this.fallbackFetch = null;
        if (this.bootstrap.length === 0) this.bootstrap.push(...found);
        return this.bootstrap;
      },
      () => {
        this.fallbackFetch = null;
        return [];
      },
    );
    return this.fallbackFetch;
  }

  findNode(target: Uint8Array, extra: Partial<LookupOptions> & { want?: string[] } = {}): Promise<LookupResult> {
    return findNode({ ...this.lookupOptions(target, extra), ...(extra.want ? { want: extra.want } : {}) });
  }

  getPeers(infohash: Uint8Array, extra: Partial<LookupOptions> & { scrape?: boolean; noseed?: boolean } = {}): Promise<LookupResult> {
    return getPeers({ ...this.lookupOptions(infohash, extra), scrape: extra.scrape ?? false, noseed: extra.noseed ?? false });
  }

  /** A lookup with a caller-defined method (BEP 44 get, sample_infohashes walks). */
  lookup(target: Uint8Array, method: LookupMethod, extra: Partial<LookupOptions> = {}): Promise<LookupResult> {
    return iterativeLookup(this.lookupOptions(target, extra), method);
  }

  /** Fills the table: a find_node for our own id, as BEP 5 asks at start-up. */
  async bootstrapTable(extra: Partial<LookupOptions> = {}): Promise<LookupResult> {
    return this.findNode(this.table.id, extra);
  }

  /**
   * announce_peer to the nodes that gave us tokens during `lookup` (nearest first, at most k),
   * from the same id and socket, soon after, as token checks require.
   */
  async announce(infohash: Uint8Array, lookup: LookupResult, opts: { port?: number; impliedPort?: boolean; seed?: boolean; k?: number }): Promise<AnnounceResult[]> {
    const k = opts.k ?? 8;
    const withTokens: LookupToken[] = [];
    for (const node of lookup.closest) {
      const tok = lookup.tokens.get(Buffer.from(node.id).toString('hex'));
      if (tok) withTokens.push(tok);
      if (withTokens.length >= k) break;
    }
    return Promise.all(
      withTokens.map(async ({ node, token }) => {
        const out = await this.engine.query(node, 'announce_peer', {
          info_hash: infohash,
          port: opts.port ?? 0,
          implied_port: opts.impliedPort ? 1 : undefined,
          seed: opts.seed === undefined ? undefined : opts.seed ? 1 : 0,
          token,
        }, { expectId: node.id });
        const base: NodeInfo = { id: node.id, host: node.host, port: node.port, family: node.family };
        if (out.ok) return { node: base, ok: true, rttMs: out.rttMs };
        return { node: base, ok: false, error: describeFailure(out) };
      }),
    );
  }

  /** One BEP 51 query; the caller interprets the outcome. */
  sample(to: Endpoint & { id?: Uint8Array }, target: Uint8Array, want?: string[], timeoutMs?: number): Promise<QueryOutcome> {
    return this.engine.query(to, 'sample_infohashes', { target, want }, {
      ...(to.id ? { expectId: to.id } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
  }
}

/** One line describing a failed query, for tables and NDJSON `error` fields. */
export function describeFailure(out: Exclude<QueryOutcome, { ok: true }>): string {
  switch (out.kind) {
    case 'timeout':
      return `timeout after ${out.attempts} attempt${out.attempts === 1 ? '' : 's'}`;
    case 'error':
      return `error ${out.code}: ${out.message}`;
    case 'bad_reply':
      return `bad reply: ${out.message}`;
    case 'id_mismatch':
      return 'replied with an unexpected id';
    case 'refused':
      return `refused: ${out.message}`;
  }
}
