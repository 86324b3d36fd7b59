// The `keyspace` strategy: one sweep of the id space from 0x00… to 0xff…, after mldht's BEP 51
// keyspace traversal (a prefix tree homed at a cursor, each node visited once), changed where
// the crawl bench showed mldht's rules losing nodes: late visits, region-sized targets and
// probes of thin regions, re-samples of small stores. docs/architecture.md ("The keyspace
// walk") says what each change is and why.
import type { Family, NodeInfo } from '../wire/types.js';
import { CandidatePool } from './candidate-pool.js';
import { StripedKeyspace, stripeBitsFor } from './keyspace-stripes.js';
import { EndpointMap, v4Key } from './compact-sets.js';
import { RegionTargets } from './region-targets.js';
import { bitAt, compareIds, distanceFraction, flipBit, inPrefix, keyspaceFraction, prefixStart, top32, withBit } from './id-bits.js';
import type { CrawlNode, CrawlTask, NextResult, Strategy, StrategyContext, StrategyDefinition, StrategyOptions, StrategyWait, TaskFailure, TaskReply } from './strategy.js';
import { readStrategyOptions, type StrategyOptionSpec } from './strategy-options.js';

/** Replied nodes a bucket holds before it splits (Kademlia's k). */
const K = 8;
/** Live nodes in a region. */
const REGION_LIVE = 8;
/**
 * With several stripes a region's visits spread over its sixteenths (2^4 sub-regions), toward
 * the fewest nodes listed and away from those answers listed whole (region-targets.ts): an answer
 * lists the 8 nodes closest to the target, a region holds about 20-30 (dead ones included), and
 * most nodes the stripes missed ranked 9th-12th for the nearest target asked (bench diagnosis,
 * docs/architecture.md). One cursor over a small range lost coverage with it (the leased-crawl
 * test): it keeps quarters, by asks alone.
 */
const STRATA_BITS = 4;
const ONE_CURSOR_STRATA_BITS = 2;
/** Recently answering nodes kept as probe helpers. */
const RECENT = 32;
/** Answering nodes kept as probe helpers around the cursor: within this many regions, at most NEAR_MAX. */
const NEAR_REGIONS = 64;
const NEAR_MAX = 4096;
/** Endpoint states in the visited table. */
const CANDIDATE = 1;
const IN_FLIGHT = 2;
const VISITED = 3;

export interface KeyspaceOptions {
  /** Probes at most per thin region (default 8; 0 = mldht's behaviour of moving on, and no fill probes either). */
  probes?: number;
  /** A region is thin when fewer nodes replied there than this share of the expected (default 0.7). */
  thinShare?: number;
  /** Share of visits asking about the node's own region; the rest ask further out (default 0.6; 0.9 with several stripes, keyspace-stripes.ts). */
  localShare?: number;
  /** Visit contacts learnt below the cursor (default true). */
  lateVisits?: boolean;
  /** Re-samples per node at most (default 8). */
  resampleMax?: number;
  /** Re-sample only nodes that report at most this many infohashes (default 400). */
  smallStore?: number;
  /** Longest wait for a node's interval before a re-sample, seconds (default 900). */
  resampleWaitS?: number;
  /** Nodes waiting for a re-sample at most (default 100000). */
  resampleQueueMax?: number;
  /** Visits go at most this many regions ahead of the cursor (default 0: no bound). */
  horizon?: number;
  /** Walk only stripe `index` of 2^bits equal stripes of the keyspace (default: all of it). */
  stripe?: { bits: number; index: number };
  /** Cursors side by side (keyspace-stripes.ts; a power of two up to 64; default: one per 32 query slots). */
  stripes?: number;
  /** The network size estimate to use instead of this walk's own (keyspace-stripes.ts pools all the stripes' evidence). */
  sizeEstimate?: () => number;
  /** Aim visits at sixteenths of a region by nodes listed, not quarters by asks (keyspace-stripes.ts, several stripes: see STRATA_BITS). */
  fineTargets?: boolean;
}

/** What a walk has seen of the network's size: nodes that answered below the cursor, over the keyspace fraction swept. */
export interface SizeEvidence {
  replied: number;
  swept: number;
  /** The estimate from the seed lookup (live nodes in the whole keyspace; 0 if none). */
  seed: number;
}

interface Bucket {
  /** First id of the bucket (its prefix, then zeros). */
  start: Uint8Array;
  /** Prefix length in bits. */
  depth: number;
  /** Ids of nodes that replied (split beyond K). */
  replied: Uint8Array[];
  /** Probes aimed into it so far. */
  probes: number;
}

type Tag = { kind: 'visit'; late: boolean } | { kind: 'probe' } | { kind: 'fill' } | { kind: 'resample'; entry: Resample };

interface Resample {
  node: CrawlNode;
  num: number;
  /** Clock ms when it may be asked again. */
  due: number;
  /** 32-bit fingerprints of the distinct samples we have from it. */
  seen: Set<number>;
  asked: number;
}

function sampleFingerprint(s: Uint8Array): number {
  return (top32(s, 0) ^ top32(s, 16)) >>> 0;
}

function newBucket(start: Uint8Array, depth: number): Bucket {
  return { start, depth, replied: [], probes: 0 };
}

export class KeyspaceStrategy implements Strategy {
  readonly name = 'keyspace';
  private readonly maxProbes: number;
  private readonly thinShare: number;
  private readonly localShare: number;
  private readonly lateVisits: boolean;
  private readonly resampleMax: number;
  private readonly smallStore: number;
  private readonly resampleWaitMs: number;
  private readonly resampleQueueMax: number;
  private readonly horizon: number;
  private readonly sizeEstimate: (() => number) | undefined;
  /** Where in its region a visit aims (see STRATA_BITS). */
  private readonly aims: RegionTargets;

  private family: Family = 4;
  /** The stripe walked: [start, end) (end null: to the top), as ids and keyspace fractions. */
  private readonly start: Uint8Array;
  private readonly end: Uint8Array | null;
  private readonly startAt: number;
  private readonly endAt: number;
  private cursor: Uint8Array = new Uint8Array(20);
  /** Leaves of the prefix tree in keyspace order; they tile the whole space. */
  private buckets: Bucket[] = [newBucket(new Uint8Array(20), 0)];
  private swept = false;
  /** Candidates at or above the cursor, and those learnt below it. */
  private readonly ahead = new CandidatePool();
  private readonly late = new CandidatePool();
  /** Every endpoint met: candidate, in flight or visited (extra: the first 32 bits of its id). */
  private readonly nodes = new EndpointMap(1024);
  /** Visits and probes in flight at or above the cursor (what "aims into a bucket" looks at). */
  private readonly flying = new Set<CrawlTask>();
  /**
   * Visits and probes past the adaptive timeout (probably dead nodes), still waiting for a late
   * reply: the cursor does not wait for them, the end of the pass does.
   */
  private readonly stalled = new Set<CrawlTask>();
  private lateInFlight = 0;
  /** A thin bucket at the cursor the next query should aim into. */
  private probe: Bucket | null = null;
  /** Nodes that answered lately (probe helpers), oldest first. */
  private recent: CrawlNode[] = [];
  /**
   * Answering nodes near the cursor (NEAR_REGIONS either side), sorted by id, with their keyspace
   * positions: with many queries in flight the latest answers come from a frontier well ahead
   * of the cursor, too far to list a thin region at the cursor; these are close enough.
   */
  private near: CrawlNode[] = [];
  private nearAt: number[] = [];
  private readonly usedForProbe = new WeakSet<CrawlNode>();
  /** Fill probes of regions the cursor left (see queueFills), and those in flight. */
  private fills: CrawlTask[] = [];
  private fillsInFlight = 0;
  private fillsQueued = 0;
  /** Nodes that answered, below the cursor, and the positions of those still ahead of it. */
  private repliedBelow = 0;
  private repliedAhead: number[] = [];
  private seedEstimate = 0;
  private frozenDepth = 0;
  private queried = 0;
  private resamples: Resample[] = [];
  private resamplesInFlight = 0;

  constructor(options: KeyspaceOptions = {}) {
    this.maxProbes = options.probes ?? 8;
    this.thinShare = options.thinShare ?? 0.7;
    this.localShare = options.localShare ?? 0.6;
    this.lateVisits = options.lateVisits ?? true;
    this.resampleMax = options.resampleMax ?? 8;
    this.smallStore = options.smallStore ?? 400;
    this.resampleWaitMs = (options.resampleWaitS ?? 900) * 1000;
    this.resampleQueueMax = options.resampleQueueMax ?? 100_000;
    this.horizon = options.horizon ?? 0;
    this.sizeEstimate = options.sizeEstimate;
    const fine = options.fineTargets === true;
    this.aims = new RegionTargets({ bits: fine ? STRATA_BITS : ONE_CURSOR_STRATA_BITS, byListed: fine, closing: fine });
    const bits = options.stripe?.bits ?? 0;
    const index = options.stripe?.index ?? 0;
    if (!(Number.isInteger(bits) && bits >= 0 && bits <= 16 && Number.isInteger(index) && index >= 0 && index < 2 ** bits)) {
      throw new RangeError('keyspace: bad stripe');
    }
    this.startAt = index / 2 ** bits;
    this.endAt = (index + 1) / 2 ** bits;
    this.start = stripeStart(bits, index);
    this.end = index + 1 < 2 ** bits ? stripeStart(bits, index + 1) : null;
    this.cursor = Uint8Array.from(this.start);
    this.buckets = pathBuckets(this.start, bits);
  }

  /** `known`: the result of a lookup of the cursor already made (keyspace-stripes.ts), instead of one more. */
  async seed(ctx: StrategyContext, known?: CrawlNode[]): Promise<void> {
    this.family = ctx.family;
    if (this.swept) return;
    let found: CrawlNode[] = known ?? [];
    if (!known) {
      try {
        found = await ctx.lookup(this.cursor);
      } catch (err) {
        ctx.log(`keyspace: seed lookup failed: ${(err as Error).message}`);
      }
    }
    for (const n of found) this.addCandidate(n);
    this.seedEstimate = sizeFromClosest(this.cursor, found);
    this.populate(ctx);
  }

  next(ctx: StrategyContext): NextResult {
    const now = ctx.now();
    const due = this.takeDueResample(ctx, now);
    if (due) return { task: due };
    for (let fill = this.fills.shift(); fill; fill = this.fills.shift()) {
      if (!ctx.allowed(fill.node)) continue;
      this.fillsInFlight++;
      return { task: fill };
    }
    if (!this.swept) {
      for (;;) {
        // nothing known to ask and only stalled queries out: their late replies may still
        // list contacts, so the cursor does not run off to the end without them
        if (this.flying.size === 0 && this.stalled.size > 0 && this.candidates === 0) return { wait: true };
        this.advance(ctx);
        if (this.probe !== null) {
          const probe = this.neighbourProbe(ctx);
          if (probe) return { task: probe };
        }
        const task = this.pickCandidate(ctx, now);
        if (task) return { task };
        // nothing to ask: wait for what is in flight, or let the cursor move on
        if (this.flying.size > 0) return { wait: true };
        if (this.swept) break;
      }
    }
    const late = this.pickCandidate(ctx, now);
    if (late) return { task: late };
    if (this.flying.size > 0 || this.stalled.size > 0 || this.lateInFlight > 0 || this.fillsInFlight > 0) return { wait: true };
    if (this.resamples.length > 0) {
      let earliest = Infinity;
      for (const r of this.resamples) earliest = Math.min(earliest, r.due);
      return { wait: true, retryAt: earliest };
    }
    if (this.resamplesInFlight > 0) return { wait: true };
    return { done: true };
  }

  onReply(task: CrawlTask, reply: TaskReply, ctx: StrategyContext): void {
    const tag = task.tag as Tag | undefined;
    for (const n of reply.nodes) this.addCandidate(n);
    if (tag?.kind !== 'resample') this.aims.noteAnswer(reply.id, task.target, reply.nodes, this.frozenDepth);
    switch (tag?.kind) {
      case 'resample':
        this.resamplesInFlight--;
        if (reply.samples) this.afterResample(tag.entry, reply, ctx);
        return;
      case 'probe':
        this.land(task);
        return;
      case 'fill':
        this.fillsInFlight--;
        return;
      case 'visit':
        this.finishVisit(task, tag.late);
        this.countReplied(reply.id);
        break;
    }
    this.insertReplied(reply.id);
    this.noteRecent({ ...task.node, id: Uint8Array.from(reply.id) });
    if (reply.samples && reply.num !== undefined) this.considerResample(task.node, reply, ctx);
  }

  onFailure(task: CrawlTask, _failure: TaskFailure, _ctx: StrategyContext): void {
    const tag = task.tag as Tag | undefined;
    if (tag?.kind === 'resample') this.resamplesInFlight--;
    else if (tag?.kind === 'probe') this.land(task);
    else if (tag?.kind === 'fill') this.fillsInFlight--;
    else if (tag?.kind === 'visit') this.finishVisit(task, tag.late);
  }

  /** A visit or probe past the adaptive timeout: the cursor stops waiting for it. */
  onStall(task: CrawlTask, _ctx: StrategyContext): void {
    if (this.flying.delete(task)) this.stalled.add(task);
  }

  /** A visit or probe ahead of the cursor is over. */
  private land(task: CrawlTask): void {
    if (!this.flying.delete(task)) this.stalled.delete(task);
  }

  /** After the sweep: the nodes to re-sample once their BEP 51 interval has passed. */
  waitingFor(): StrategyWait | null {
    if (!this.swept || this.resamples.length === 0) return null;
    let next = Infinity;
    for (const r of this.resamples) next = Math.min(next, r.due);
    return { reason: 'bep51_interval', nodes: this.resamples.length, next_at: next };
  }

  progress(): number {
    return this.swept ? 1 : (keyspaceFraction(this.cursor) - this.startAt) / (this.endAt - this.startAt);
  }

  /** The cursor's place in the whole keyspace, 0..1 (the stripe's end once swept). */
  private cursorAt(): number {
    return this.swept ? this.endAt : keyspaceFraction(this.cursor);
  }

  /** Whether an id lies in the stripe walked. */
  inStripe(id: Uint8Array): boolean {
    return compareIds(id, 0, this.start, 0) >= 0 && (this.end === null || compareIds(id, 0, this.end, 0) < 0);
  }

  /** Contacts another stripe learnt that lie in this one. */
  addContacts(nodes: readonly NodeInfo[]): void {
    for (const n of nodes) this.addCandidate(n);
  }

  memoryBytes(): number {
    let buckets = 0;
    for (const b of this.buckets) buckets += 120 + b.replied.length * 90;
    let resamples = 0;
    for (const r of this.resamples) resamples += 200 + r.seen.size * 40;
    return (
      this.ahead.bytes + this.late.bytes + this.nodes.bytes + buckets + resamples +
      (this.flying.size + this.stalled.size + this.lateInFlight + this.recent.length + this.near.length + this.fills.length) * 200 + this.aims.bytes
    );
  }

  /** Nodes queried so far in this pass (restored ones included). */
  get visited(): number {
    return this.queried;
  }

  /** Fill probes queued so far (queueFills). */
  get fillProbes(): number {
    return this.fillsQueued;
  }

  /** Candidates waiting (ahead of the cursor and late). */
  get candidates(): number {
    return this.ahead.count + this.late.count;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /** Estimated live nodes in the network (0 while unknown). */
  get liveNodesEstimate(): number {
    return this.liveEstimate();
  }

  saveState(): unknown {
    // Visited endpoints (10 bytes each: IPv4, port, first 32 bits of the id). In-flight ones are
    // left out so that a resumed run asks them again; candidates are found again.
    const v4: number[] = [];
    const v6: string[] = [];
    for (const e of this.nodes.entries()) {
      if (e.value !== VISITED) continue;
      if (typeof e.key === 'number') v4.push(e.key, e.extra);
      else v6.push(`${e.key}|${e.extra}`);
    }
    const packed = Buffer.alloc((v4.length / 2) * 10);
    for (let i = 0, o = 0; i < v4.length; i += 2, o += 10) {
      packed.writeUInt32BE(Math.floor(v4[i] / 65536), o);
      packed.writeUInt16BE(v4[i] % 65536, o + 4);
      packed.writeUInt32BE(v4[i + 1], o + 6);
    }
    return {
      v: 1,
      cursor: Buffer.from(this.cursor).toString('hex'),
      depth: this.buckets[this.bucketIndex(this.cursor)].depth,
      swept: this.swept,
      replied: this.repliedBelow,
      visited4: packed.toString('base64'),
      visited6: v6,
    };
  }

  restoreState(state: unknown, ctx: StrategyContext): boolean {
    const s = state as { v?: unknown; cursor?: unknown; depth?: unknown; swept?: unknown; replied?: unknown; visited4?: unknown; visited6?: unknown } | null;
    if (!s || s.v !== 1 || typeof s.cursor !== 'string' || !/^[0-9a-f]{40}$/.test(s.cursor)) return false;
    if (typeof s.depth !== 'number' || !Number.isInteger(s.depth) || s.depth < 0 || s.depth > 160) return false;
    if (typeof s.visited4 !== 'string' || !Array.isArray(s.visited6)) return false;
    const cursor = Uint8Array.from(Buffer.from(s.cursor, 'hex'));
    const depth = s.depth;
    for (let bit = depth; bit < 160; bit++) if (bitAt(cursor, bit)) return false; // not a bucket start
    if (!this.inStripe(cursor)) return false;
    const packed = Buffer.from(s.visited4, 'base64');
    if (packed.length % 10 !== 0) return false;
    this.family = ctx.family;
    this.cursor = cursor;
    this.swept = s.swept === true;
    this.buckets = pathBuckets(cursor, depth);
    this.repliedBelow = typeof s.replied === 'number' && s.replied >= 0 ? s.replied : 0;
    for (let o = 0; o < packed.length; o += 10) {
      const key = packed.readUInt32BE(o) * 65536 + packed.readUInt16BE(o + 4);
      if (key % 65536 === 0) continue; // port 0: no endpoint
      if (this.nodes.setKey(key, VISITED, packed.readUInt32BE(o + 6)) === 0) this.queried++;
    }
    for (const text of s.visited6) {
      if (typeof text !== 'string') continue;
      const cut = text.lastIndexOf('|');
      const mid = text.lastIndexOf('|', cut - 1);
      if (mid <= 0) continue;
      if (this.nodes.set(text.slice(0, mid), Number(text.slice(mid + 1, cut)), VISITED, Number(text.slice(cut + 1))) === 0) this.queried++;
    }
    return true;
  }

  // ---- choosing whom to ask -------------------------------------------------------------------

  /**
   * The next visit: a candidate in the cursor's bucket (the smallest id, i.e. the closest to the
   * cursor, which is its bucket's start), else a late one, else the next one ahead.
   */
  private pickCandidate(ctx: StrategyContext, now: number): CrawlTask | undefined {
    for (;;) {
      const home = this.buckets[this.bucketIndex(this.cursor)];
      const top = this.ahead.peek();
      const inHome = top >= 0 && !this.swept && inPrefix(this.ahead.idOf(top), home.start, home.depth);
      const from = !inHome && this.late.count > 0 ? this.late : this.ahead;
      const slot = from.peek();
      if (slot < 0) return undefined;
      if (from === this.ahead && !inHome && !this.swept && this.beyondHorizon(this.ahead.idOf(slot))) return undefined;
      const node = from.nodeOf(slot, this.family);
      from.pop();
      const id = node.id!;
      const late = from === this.late || compareIds(id, 0, this.cursor, 0) < 0;
      if (!ctx.allowed(node)) {
        this.nodes.set(node.host, node.port, VISITED, top32(id));
        continue;
      }
      let target: Uint8Array;
      if (this.probe !== null && this.probe === home && !this.swept) {
        // the cursor's region is thin: this visit's answer is aimed into it
        home.probes++;
        target = ctx.helpers.randomIdInPrefix(home.start, home.depth);
      } else {
        target = this.targetFor(ctx, id, this.buckets[this.bucketIndex(id)]);
      }
      this.probe = null;
      const method = ctx.sampleAllowedAt(node) <= now ? 'sample_infohashes' : 'find_node';
      if (this.nodes.set(node.host, node.port, IN_FLIGHT, top32(id)) !== VISITED) this.queried++;
      const task: CrawlTask = { node, method, target, tag: { kind: 'visit', late } satisfies Tag };
      if (late) this.lateInFlight++;
      else this.flying.add(task);
      return task;
    }
  }

  /**
   * Whether a candidate lies more than `horizon` regions ahead of the cursor. Visits run ahead
   * of the cursor while slots are free, but not so far that the cursor's work (probing thin
   * regions with nearby helpers) is left to a frontier that has moved on.
   */
  private beyondHorizon(id: Uint8Array): boolean {
    if (this.horizon <= 0) return false;
    const region = this.regionDepth();
    if (region === 0) return false;
    return keyspaceFraction(id) - this.cursorAt() > this.horizon / 2 ** region;
  }

  /** What a visit of node `id` asks about (see the file comment). */
  private targetFor(ctx: StrategyContext, id: Uint8Array, bucket: Bucket): Uint8Array {
    const region = this.regionDepth();
    if (region === 0) return ctx.helpers.randomIdInPrefix(bucket.start, bucket.depth);
    if (ctx.helpers.random() < this.localShare) return ctx.helpers.randomIdInPrefix(this.aims.aim(id, region), region + this.aims.prefixBits(region));
    // one of its buckets further out: the sibling subtree at level j, nearer levels more often
    let level = region - 1;
    while (level > 0 && ctx.helpers.random() < 0.5) level--;
    return ctx.helpers.randomIdInPrefix(flipBit(prefixStart(id, level + 1), level), level + 1);
  }

  /**
   * A find_node aimed into the thin bucket at the cursor, sent to the recently answering node
   * closest to it: a near neighbour keeps dense buckets there, so one answer usually lists the
   * bucket's nodes.
   */
  private neighbourProbe(ctx: StrategyContext): CrawlTask | undefined {
    const bucket = this.probe!;
    if (bucket !== this.buckets[this.bucketIndex(this.cursor)]) {
      this.probe = null;
      return undefined;
    }
    const target = ctx.helpers.randomIdInPrefix(bucket.start, bucket.depth);
    let node: CrawlNode | undefined;
    for (const list of [this.near, this.recent]) {
      for (const n of list) {
        if (this.usedForProbe.has(n) || !ctx.allowed(n)) continue;
        if (!node || ctx.helpers.compareDistance(n.id!, node.id!, target) < 0) node = n;
      }
    }
    bucket.probes++; // counted either way, so that a bucket nobody can probe is left eventually
    if (!node) return undefined; // the next visit is aimed into it instead
    this.usedForProbe.add(node);
    this.probe = null;
    const task: CrawlTask = { node, method: 'find_node', target, tag: { kind: 'probe' } satisfies Tag };
    this.flying.add(task);
    return task;
  }

  // ---- the tree and the cursor ----------------------------------------------------------------

  /** Index of the bucket holding id (the last one starting at or below it). */
  private bucketIndex(id: Uint8Array): number {
    const b = this.buckets;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareIds(b[mid].start, 0, id, 0) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private insertReplied(id: Uint8Array): void {
    if (compareIds(id, 0, this.cursor, 0) < 0) return;
    let index = this.bucketIndex(id);
    let bucket = this.buckets[index];
    if (bucket.replied.some((r) => compareIds(r, 0, id, 0) === 0)) return;
    bucket.replied.push(Uint8Array.from(id));
    while (bucket.replied.length > K && bucket.depth < 160) {
      const [low, high] = this.split(index);
      if (inPrefix(id, high.start, high.depth)) {
        index++;
        bucket = high;
      } else bucket = low;
    }
  }

  private split(index: number): [Bucket, Bucket] {
    const b = this.buckets[index];
    const low = newBucket(b.start, b.depth + 1);
    const high = newBucket(withBit(b.start, b.depth), b.depth + 1);
    for (const r of b.replied) (bitAt(r, b.depth) ? high : low).replied.push(r);
    this.buckets.splice(index, 1, low, high);
    return [low, high];
  }

  /** Moves the cursor past exhausted buckets, tops up the new one, merges what lies behind. */
  private advance(ctx: StrategyContext): void {
    let moved = false;
    const region = this.regionDepth();
    for (;;) {
      const index = this.bucketIndex(this.cursor);
      const bucket = this.buckets[index];
      if (bucket.depth < region) {
        this.split(index); // the cursor steps through the keyspace a region at a time
        continue;
      }
      if (this.hasCandidateIn(bucket) || this.flyingInto(bucket)) break;
      if (this.isThin(bucket) && bucket.probes < this.maxProbes && (this.ahead.count > 0 || this.late.count > 0 || this.recent.length > 0 || this.near.length > 0)) {
        this.probe = bucket;
        break;
      }
      if (index === this.buckets.length - 1 || (this.end !== null && compareIds(this.buckets[index + 1].start, 0, this.end, 0) >= 0)) {
        this.swept = true;
        break;
      }
      const left = this.cursor;
      this.cursor = Uint8Array.from(this.buckets[index + 1].start);
      if (this.frozenDepth > 0 && !inPrefix(this.cursor, left, this.frozenDepth)) this.queueFills(ctx, left);
      moved = true;
      this.populate(ctx);
    }
    if (moved) {
      this.mergeBelowCursor();
      this.settleReplied();
      this.dropFarHelpers();
    }
  }

  /**
   * A region the cursor leaves with quarters not yet listed whole: a find_node to a node of each
   * such quarter that answered (it knows its quarter whole), aimed at the quarter's open
   * sub-region. The cursor does not wait for them; what they list is visited late.
   */
  private queueFills(ctx: StrategyContext, id: Uint8Array): void {
    if (this.maxProbes === 0) return;
    const depth = this.frozenDepth;
    const open = this.aims.openByQuarter(id, depth);
    const zone = Math.log2(open.length);
    for (const start of open) {
      if (!start) continue;
      const helper = this.helperIn(ctx, start, depth + zone);
      if (!helper) continue;
      this.usedForProbe.add(helper);
      const target = ctx.helpers.randomIdInPrefix(start, depth + this.aims.prefixBits(depth));
      this.fills.push({ node: helper, method: 'find_node', target, tag: { kind: 'fill' } satisfies Tag });
      this.fillsQueued++;
    }
  }

  /** An answering node near the cursor in the prefix of `id` (its first `depth` bits), not used for a probe yet. */
  private helperIn(ctx: StrategyContext, id: Uint8Array, depth: number): CrawlNode | undefined {
    const start = prefixStart(id, depth);
    const lo = this.nearIndex(keyspaceFraction(start));
    for (let k = lo; k < this.near.length && inPrefix(this.near[k].id!, start, depth); k++) {
      const n = this.near[k];
      if (!this.usedForProbe.has(n) && ctx.allowed(n)) return n;
    }
    return undefined;
  }

  /** The first place in the helpers near the cursor at or after keyspace position `at`. */
  private nearIndex(at: number): number {
    let lo = 0;
    let hi = this.nearAt.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.nearAt[mid] < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Fewer nodes replied in the bucket than the size estimate leads to expect. */
  private isThin(bucket: Bucket): boolean {
    const expected = Math.min(K, this.liveEstimate() / 2 ** bucket.depth);
    return bucket.replied.length < this.thinShare * expected;
  }

  private hasCandidateIn(bucket: Bucket): boolean {
    const pool = this.ahead;
    for (let slot = pool.peek(); slot >= 0; slot = pool.peek()) {
      const id = pool.idOf(slot);
      if (compareIds(id, 0, this.cursor, 0) >= 0) return inPrefix(id, bucket.start, bucket.depth);
      // passed by the cursor (it was in flight meanwhile): a late visit now
      const node = pool.nodeOf(slot, this.family);
      pool.pop();
      if (this.lateVisits) this.late.push(node.id!, node.host, node.port);
      else this.nodes.set(node.host, node.port, VISITED, top32(node.id!));
    }
    return false;
  }

  private flyingInto(bucket: Bucket): boolean {
    for (const t of this.flying) if (inPrefix(t.target, bucket.start, bucket.depth)) return true;
    return false;
  }

  /** Adds the routing table's closest contacts to the cursor. */
  private populate(ctx: StrategyContext): void {
    for (const n of ctx.closestKnown(this.cursor, K)) this.addCandidate(n);
  }

  /** Merges sibling buckets that lie wholly below the cursor's bucket (their state is dropped). */
  private mergeBelowCursor(): void {
    const b = this.buckets;
    let merged = true;
    while (merged) {
      merged = false;
      const limit = this.bucketIndex(this.cursor);
      for (let i = 0; i + 1 < limit; i++) {
        const left = b[i];
        const right = b[i + 1];
        if (left.depth === right.depth && left.depth > 0 && bitAt(left.start, left.depth - 1) === 0 && inPrefix(right.start, left.start, left.depth - 1)) {
          b.splice(i, 2, newBucket(left.start, left.depth - 1));
          merged = true;
          break;
        }
      }
    }
  }

  // ---- size estimate --------------------------------------------------------------------------

  /**
   * Live nodes in the network: from the seed lookup at first (the 8 live nodes closest to the
   * cursor span a fraction f of the keyspace: about 8/f in all), then from the nodes that replied
   * per fraction of the keyspace swept; with several stripes, all of theirs pooled.
   */
  private liveEstimate(): number {
    if (this.sizeEstimate) return this.sizeEstimate();
    return estimateFrom([this.sizeEvidence()], this.endAt - this.startAt);
  }

  /** This walk's evidence of the network's size (pooled across stripes by keyspace-stripes.ts). */
  sizeEvidence(): SizeEvidence {
    return { replied: this.repliedBelow, swept: this.cursorAt() - this.startAt, seed: this.seedEstimate };
  }

  /** Counts a node that answered once the cursor is past it (so answers ahead do not bias the estimate). */
  private countReplied(id: Uint8Array): void {
    const at = keyspaceFraction(id);
    if (at < this.startAt || at >= this.endAt) return;
    if (at < this.cursorAt()) this.repliedBelow++;
    else this.repliedAhead.push(at);
  }

  /** Moves the answers the cursor has now passed into the count. */
  private settleReplied(): void {
    const cursor = this.cursorAt();
    const kept: number[] = [];
    for (const at of this.repliedAhead) {
      if (at < cursor) this.repliedBelow++;
      else kept.push(at);
    }
    this.repliedAhead = kept;
  }

  /** Prefix length of a region holding about REGION_LIVE live nodes (0 while the size is unknown). */
  private regionDepth(): number {
    if (this.frozenDepth > 0) return this.frozenDepth;
    const live = this.liveEstimate();
    if (!(live > REGION_LIVE)) return 0;
    const depth = Math.min(60, Math.floor(Math.log2(live / REGION_LIVE)));
    // fixed once the estimate rests on a swept part of the keyspace: regions keep their identity
    if (this.progress() >= 0.05 && this.repliedBelow >= 256) this.frozenDepth = depth;
    return depth;
  }

  // ---- candidates and visits ------------------------------------------------------------------

  private addCandidate(n: NodeInfo | CrawlNode): void {
    const id = n.id;
    if (!id || id.length !== 20 || n.family !== this.family || !this.inStripe(id)) return;
    const below = compareIds(id, 0, this.cursor, 0) < 0;
    if (below && !this.lateVisits) return; // mldht: contacts below the cursor are done with
    if (this.nodes.get(n.host, n.port) !== 0) return;
    this.nodes.set(n.host, n.port, CANDIDATE, top32(id));
    if (this.frozenDepth > 0) this.aims.noteListed(id, this.frozenDepth);
    (below ? this.late : this.ahead).push(id, n.host, n.port);
  }

  private finishVisit(task: CrawlTask, late: boolean): void {
    if (late) this.lateInFlight--;
    else this.land(task);
    this.nodes.set(task.node.host, task.node.port, VISITED, top32(task.node.id!));
  }

  private noteRecent(node: CrawlNode): void {
    this.recent.push(node);
    if (this.recent.length > RECENT) this.recent.shift();
    const at = keyspaceFraction(node.id!);
    const cursor = this.cursorAt();
    if (Math.abs(at - cursor) > this.nearSpan()) return;
    const lo = this.nearIndex(at);
    this.near.splice(lo, 0, node);
    this.nearAt.splice(lo, 0, at);
    if (this.near.length > NEAR_MAX) {
      // the farthest from the cursor goes, whichever end it is at
      const dropFirst = cursor - this.nearAt[0] > this.nearAt[this.nearAt.length - 1] - cursor;
      if (dropFirst) {
        this.near.shift();
        this.nearAt.shift();
      } else {
        this.near.pop();
        this.nearAt.pop();
      }
    }
  }

  /** The keyspace fraction either side of the cursor where probe helpers are kept. */
  private nearSpan(): number {
    const region = this.regionDepth();
    return region === 0 ? 1 : NEAR_REGIONS / 2 ** region;
  }

  /** Forgets helpers the cursor has left behind by more than the span. */
  private dropFarHelpers(): void {
    const from = this.cursorAt() - this.nearSpan();
    let k = 0;
    while (k < this.nearAt.length && this.nearAt[k] < from) k++;
    if (k > 0) {
      this.near.splice(0, k);
      this.nearAt.splice(0, k);
    }
  }

  // ---- re-samples -----------------------------------------------------------------------------

  private considerResample(node: CrawlNode, reply: TaskReply, ctx: StrategyContext): void {
    const num = reply.num ?? 0;
    const seen = new Set<number>();
    for (const s of reply.samples ?? []) seen.add(sampleFingerprint(s));
    if (num <= seen.size || num > this.smallStore || this.resampleMax <= 0) return;
    if (this.resamples.length >= this.resampleQueueMax) return;
    const due = Math.max(ctx.sampleAllowedAt(node), ctx.now());
    if (due - ctx.now() > this.resampleWaitMs) return;
    this.resamples.push({ node: { ...node, id: Uint8Array.from(reply.id) }, num, due, seen, asked: 0 });
  }

  private afterResample(entry: Resample, reply: TaskReply, ctx: StrategyContext): void {
    const before = entry.seen.size;
    for (const s of reply.samples ?? []) entry.seen.add(sampleFingerprint(s));
    entry.num = reply.num ?? entry.num;
    // a node that repeats itself (libtorrent keeps one sample per interval) has nothing more to give
    if (entry.seen.size === before || entry.seen.size >= entry.num || entry.asked >= this.resampleMax) return;
    const due = Math.max(ctx.sampleAllowedAt(entry.node), ctx.now());
    if (due - ctx.now() > this.resampleWaitMs) return;
    entry.due = due;
    this.resamples.push(entry);
  }

  private takeDueResample(ctx: StrategyContext, now: number): CrawlTask | undefined {
    for (let i = 0; i < this.resamples.length; i++) {
      const r = this.resamples[i];
      if (r.due > now) continue;
      this.resamples[i] = this.resamples[this.resamples.length - 1];
      this.resamples.pop();
      i--;
      if (!ctx.allowed(r.node) || ctx.sampleAllowedAt(r.node) > now) continue;
      r.asked++;
      this.resamplesInFlight++;
      return { node: r.node, method: 'sample_infohashes', target: ctx.helpers.randomId(), tag: { kind: 'resample', entry: r } satisfies Tag };
    }
    return undefined;
  }
}

/**
 * Live nodes in the network from walks of equal parts of the keyspace: the median of the
 * estimates of those that swept 2% of their part and heard 64 answers there (nodes answering per
 * fraction swept), else the median of the seed lookups' estimates. A median, not the pooled
 * ratio: a walk whose cursor ran ahead of its answers would pull a pooled ratio far down.
 */
export function estimateFrom(evidence: readonly SizeEvidence[], part: number): number {
  const swept: number[] = [];
  const seeds: number[] = [];
  for (const e of evidence) {
    if (e.swept >= 0.02 * part && e.replied >= 64) swept.push(e.replied / e.swept);
    if (e.seed > 0) seeds.push(e.seed);
  }
  return median(swept.length > 0 ? swept : seeds);
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  xs.sort((a, b) => a - b);
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** 8 / (fraction of the keyspace between target and its 8th closest node), or 0. */
export function sizeFromClosest(target: Uint8Array, nodes: readonly CrawlNode[]): number {
  const d = nodes
    .filter((n) => n.id)
    .map((n) => distanceFraction(n.id!, target))
    .sort((a, b) => a - b);
  return d.length >= 8 && d[7] > 0 ? 8 / d[7] : 0;
}

/** The first id of stripe `index` of 2^bits. */
function stripeStart(bits: number, index: number): Uint8Array {
  let id: Uint8Array = new Uint8Array(20);
  for (let b = 0; b < bits; b++) if ((index >> (bits - 1 - b)) & 1) id = withBit(id, b);
  return id;
}

/** The buckets of a tree whose only fine branch leads to the bucket (cursor, depth). */
function pathBuckets(cursor: Uint8Array, depth: number): Bucket[] {
  const below: Bucket[] = [];
  const above: Bucket[] = [];
  let prefix: Uint8Array = new Uint8Array(20);
  for (let bit = 0; bit < depth; bit++) {
    if (bitAt(cursor, bit)) {
      below.push(newBucket(Uint8Array.from(prefix), bit + 1));
      prefix = withBit(prefix, bit);
    } else {
      above.unshift(newBucket(withBit(prefix, bit), bit + 1));
    }
  }
  return [...below, newBucket(Uint8Array.from(cursor), depth), ...above];
}

/** `--strategy-opt` keys, the option each sets and its range (docs/output.md lists them). */
export const KEYSPACE_OPTIONS: Record<string, StrategyOptionSpec & { field: keyof KeyspaceOptions }> = {
  probes: { field: 'probes', kind: 'integer', min: 0, max: 64 },
  'thin-share': { field: 'thinShare', kind: 'number', min: 0, max: 1 },
  'local-share': { field: 'localShare', kind: 'number', min: 0, max: 1 },
  'late-visits': { field: 'lateVisits', kind: 'boolean' },
  'resample-max': { field: 'resampleMax', kind: 'integer', min: 0, max: 64 },
  'small-store': { field: 'smallStore', kind: 'integer', min: 0, max: 1_000_000 },
  // seconds: the longest BEP 51 interval is 6 h
  'resample-wait': { field: 'resampleWaitS', kind: 'integer', min: 0, max: 21_600 },
  'resample-queue': { field: 'resampleQueueMax', kind: 'integer', min: 0, max: 1_000_000 },
  horizon: { field: 'horizon', kind: 'integer', min: 0, max: 64 },
  stripes: { field: 'stripes', kind: 'integer', min: 1, max: 64 },
};

/** Reads `--strategy-opt key=value` pairs; unknown keys and values out of range are StrategyOptionErrors naming them. */
export function keyspaceOptions(params: Record<string, string>): KeyspaceOptions {
  return readStrategyOptions('keyspace', params, KEYSPACE_OPTIONS) as KeyspaceOptions;
}

export const keyspaceDefinition: StrategyDefinition = {
  name: 'keyspace',
  description: "one sweep of the keyspace from 0x00… to 0xff… after mldht's BEP 51 traversal: each node visited about once, small stores read whole",
  create(options: StrategyOptions): Strategy {
    const { stripes, ...rest } = keyspaceOptions(options.params);
    const bits = stripes !== undefined ? Math.min(6, Math.round(Math.log2(Math.max(1, stripes)))) : undefined;
    const maxBits = bits ?? stripeBitsFor(options.concurrency);
    const range = options.range;
    if (maxBits === 0) return new KeyspaceStrategy({ ...rest, ...(range && range.bits > 0 ? { stripe: range } : {}) });
    return new StripedKeyspace({ ...rest, ...(bits !== undefined ? { bits } : {}), maxBits, concurrency: options.concurrency, ...(range ? { range } : {}) });
  },
};
