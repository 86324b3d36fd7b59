// Announced peers per info-hash, bounded everywhere: peers per hash, peers per IP within a
// hash, hashes in total. Entries expire 45 min after their last announce. Expiry is lazy
// (checked when a swarm is touched) plus an explicit sweep, so the store owns no timers.
import type { Clock } from '../net/clock.js';
import type { Family, PeerInfo } from '../wire/types.js';
import { ScrapeBloom } from './bloom.js';
import { idToHex } from './node-id.js';
import { endpointKeyOf } from '../net/endpoint-key.js';

export interface StoredPeer extends PeerInfo {
  seed: boolean;
  /** Clock time of the last announce. */
  lastAnnounced: number;
}

export interface PeerStoreOptions {
  clock: Clock;
  maxPeersPerInfohash?: number;
  /** Entries per IP within one info-hash (several peers may share a NAT). */
  maxPeersPerIp?: number;
  maxInfohashes?: number;
  ttlMs?: number;
  /** Uniform [0, 1) source; injectable for deterministic tests. */
  random?: () => number;
}

export type AnnounceOutcome = 'added' | 'updated' | 'ip_limit' | 'infohash_full' | 'store_full';

export interface SwarmCounts {
  seeds: number;
  peers: number;
}

/**
 * What a full node needs of its peer store (BEP 5 announces, BEP 33 filters, BEP 51 samples):
 * PeerStore is the in-memory one; another (shared, persistent) can stand in its place.
 */
export interface PeerStorage {
  /** Stores or refreshes `peer` for `infohash`. */
  announce(infohash: Uint8Array, peer: PeerInfo, seed?: boolean): AnnounceOutcome;
  /** What announce would answer now, without storing (a token is only worth giving for a yes). */
  check(infohash: Uint8Array, peer?: PeerInfo): AnnounceOutcome;
  getPeers(infohash: Uint8Array, max: number, opts?: { noseed?: boolean; family?: Family }): PeerInfo[];
  has(infohash: Uint8Array): boolean;
  blooms(infohash: Uint8Array): { seeds: ScrapeBloom; peers: ScrapeBloom } | undefined;
  sampleInfohashes(max: number): Uint8Array[];
  /** Drops expired entries; returns how many. */
  expire(): number;
  readonly infohashCount: number;
  readonly peerCount: number;
}

interface Swarm {
  key: string;
  infohash: Uint8Array;
  peers: StoredPeer[];
  /** ip:port -> index in peers. */
  index: Map<string, number>;
  perIp: Map<string, number>;
  seeds: number;
  /** No peer expires before this time. */
  nextExpiry: number;
  blooms?: { seeds: ScrapeBloom; peers: ScrapeBloom };
  /** Position in PeerStore.order. */
  slot: number;
}

export class PeerStore implements PeerStorage {
  private readonly clock: Clock;
  private readonly maxPerHash: number;
  private readonly maxPerIp: number;
  private readonly maxHashes: number;
  private readonly ttlMs: number;
  private readonly random: () => number;
  private readonly swarms = new Map<string, Swarm>();
  /** The swarms as an array, for O(1) random samples. */
  private readonly order: Swarm[] = [];
  private lastFullSweep = -Infinity;

  constructor(opts: PeerStoreOptions) {
    this.clock = opts.clock;
    this.maxPerHash = opts.maxPeersPerInfohash ?? 500;
    this.maxPerIp = opts.maxPeersPerIp ?? 4;
    this.maxHashes = opts.maxInfohashes ?? 2000;
    this.ttlMs = opts.ttlMs ?? 45 * 60_000;
    this.random = opts.random ?? Math.random;
  }

  /** Stores or refreshes `peer` for `infohash`. Re-announces update the seed flag. */
  announce(infohash: Uint8Array, peer: PeerInfo, seed = false): AnnounceOutcome {
    const verdict = this.check(infohash, peer);
    if (verdict !== 'added' && verdict !== 'updated') return verdict;
    const now = this.clock.now();
    const swarm = this.swarmFor(infohash, true)!;
    const key = endpointKeyOf(peer);
    const at = swarm.index.get(key);
    if (at !== undefined) {
      const existing = swarm.peers[at];
      if (existing.seed !== seed) {
        swarm.seeds += seed ? 1 : -1;
        existing.seed = seed;
        swarm.blooms = undefined;
      }
      existing.lastAnnounced = now;
      return 'updated';
    }
    swarm.index.set(key, swarm.peers.length);
    swarm.peers.push({ host: peer.host, port: peer.port, family: peer.family, seed, lastAnnounced: now });
    swarm.perIp.set(peer.host, (swarm.perIp.get(peer.host) ?? 0) + 1);
    if (seed) swarm.seeds++;
    swarm.nextExpiry = Math.min(swarm.nextExpiry, now + this.ttlMs);
    swarm.blooms = undefined;
    return 'added';
  }

  /**
   * What announce() would do, without storing: a responder withholds the token when the answer
   * is not 'added' or 'updated' (no token = "won't accept an announce").
   */
  check(infohash: Uint8Array, peer?: PeerInfo): AnnounceOutcome {
    const swarm = this.swarmFor(infohash, false);
    if (!swarm) {
      if (this.swarms.size >= this.maxHashes) {
        this.sweepWhenFull();
        if (this.swarms.size >= this.maxHashes) return 'store_full';
      }
      return 'added';
    }
    if (peer && swarm.index.has(endpointKeyOf(peer))) return 'updated';
    if (swarm.peers.length >= this.maxPerHash) return 'infohash_full';
    if (peer && (swarm.perIp.get(peer.host) ?? 0) >= this.maxPerIp) return 'ip_limit';
    return 'added';
  }

  /** Up to `max` random peers; `noseed` leaves seeds out, `family` keeps one address family. */
  getPeers(infohash: Uint8Array, max: number, opts: { noseed?: boolean; family?: Family } = {}): StoredPeer[] {
    const swarm = this.swarmFor(infohash, false);
    if (!swarm || max <= 0) return [];
    const pool: StoredPeer[] = [];
    for (const p of swarm.peers) {
      if (opts.noseed && p.seed) continue;
      if (opts.family && p.family !== opts.family) continue;
      pool.push(p);
    }
    return this.sample(pool, max);
  }

  counts(infohash: Uint8Array): SwarmCounts {
    const swarm = this.swarmFor(infohash, false);
    if (!swarm) return { seeds: 0, peers: 0 };
    return { seeds: swarm.seeds, peers: swarm.peers.length - swarm.seeds };
  }

  has(infohash: Uint8Array): boolean {
    return this.swarmFor(infohash, false) !== undefined;
  }

  /** BEP 33 filters: seeds (BFsd) and non-seeds (BFpe). Undefined when the hash is unknown. */
  blooms(infohash: Uint8Array): { seeds: ScrapeBloom; peers: ScrapeBloom } | undefined {
    const swarm = this.swarmFor(infohash, false);
    if (!swarm) return undefined;
    if (!swarm.blooms) {
      const seeds = new ScrapeBloom();
      const peers = new ScrapeBloom();
      for (const p of swarm.peers) (p.seed ? seeds : peers).insertIp(p.host);
      swarm.blooms = { seeds, peers };
    }
    return swarm.blooms;
  }

  /** Number of info-hashes stored (BEP 51 `num`). */
  get infohashCount(): number {
    return this.swarms.size;
  }

  get peerCount(): number {
    let n = 0;
    for (const s of this.order) n += s.peers.length;
    return n;
  }

  infohashes(): Uint8Array[] {
    return this.order.map((s) => s.infohash);
  }

  /** Up to `max` distinct stored info-hashes picked at random (BEP 51 samples). */
  sampleInfohashes(max: number): Uint8Array[] {
    const picked = new Set<Swarm>();
    // A sampled swarm may turn out expired: drop it and draw again. Each extra round removes
    // at least one swarm, so this ends.
    for (;;) {
      const want = max - picked.size;
      if (want <= 0) break;
      const pool = picked.size === 0 ? this.order : this.order.filter((s) => !picked.has(s));
      if (pool.length === 0) break;
      let dropped = false;
      for (const s of this.sample(pool, want)) {
        if (this.purge(s)) picked.add(s);
        else dropped = true;
      }
      if (!dropped) break;
    }
    return [...picked].map((s) => s.infohash);
  }

  /** Removes expired peers and empty hashes; returns the number of peers removed. */
  expire(): number {
    let removed = 0;
    for (const swarm of [...this.order]) {
      const before = swarm.peers.length;
      this.purge(swarm);
      removed += before - swarm.peers.length;
    }
    return removed;
  }

  private swarmFor(infohash: Uint8Array, create: boolean): Swarm | undefined {
    const key = idToHex(infohash);
    const swarm = this.swarms.get(key);
    if (swarm && this.purge(swarm)) return swarm;
    if (!create) return undefined;
    const fresh: Swarm = {
      key,
      infohash: Uint8Array.from(infohash),
      peers: [],
      index: new Map(),
      perIp: new Map(),
      seeds: 0,
      nextExpiry: Infinity,
      slot: this.order.length,
    };
    this.swarms.set(key, fresh);
    this.order.push(fresh);
    return fresh;
  }

  /** Drops expired peers of one swarm; false (and the swarm is gone) when it ends up empty. */
  private purge(swarm: Swarm): boolean {
    const now = this.clock.now();
    if (now >= swarm.nextExpiry) {
      let next = Infinity;
      for (let i = swarm.peers.length - 1; i >= 0; i--) {
        const p = swarm.peers[i];
        const expiry = p.lastAnnounced + this.ttlMs;
        if (expiry <= now) this.removePeer(swarm, i);
        else next = Math.min(next, expiry);
      }
      swarm.nextExpiry = next;
    }
    if (swarm.peers.length > 0) return true;
    this.removeSwarm(swarm);
    return false;
  }

  private removePeer(swarm: Swarm, i: number): void {
    const p = swarm.peers[i];
    const last = swarm.peers.pop()!;
    if (last !== p) {
      swarm.peers[i] = last;
      swarm.index.set(endpointKeyOf(last), i);
    }
    swarm.index.delete(endpointKeyOf(p));
    const perIp = (swarm.perIp.get(p.host) ?? 1) - 1;
    if (perIp > 0) swarm.perIp.set(p.host, perIp);
    else swarm.perIp.delete(p.host);
    if (p.seed) swarm.seeds--;
    swarm.blooms = undefined;
  }

  private removeSwarm(swarm: Swarm): void {
    if (this.swarms.get(swarm.key) !== swarm) return;
    this.swarms.delete(swarm.key);
    const last = this.order.pop()!;
    if (last !== swarm) {
      this.order[swarm.slot] = last;
      last.slot = swarm.slot;
    }
  }

  /** A full sweep costs O(peers); when the store is full, do it at most once a minute. */
  private sweepWhenFull(): void {
    const now = this.clock.now();
    if (now - this.lastFullSweep < 60_000) return;
    this.lastFullSweep = now;
    this.expire();
  }

  /** Partial Fisher-Yates on a copy: `max` distinct random items. */
  private sample<T>(items: readonly T[], max: number): T[] {
    const pool = items.slice();
    const n = Math.min(max, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.random() * (pool.length - i));
      const tmp = pool[i];
      pool[i] = pool[j];
      pool[j] = tmp;
    }
    return pool.slice(0, n);
  }
}

