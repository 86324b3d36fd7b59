// What keeps a long-lived node healthy around its responder: the bootstrap lookup, a tick every
// few seconds that pings queriers the table would take and questionable nodes (least recently
// seen first), lookups that refresh buckets nobody touched for 15 minutes, peer-store expiry and
// periodic saves. All timers run on the injected clock; every loop is bounded per tick.
import type { Clock, TimerHandle } from '../net/clock.js';
import type { Endpoint } from '../net/krpc-types.js';
import type { DhtClient } from './dht-client.js';
import type { LookupResult } from './lookup.js';
import type { PeerStorage } from './peer-store.js';
import type { RoutingEntry } from './routing-table.js';
import { endpointKeyOf } from '../net/endpoint-key.js';

export interface NodeServiceOptions {
  node: DhtClient;
  peers: PeerStorage;
  clock: Clock;
  /** Writes the routing file (periodically; the owner saves once more on exit). */
  save?: () => Promise<void>;
  /** Default 10 min; Infinity: only when stopped. */
  saveEveryMs?: number;
  /** Maintenance period; default 5 s (libtorrent ticks every 5 s too). */
  tickMs?: number;
  /** A bucket unchanged this long is refreshed with a lookup; default 15 min (BEP 5). */
  refreshAfterMs?: number;
  /** Pings per tick, for candidates and for questionable nodes each; default 8. */
  pingsPerTick?: number;
  /** Lookups of our own id at start; the bootstrap is retried each minute while the table is empty. */
  rebootstrapEveryMs?: number;
  onEvent?: (event: NodeServiceEvent) => void;
}

export type NodeServiceEvent =
  | { type: 'bootstrapped'; result: LookupResult }
  | { type: 'refreshed'; bucket: number; result: LookupResult }
  | { type: 'saved' }
  | { type: 'save_failed'; error: string };

export interface NodeServiceCounters {
  pingsSent: number;
  pingsAnswered: number;
  refreshes: number;
  bootstraps: number;
  saves: number;
}

const MAX_CANDIDATES = 256;

export class NodeService {
  readonly counters: NodeServiceCounters = { pingsSent: 0, pingsAnswered: 0, refreshes: 0, bootstraps: 0, saves: 0 };
  private readonly node: DhtClient;
  private readonly peers: PeerStorage;
  private readonly clock: Clock;
  private readonly opts: NodeServiceOptions;
  private readonly tickMs: number;
  private readonly pingsPerTick: number;
  private readonly candidates = new Map<string, Endpoint>();
  private readonly pinging = new Set<string>();
  private timer: TimerHandle | null = null;
  private refreshing = false;
  private saving: Promise<void> | null = null;
  private lastSave: number;
  private lastExpire: number;
  private lastBootstrap = -Infinity;
  private stopped = false;

  constructor(opts: NodeServiceOptions) {
    this.opts = opts;
    this.node = opts.node;
    this.peers = opts.peers;
    this.clock = opts.clock;
    this.tickMs = opts.tickMs ?? 5000;
    this.pingsPerTick = opts.pingsPerTick ?? 8;
    this.lastSave = this.clock.now();
    this.lastExpire = this.clock.now();
  }

  /** Bootstraps (a lookup of our own id) and starts the maintenance ticks. */
  async start(): Promise<LookupResult> {
    const result = await this.bootstrap();
    if (!this.stopped) this.schedule();
    return result;
  }

  /** A querier the table would take once it answers (the responder's ping_candidate). */
  offer(entry: RoutingEntry): void {
    const key = endpointKeyOf(entry);
    if (this.candidates.size >= MAX_CANDIDATES || this.pinging.has(key)) return;
    this.candidates.set(key, { host: entry.host, port: entry.port });
  }

  /** Stops the ticks and waits for a save in progress; in-flight pings end when the engine closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.saving) await this.saving;
  }

  private async bootstrap(): Promise<LookupResult> {
    this.lastBootstrap = this.clock.now();
    this.counters.bootstraps++;
    const result = await this.node.bootstrapTable();
    this.opts.onEvent?.({ type: 'bootstrapped', result });
    return result;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.tick();
      this.schedule();
    }, this.tickMs);
  }

  private tick(): void {
    const now = this.clock.now();
    const table = this.node.table;
    this.pingCandidates();
    this.pingQuestionable();
    if (table.size === 0 && now - this.lastBootstrap >= (this.opts.rebootstrapEveryMs ?? 60_000)) {
      void this.bootstrap().catch(() => undefined);
    } else {
      this.refreshOne();
    }
    if (now - this.lastExpire >= 60_000) {
      this.lastExpire = now;
      this.peers.expire();
    }
    if (this.opts.save && now - this.lastSave >= (this.opts.saveEveryMs ?? 10 * 60_000)) {
      this.lastSave = now;
      void this.save();
    }
  }

  private ping(to: Endpoint): void {
    const key = endpointKeyOf(to);
    if (this.pinging.has(key)) return;
    this.pinging.add(key);
    this.counters.pingsSent++;
    void this.node
      .ping(to)
      .then((out) => {
        if (out.ok) this.counters.pingsAnswered++;
      })
      .catch(() => undefined)
      .finally(() => this.pinging.delete(key));
  }

  private pingCandidates(): void {
    let n = 0;
    for (const [key, ep] of this.candidates) {
      if (n >= this.pingsPerTick) break;
      this.candidates.delete(key);
      const entry = this.node.table.getByEndpoint(ep.host, ep.port);
      if (entry && this.node.table.isLive(entry)) continue; // already made it
      this.ping(ep);
      n++;
    }
  }

  /** Live nodes silent for 15 minutes, least recently seen first (BEP 5). Off the hot path. */
  private pingQuestionable(): void {
    const table = this.node.table;
    const due = table.entries().filter((e) => table.stateOf(e) === 'questionable');
    due.sort((a, b) => a.lastSeen - b.lastSeen);
    for (const e of due.slice(0, this.pingsPerTick)) this.ping(e);
  }

  /** One stale-bucket lookup at a time, oldest bucket first. */
  private refreshOne(): void {
    if (this.refreshing) return;
    const stale = this.node.table.staleBuckets(this.opts.refreshAfterMs ?? 15 * 60_000);
    if (stale.length === 0) return;
    stale.sort((a, b) => a.lastChanged - b.lastChanged);
    const bucket = stale[0];
    this.refreshing = true;
    this.counters.refreshes++;
    void this.node
      .findNode(bucket.target)
      .then((result) => {
        this.node.table.markRefreshed(bucket.index);
        this.opts.onEvent?.({ type: 'refreshed', bucket: bucket.index, result });
      })
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = false;
      });
  }

  private save(): Promise<void> {
    const save = this.opts.save;
    if (!save || this.saving) return this.saving ?? Promise.resolve();
    this.saving = save()
      .then(() => {
        this.counters.saves++;
        this.opts.onEvent?.({ type: 'saved' });
      })
      .catch((err: unknown) => this.opts.onEvent?.({ type: 'save_failed', error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        this.saving = null;
      });
    return this.saving;
  }
}
