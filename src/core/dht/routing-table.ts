// The BEP 5 routing table. Buckets are indexed by the number of leading bits a node id shares
// with ours: bucket i < last holds ids sharing exactly i bits, the last ("home") bucket holds
// everything closer and is the only one that splits. Finding a node's bucket is one prefix
// count; nothing scans the whole table on the hot path.
//
// The table does no I/O: when it wants a node checked it says so (needsPing) and the caller
// pings and reports back through onReply / onTimeout.
import type { Clock } from '../net/clock.js';
import type { Family, NodeInfo } from '../wire/types.js';
import { ID_BITS, ID_BYTES, commonPrefixBits, compareDistance, equals, idToHex, randomIdInPrefix, type NodeId } from './node-id.js';
import { endpointKey, endpointKeyOf } from '../net/endpoint-key.js';

export const K = 8;

/** Entry flags, a small bitfield. */
export const NodeFlag = {
  SUPPORTS_SAMPLE: 1,
  BEP42_VALID: 2,
  /** Marked bad by policy (e.g. an id-mismatch oracle); a reply does not clear it. */
  BAD: 4,
  /** Has answered one of our queries. */
  VERIFIED: 8,
  /** Loaded from a routing file and not heard from since (never saved): a node that answers takes its slot. */
  RESTORED: 16,
} as const;

export type NodeState = 'good' | 'questionable' | 'bad';

export interface RoutingEntry extends NodeInfo {
  /** Clock time we last heard from it (reply or query). */
  lastSeen: number;
  /** Clock time of its last reply to us; 0 = never. */
  lastReplied: number;
  /** Timeouts in a row. */
  failures: number;
  /** Smoothed round-trip time in ms; -1 = unknown. */
  rtt: number;
  flags: number;
  /** Client tag (`v`) of its last reply. */
  version?: Uint8Array;
}

/** Enough to find an entry: its endpoint, and optionally the id we expect there. */
export interface NodeRef {
  host: string;
  port: number;
  id?: Uint8Array;
}

export interface RoutingTableOptions {
  id: NodeId;
  clock: Clock;
  /** Bucket size; default 8. */
  k?: number;
  /** Replacement cache per bucket; default 8. */
  replacementSize?: number;
  /** One entry per IP (public internet). Off on loopback/private networks. */
  oneNodePerIp?: boolean;
  /**
   * Timeouts in a row (each after the engine's retries) after which a node is bad; default 2.
   * A node that failed once is stale already: a node that answers us takes its slot.
   */
  failureThreshold?: number;
  /** Timeouts in a row after which a node is dropped even with no replacement; default 20. */
  dropAfterFailures?: number;
  /** How long a reply keeps a node good; default 15 min. */
  goodForMs?: number;
  /** Accept only this address family (BEP 32 keeps one table per family). */
  family?: Family;
}

export type AdmitStatus = 'added' | 'updated' | 'replacement' | 'rejected';
export type RejectReason = 'self' | 'bad_id' | 'bad_port' | 'family' | 'ip_taken' | 'id_taken' | 'full';

export interface AdmitResult {
  status: AdmitStatus;
  reason?: RejectReason;
  /** The entry as stored (live or in a replacement cache). */
  entry?: RoutingEntry;
  /** Live entries that were removed to make this happen. */
  evicted: RoutingEntry[];
  /** Nodes the caller should ping (questionable bucket-mates, or an unverified newcomer). */
  needsPing: RoutingEntry[];
}

export interface TimeoutResult {
  entry?: RoutingEntry;
  removed: boolean;
  /** A replacement that took the removed node's place. */
  promoted?: RoutingEntry;
}

export interface StaleBucket {
  index: number;
  /** A random id inside the bucket's range, to look up. */
  target: NodeId;
  lastChanged: number;
}

export interface BucketView {
  index: number;
  /** Leading bits every id in this bucket's range shares: i+1 for bucket i, i for the home bucket. */
  prefixBits: number;
  entries: readonly RoutingEntry[];
  replacements: readonly RoutingEntry[];
  lastChanged: number;
}

export interface RoutingStats {
  buckets: number;
  nodes: number;
  good: number;
  questionable: number;
  bad: number;
  replacements: number;
}

interface Bucket {
  entries: RoutingEntry[];
  replacements: RoutingEntry[];
  lastChanged: number;
}

export class RoutingTable {
  readonly id: NodeId;
  readonly k: number;
  readonly clock: Clock;
  private readonly replacementSize: number;
  private readonly oneNodePerIp: boolean;
  private readonly failureThreshold: number;
  private readonly dropAfterFailures: number;
  private readonly goodForMs: number;
  private readonly family?: Family;
  private readonly buckets: Bucket[];
  private readonly byEndpoint = new Map<string, RoutingEntry>();
  private readonly ipCount = new Map<string, number>();
  private liveCount = 0;

  constructor(opts: RoutingTableOptions) {
    if (opts.id.length !== ID_BYTES) throw new RangeError('a node id is 20 bytes');
    this.id = Uint8Array.from(opts.id);
    this.clock = opts.clock;
    this.k = opts.k ?? K;
    this.replacementSize = opts.replacementSize ?? 8;
    this.oneNodePerIp = opts.oneNodePerIp ?? false;
    this.failureThreshold = opts.failureThreshold ?? 2;
    this.dropAfterFailures = Math.max(this.failureThreshold, opts.dropAfterFailures ?? 20);
    this.goodForMs = opts.goodForMs ?? 15 * 60_000;
    this.family = opts.family;
    this.buckets = [newBucket(this.clock.now())];
  }

  // ---- events -------------------------------------------------------------------------------

  /** `node` answered one of our queries. Extra `flags` (e.g. BEP42_VALID) are OR-ed in. */
  onReply(node: NodeInfo, flags = 0, info: { rttMs?: number; version?: Uint8Array } = {}): AdmitResult {
    const invalid = this.validate(node);
    if (invalid) return rejected(invalid);
    const now = this.clock.now();
    const evicted: RoutingEntry[] = [];
    const known = this.byEndpoint.get(endpointKeyOf(node));
    if (known && !equals(known.id, node.id)) {
      // Same ip:port, new id: the old entry is no longer trustworthy. The newcomer has to
      // prove itself with another reply before it goes live.
      this.evict(known, evicted);
      return this.addUnverified(node, flags & ~NodeFlag.VERIFIED, now, evicted);
    }
    if (known) {
      known.lastSeen = now;
      known.lastReplied = now;
      known.failures = 0;
      known.flags = (known.flags | flags | NodeFlag.VERIFIED) & ~NodeFlag.RESTORED;
      if (info.rttMs !== undefined) known.rtt = smoothRtt(known.rtt, info.rttMs);
      if (info.version) known.version = info.version;
      const bucket = this.bucketOf(known.id);
      if (bucket.entries.includes(known)) {
        bucket.lastChanged = now;
        return { status: 'updated', entry: known, evicted, needsPing: [] };
      }
      // A verified replacement: take a free or bad slot if there is one, else back to the cache.
      removeFrom(bucket.replacements, known);
      const placed = this.placeLive(known, now, evicted);
      if (placed.status === 'rejected') this.unindex(known);
      return placed;
    }
    if (this.idTakenElsewhere(node, evicted)) return rejected('id_taken', evicted);
    if (this.oneNodePerIp && this.ipCount.has(node.host)) return rejected('ip_taken', evicted);
    const entry = makeEntry(node, now, now, flags | NodeFlag.VERIFIED, info.rttMs, info.version);
    this.index(entry);
    const placed = this.placeLive(entry, now, evicted);
    if (placed.status === 'rejected') this.unindex(entry);
    return placed;
  }

  /** `node` sent us a query. Known nodes stay fresh; unknown ones wait in a replacement cache. */
  onQuery(node: NodeInfo, flags = 0): AdmitResult {
    const invalid = this.validate(node);
    if (invalid) return rejected(invalid);
    const now = this.clock.now();
    const evicted: RoutingEntry[] = [];
    const known = this.byEndpoint.get(endpointKeyOf(node));
    if (known && equals(known.id, node.id)) {
      known.lastSeen = now;
      known.flags |= flags & ~NodeFlag.VERIFIED;
      return { status: 'updated', entry: known, evicted, needsPing: [] };
    }
    if (known) this.evict(known, evicted);
    return this.addUnverified(node, flags & ~NodeFlag.VERIFIED, now, evicted);
  }

  /** A query to `ref` timed out. */
  onTimeout(ref: NodeRef): TimeoutResult {
    const entry = this.find(ref);
    if (!entry) return { removed: false };
    entry.failures++;
    const bucket = this.bucketOf(entry.id);
    const live = bucket.entries.includes(entry);
    if (!live) {
      // An unproven or failing candidate is not worth a slot in the cache.
      if (entry.lastReplied === 0 || this.isBad(entry)) {
        this.unlink(entry);
        return { entry, removed: true };
      }
      return { entry, removed: false };
    }
    if (!this.isBad(entry)) return { entry, removed: false };
    const promoted = this.bestReplacement(bucket);
    if (promoted || entry.failures >= this.dropAfterFailures) {
      this.unlink(entry);
      return { entry, removed: true, promoted: this.promote(bucket) };
    }
    return { entry, removed: false };
  }

  /** Marks a node bad by policy; it is replaced as soon as a verified replacement exists. */
  markBad(ref: NodeRef): TimeoutResult {
    const entry = this.find(ref);
    if (!entry) return { removed: false };
    entry.flags |= NodeFlag.BAD;
    const bucket = this.bucketOf(entry.id);
    if (!bucket.entries.includes(entry)) {
      this.unlink(entry);
      return { entry, removed: true };
    }
    if (!this.bestReplacement(bucket)) return { entry, removed: false };
    this.unlink(entry);
    return { entry, removed: true, promoted: this.promote(bucket) };
  }

  /** Removes a node (live or cached); a verified replacement takes a freed live slot. */
  remove(ref: NodeRef): RoutingEntry | undefined {
    const entry = this.find(ref);
    if (!entry) return undefined;
    const bucket = this.bucketOf(entry.id);
    const live = bucket.entries.includes(entry);
    this.unlink(entry);
    if (live) this.promote(bucket);
    return entry;
  }

  /** Call after refreshing a bucket (e.g. a lookup for its random target finished). */
  markRefreshed(index: number): void {
    const bucket = this.buckets[index];
    if (bucket) bucket.lastChanged = this.clock.now();
  }

  // ---- queries ------------------------------------------------------------------------------

  /**
   * The `count` live entries closest to `target` that pass `filter`. Walks buckets outward from
   * the target's bucket and stops once farther buckets cannot improve the answer.
   */
  closest(target: NodeId, count: number = this.k, filter?: (e: RoutingEntry) => boolean): RoutingEntry[] {
    const best: RoutingEntry[] = [];
    if (count <= 0) return best;
    const consider = (bucket: Bucket): void => {
      for (const e of bucket.entries) {
        if (filter && !filter(e)) continue;
        if (best.length === count && compareDistance(e.id, best[count - 1].id, target) >= 0) continue;
        let i = best.length;
        if (i === count) i--; // the last one drops out
        while (i > 0 && compareDistance(e.id, best[i - 1].id, target) < 0) {
          best[i] = best[i - 1];
          i--;
        }
        best[i] = e;
      }
    };
    const home = this.buckets.length - 1;
    const own = Math.min(commonPrefixBits(target, this.id), home);
    // Tiers, nearest first: the target's own bucket; then every bucket deeper than it (all
    // differ from the target at bit `own`); then shallower buckets one by one.
    consider(this.buckets[own]);
    if (best.length >= count) return best;
    for (let j = own + 1; j <= home; j++) consider(this.buckets[j]);
    for (let i = own - 1; i >= 0 && best.length < count; i--) consider(this.buckets[i]);
    return best;
  }

  get(id: NodeId): RoutingEntry | undefined {
    if (id.length !== ID_BYTES) return undefined;
    const bucket = this.bucketOf(id);
    return bucket.entries.find((e) => equals(e.id, id)) ?? bucket.replacements.find((e) => equals(e.id, id));
  }

  getByEndpoint(host: string, port: number): RoutingEntry | undefined {
    return this.byEndpoint.get(endpointKey(host, port));
  }

  /** Whether the entry is a live table member (not in a replacement cache). */
  isLive(entry: RoutingEntry): boolean {
    return this.bucketOf(entry.id).entries.includes(entry);
  }

  stateOf(e: RoutingEntry): NodeState {
    if (this.isBad(e)) return 'bad';
    if (e.lastReplied > 0 && e.failures === 0 && this.clock.now() - e.lastSeen < this.goodForMs) return 'good';
    return 'questionable';
  }

  isGood(e: RoutingEntry): boolean {
    return this.stateOf(e) === 'good';
  }

  /** Buckets nothing has touched for `maxAgeMs`, each with a random target in its range. */
  staleBuckets(maxAgeMs = 15 * 60_000): StaleBucket[] {
    const now = this.clock.now();
    const out: StaleBucket[] = [];
    this.buckets.forEach((b, index) => {
      if (now - b.lastChanged >= maxAgeMs) out.push({ index, target: this.randomTargetIn(index), lastChanged: b.lastChanged });
    });
    return out;
  }

  /** A random id in bucket `index`'s range. */
  randomTargetIn(index: number): NodeId {
    const home = this.buckets.length - 1;
    if (index >= home) return randomIdInPrefix(this.id, home);
    const prefix = Uint8Array.from(this.id);
    prefix[index >> 3] ^= 0x80 >> (index & 7);
    return randomIdInPrefix(prefix, index + 1);
  }

  bucketIndexOf(id: NodeId): number {
    return Math.min(commonPrefixBits(id, this.id), this.buckets.length - 1);
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /** Live entries. */
  get size(): number {
    return this.liveCount;
  }

  /** Live entries, bucket by bucket (shallowest first). */
  entries(): RoutingEntry[] {
    const out: RoutingEntry[] = [];
    for (const b of this.buckets) out.push(...b.entries);
    return out;
  }

  bucketViews(): BucketView[] {
    const home = this.buckets.length - 1;
    return this.buckets.map((b, index) => ({
      index,
      prefixBits: index === home ? index : index + 1,
      entries: b.entries,
      replacements: b.replacements,
      lastChanged: b.lastChanged,
    }));
  }

  stats(): RoutingStats {
    const s: RoutingStats = { buckets: this.buckets.length, nodes: 0, good: 0, questionable: 0, bad: 0, replacements: 0 };
    for (const b of this.buckets) {
      s.replacements += b.replacements.length;
      for (const e of b.entries) {
        s.nodes++;
        s[this.stateOf(e)]++;
      }
    }
    return s;
  }

  // ---- restore (used by routing-persistence) --------------------------------------------------

  /**
   * Puts saved entries back as they were, for a table with the same id: each goes to the
   * bucket its id belongs to, splitting the home bucket as the saved table must have done.
   * Returns how many went live.
   */
  restoreEntries(saved: readonly RoutingEntry[]): number {
    // Linear in the file: duplicates are found through sets (get() would scan the one
    // unsplit bucket per node, 84 s for 100k nodes), and only the few nodes that stay are
    // copied and indexed.
    const ids = new IdSet();
    const held = new Set<RoutingEntry>();
    for (const b of this.buckets) {
      for (const list of [b.entries, b.replacements]) {
        for (const e of list) {
          ids.add(e.id);
          held.add(e);
        }
      }
    }
    const endpoints = new Set<string>();
    const hosts = new Set<string>();
    for (const s of saved) {
      if (this.validate(s)) continue;
      const ep = endpointKeyOf(s);
      if (this.byEndpoint.has(ep) || endpoints.has(ep)) continue;
      if (this.oneNodePerIp && (this.ipCount.has(s.host) || hosts.has(s.host))) continue;
      if (!ids.add(s.id)) continue;
      endpoints.add(ep);
      if (this.oneNodePerIp) hosts.add(s.host);
      this.bucketOf(s.id).entries.push(s);
    }
    while (this.home().entries.length > this.k && this.buckets.length < ID_BITS) this.split();
    // A foreign file may overfill buckets: the freshest stay live, the next become replacements.
    this.liveCount = 0;
    for (const b of this.buckets) {
      if (b.entries.length > this.k) {
        b.entries.sort((x, y) => y.lastSeen - x.lastSeen);
        for (const extra of b.entries.splice(this.k)) {
          if (b.replacements.length < this.replacementSize) b.replacements.push(extra);
          else if (held.has(extra)) this.unindex(extra); // saved nodes were never indexed
        }
      }
      const adopt = (e: RoutingEntry): RoutingEntry => (held.has(e) ? e : this.adopt(e));
      b.entries = b.entries.map(adopt);
      b.replacements = b.replacements.map(adopt);
      this.liveCount += b.entries.length;
    }
    return this.liveCount;
  }

  /** A restored node that stays: our own copy, indexed. */
  private adopt(e: RoutingEntry): RoutingEntry {
    const own: RoutingEntry = { ...e, id: Uint8Array.from(e.id) };
    this.index(own);
    return own;
  }

  /**
   * Re-inserts saved entries into a table with a different id, through the usual admission:
   * verified ones compete for live slots, others go to replacement caches.
   */
  reinsertEntries(saved: readonly RoutingEntry[]): number {
    for (const s of saved) {
      const entry: RoutingEntry = { ...s, id: Uint8Array.from(s.id) };
      if (this.validate(entry) || this.byEndpoint.has(endpointKeyOf(entry)) || this.get(entry.id)) continue;
      if (this.oneNodePerIp && this.ipCount.has(entry.host)) continue;
      this.index(entry);
      const evicted: RoutingEntry[] = [];
      const placed = entry.flags & NodeFlag.VERIFIED ? this.placeLive(entry, entry.lastSeen, evicted) : this.cacheOnly(entry);
      if (placed.status === 'rejected') this.unindex(entry);
    }
    return this.liveCount;
  }

  // ---- internals ----------------------------------------------------------------------------

  private validate(node: NodeInfo): RejectReason | undefined {
    if (!(node.id instanceof Uint8Array) || node.id.length !== ID_BYTES) return 'bad_id';
    if (equals(node.id, this.id)) return 'self';
    if (!Number.isInteger(node.port) || node.port < 1 || node.port > 65535) return 'bad_port';
    if (this.family !== undefined && node.family !== this.family) return 'family';
    return undefined;
  }

  /**
   * Whether `node.id` is already held at another endpoint. A bad holder gives way; a healthy
   * one keeps it (a moved node comes back once its old entry fails).
   */
  private idTakenElsewhere(node: NodeInfo, evicted: RoutingEntry[]): boolean {
    const holder = this.get(node.id);
    if (!holder) return false;
    if (!this.isBad(holder)) return true;
    this.evict(holder, evicted);
    return false;
  }

  private isBad(e: RoutingEntry): boolean {
    return (e.flags & NodeFlag.BAD) !== 0 || e.failures >= this.failureThreshold;
  }

  private home(): Bucket {
    return this.buckets[this.buckets.length - 1];
  }

  private bucketOf(id: NodeId): Bucket {
    return this.buckets[this.bucketIndexOf(id)];
  }

  /** Puts an indexed entry into a live slot, splitting or replacing a bad node if needed. */
  private placeLive(entry: RoutingEntry, now: number, evicted: RoutingEntry[]): AdmitResult {
    for (;;) {
      const index = this.bucketIndexOf(entry.id);
      const bucket = this.buckets[index];
      if (bucket.entries.length < this.k) {
        bucket.entries.push(entry);
        bucket.lastChanged = now;
        this.liveCount++;
        return { status: 'added', entry, evicted, needsPing: [] };
      }
      if (index === this.buckets.length - 1 && this.buckets.length < ID_BITS) {
        this.split();
        continue;
      }
      break;
    }
    const bucket = this.bucketOf(entry.id);
    const worst = this.replaceable(bucket, (entry.flags & NodeFlag.RESTORED) === 0);
    if (worst) {
      this.unlink(worst);
      evicted.push(worst);
      bucket.entries.push(entry);
      bucket.lastChanged = now;
      this.liveCount++;
      return { status: 'added', entry, evicted, needsPing: [] };
    }
    const cached = this.cacheOnly(entry);
    if (cached.status === 'rejected') return { ...cached, evicted };
    return { status: 'replacement', entry, evicted, needsPing: this.questionable(bucket) };
  }

  private addUnverified(node: NodeInfo, flags: number, now: number, evicted: RoutingEntry[]): AdmitResult {
    if (this.idTakenElsewhere(node, evicted)) return rejected('id_taken', evicted);
    if (this.oneNodePerIp && this.ipCount.has(node.host)) return rejected('ip_taken', evicted);
    const entry = makeEntry(node, now, 0, flags);
    this.index(entry);
    const cached = this.cacheOnly(entry);
    if (cached.status === 'rejected') {
      this.unindex(entry);
      return { ...cached, evicted };
    }
    return { status: 'replacement', entry, evicted, needsPing: this.wouldTakeLive(entry.id) ? [entry] : [] };
  }

  /** Adds an indexed entry to its bucket's replacement cache, pushing out a worse one if full. */
  private cacheOnly(entry: RoutingEntry): AdmitResult {
    const bucket = this.bucketOf(entry.id);
    const cache = bucket.replacements;
    if (this.replacementSize === 0) return rejected('full');
    if (cache.length >= this.replacementSize) {
      let worst = 0;
      for (let i = 1; i < cache.length; i++) if (compareCacheWorth(cache[i], cache[worst]) < 0) worst = i;
      if (compareCacheWorth(cache[worst], entry) >= 0) return rejected('full');
      this.unlink(cache[worst]);
    }
    cache.push(entry);
    return { status: 'replacement', entry, evicted: [], needsPing: [] };
  }

  /** Whether a verified node with this id would get a live slot right now. */
  private wouldTakeLive(id: NodeId): boolean {
    const index = this.bucketIndexOf(id);
    const bucket = this.buckets[index];
    if (bucket.entries.length < this.k) return true;
    if (index === this.buckets.length - 1 && this.buckets.length < ID_BITS) return true;
    return this.replaceable(bucket, true) !== undefined;
  }

  /** Splits the home bucket in two; the nodes sharing one more bit with us move down. */
  private split(): void {
    const oldHome = this.home();
    const depth = this.buckets.length - 1;
    const fresh = newBucket(oldHome.lastChanged);
    this.buckets.push(fresh);
    const stays = (e: RoutingEntry): boolean => commonPrefixBits(e.id, this.id) === depth;
    oldHome.entries = partitionInto(oldHome.entries, stays, fresh.entries);
    oldHome.replacements = partitionInto(oldHome.replacements, stays, fresh.replacements);
    // The old home may now have room that its verified replacements can fill.
    while (oldHome.entries.length < this.k && this.promote(oldHome)) {
      // keep promoting
    }
  }

  private questionable(bucket: Bucket): RoutingEntry[] {
    return bucket.entries.filter((e) => this.stateOf(e) === 'questionable').sort((a, b) => a.lastSeen - b.lastSeen);
  }

  /**
   * The live entry a newcomer may take the place of: a bad one; and for a node that answered in
   * this run (`confirmed`), else one restored from a file that has not, else a stale one (timed
   * out since its last reply); the most failed first. As libtorrent does: a table loaded from a
   * network that is gone would otherwise keep out the live nodes a lookup meets.
   */
  private replaceable(bucket: Bucket, confirmed: boolean): RoutingEntry | undefined {
    let worst: RoutingEntry | undefined;
    let worstRank = 0;
    for (const e of bucket.entries) {
      const rank = this.isBad(e) ? 3 : !confirmed ? 0 : e.flags & NodeFlag.RESTORED ? 2 : e.failures > 0 ? 1 : 0;
      if (rank === 0) continue;
      if (rank > worstRank || (rank === worstRank && e.failures > worst!.failures)) {
        worst = e;
        worstRank = rank;
      }
    }
    return worst;
  }

  private bestReplacement(bucket: Bucket): RoutingEntry | undefined {
    let best: RoutingEntry | undefined;
    for (const r of bucket.replacements) {
      if (r.lastReplied === 0 || this.isBad(r)) continue;
      if (!best || r.lastReplied > best.lastReplied || (r.lastReplied === best.lastReplied && rttOrder(r) < rttOrder(best))) best = r;
    }
    return best;
  }

  /** Moves the best verified replacement into a free live slot of `bucket`. */
  private promote(bucket: Bucket): RoutingEntry | undefined {
    if (bucket.entries.length >= this.k) return undefined;
    const best = this.bestReplacement(bucket);
    if (!best) return undefined;
    removeFrom(bucket.replacements, best);
    bucket.entries.push(best);
    bucket.lastChanged = this.clock.now();
    this.liveCount++;
    return best;
  }

  private evict(entry: RoutingEntry, evicted: RoutingEntry[]): void {
    const bucket = this.bucketOf(entry.id);
    const live = bucket.entries.includes(entry);
    this.unlink(entry);
    if (live) {
      evicted.push(entry);
      this.promote(bucket);
    }
  }

  private find(ref: NodeRef): RoutingEntry | undefined {
    const entry = this.byEndpoint.get(endpointKeyOf(ref));
    if (!entry || (ref.id && !equals(ref.id, entry.id))) return undefined;
    return entry;
  }

  /** Takes an entry out of its bucket (swapping the last one into its place) and the indexes. */
  private unlink(entry: RoutingEntry): void {
    const bucket = this.bucketOf(entry.id);
    if (removeFrom(bucket.entries, entry)) this.liveCount--;
    else removeFrom(bucket.replacements, entry);
    this.unindex(entry);
  }

  private index(entry: RoutingEntry): void {
    this.byEndpoint.set(endpointKeyOf(entry), entry);
    this.ipCount.set(entry.host, (this.ipCount.get(entry.host) ?? 0) + 1);
  }

  private unindex(entry: RoutingEntry): void {
    const key = endpointKeyOf(entry);
    if (this.byEndpoint.get(key) !== entry) return;
    this.byEndpoint.delete(key);
    const n = (this.ipCount.get(entry.host) ?? 1) - 1;
    if (n > 0) this.ipCount.set(entry.host, n);
    else this.ipCount.delete(entry.host);
  }
}

/** A set of node ids keyed by their last four bytes (no strings), collisions checked in full. */
class IdSet {
  private readonly byTail = new Map<number, Uint8Array | Uint8Array[]>();

  /** Adds `id`; false when it was already there. */
  add(id: Uint8Array): boolean {
    const tail = ((id[16] << 24) | (id[17] << 16) | (id[18] << 8) | id[19]) >>> 0;
    const held = this.byTail.get(tail);
    if (held === undefined) {
      this.byTail.set(tail, id);
      return true;
    }
    const list = held instanceof Uint8Array ? [held] : held;
    if (list.some((x) => equals(x, id))) return false;
    list.push(id);
    this.byTail.set(tail, list);
    return true;
  }
}

function newBucket(now: number): Bucket {
  return { entries: [], replacements: [], lastChanged: now };
}

function makeEntry(node: NodeInfo, now: number, replied: number, flags: number, rttMs?: number, version?: Uint8Array): RoutingEntry {
  return {
    id: Uint8Array.from(node.id),
    host: node.host,
    port: node.port,
    family: node.family,
    lastSeen: now,
    lastReplied: replied,
    failures: 0,
    rtt: rttMs ?? -1,
    flags,
    ...(version ? { version } : {}),
  };
}

function rejected(reason: RejectReason, evicted: RoutingEntry[] = []): AdmitResult {
  return { status: 'rejected', reason, evicted, needsPing: [] };
}


/** RTT = 2/3 old + 1/3 new, as libtorrent smooths it. */
function smoothRtt(old: number, sample: number): number {
  return old < 0 ? sample : Math.round((old * 2 + sample) / 3);
}

function rttOrder(e: RoutingEntry): number {
  return e.rtt < 0 ? Number.MAX_SAFE_INTEGER : e.rtt;
}

/** Replacement-cache worth (negative: a is worth less): verified first, then fewer failures, then fresher. */
function compareCacheWorth(a: RoutingEntry, b: RoutingEntry): number {
  const verified = Number(a.lastReplied > 0) - Number(b.lastReplied > 0);
  if (verified !== 0) return verified;
  if (a.failures !== b.failures) return b.failures - a.failures;
  return a.lastSeen - b.lastSeen;
}

/** Swap-with-last removal: order inside a bucket carries no meaning. */
function removeFrom(list: RoutingEntry[], entry: RoutingEntry): boolean {
  const i = list.indexOf(entry);
  if (i < 0) return false;
  const last = list.pop()!;
  if (i < list.length) list[i] = last;
  return true;
}

function partitionInto(list: RoutingEntry[], keep: (e: RoutingEntry) => boolean, moved: RoutingEntry[]): RoutingEntry[] {
  const kept: RoutingEntry[] = [];
  for (const e of list) (keep(e) ? kept : moved).push(e);
  return kept;
}
