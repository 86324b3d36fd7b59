// The `keyspace` strategy: one sweep of the whole id space, mldht's BEP 51 keyspace traversal.
//
// A temporary prefix tree is homed at a cursor that moves from 0x00… to 0xff…. Its leaves
// ("buckets") count up to 8 nodes that replied; a leaf with more splits, so the tree is fine where
// the cursor is and coarse elsewhere. The next node to ask is the candidate closest to the
// cursor, in the first bucket at or after it; its target is a random id inside that bucket, so
// the answer lists nodes of that part of the keyspace, and asking the bucket's nodes in turn is
// locally exhaustive. When the cursor's bucket has no candidates and no query in flight aims
// into it, the cursor moves to the next bucket, which is topped up from our routing table, and
// the finished buckets below it merge. Each node is visited about once.
//
// Two representation choices keep the state small (it is what the bench reports per visited
// node):
// - candidates live in one pool of typed arrays ordered by id, not in per-bucket sets. "Closest
//   to the cursor in the first bucket at or after it" is then the smallest candidate id at or
//   above the cursor (the cursor is its bucket's start, so the XOR order inside that bucket is
//   the numeric one);
// - visited nodes are endpoint keys in an open-addressing table (about 26 bytes each) that
//   forgets the ones below the cursor, which the traversal never goes back to.
//
// A node whose `num` exceeds the distinct samples we have from it is asked again when its
// interval allows (a random target, sample_infohashes), until it repeats itself or we have
// them all, so small stores are read whole.
import type { Family, NodeInfo } from '../wire/types.js';
import { EndpointMap, v4Key, v4KeyToEndpoint } from './collections.js';
import type { CrawlNode, CrawlTask, NextResult, Strategy, StrategyContext, StrategyDefinition, StrategyOptions, TaskFailure, TaskReply } from './strategy.js';

/** Replied nodes a bucket holds before it splits (Kademlia's k). */
const K = 8;

/** A bucket with fewer replied nodes than this is probed before the cursor leaves it... */
const PROBE_BELOW = Number(process.env.KS_PB ?? 4);
/** ...at most this many times. */
const MAX_PROBES = Number(process.env.KS_MP ?? 2);

/** Live nodes in the region a visit asks about. */
const REGION_LIVE = Number(process.env.KS_RN ?? 8);

/** Recently replied nodes kept as probe helpers. */
const RECENT = 32;

/** Endpoint states in the visited table. */
const CANDIDATE = 1;
const IN_FLIGHT = 2;
const VISITED = 3;

export interface KeyspaceOptions {
  /** Re-samples per node at most (default 8). */
  resampleMax?: number;
  /** Re-sample only nodes that report at most this many infohashes (default 400). */
  smallStore?: number;
  /** Longest wait for a node's interval before a re-sample, seconds (default 900). */
  resampleWaitS?: number;
  /** Nodes waiting for a re-sample at most (default 100000). */
  resampleQueueMax?: number;
}

interface Bucket {
  /** First id of the bucket (its prefix, then zeros). */
  start: Uint8Array;
  /** Prefix length in bits. */
  depth: number;
  /** Ids of nodes that replied (split beyond K). */
  replied: Uint8Array[];
  /** Queries aimed into this bucket from elsewhere because it had no candidates of its own. */
  probes: number;
}

interface ProbeTag {
  kind: 'probe';
}

interface VisitTag {
  kind: 'visit';
  key: number | string;
}

interface ResampleTag {
  kind: 'resample';
  entry: Resample;
}

interface Resample {
  node: CrawlNode;
  num: number;
  /** Clock ms when it may be asked again. */
  due: number;
  /** 32-bit fingerprints of the distinct samples we have from it. */
  seen: Set<number>;
  asked: number;
}

const MIN_ID = new Uint8Array(20);

function compareIds(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < 20; i++) {
    const d = a[ao + i] - b[bo + i];
    if (d !== 0) return d;
  }
  return 0;
}

function top32(id: Uint8Array, off = 0): number {
  return ((id[off] << 24) | (id[off + 1] << 16) | (id[off + 2] << 8) | id[off + 3]) >>> 0;
}

function bitAt(id: Uint8Array, bit: number): number {
  return (id[bit >> 3] >> (7 - (bit & 7))) & 1;
}

function withBit(id: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(id);
  out[bit >> 3] |= 0x80 >> (bit & 7);
  return out;
}

function inPrefix(id: Uint8Array, start: Uint8Array, depth: number): boolean {
  const whole = depth >> 3;
  for (let i = 0; i < whole; i++) if (id[i] !== start[i]) return false;
  const rest = depth & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (id[whole] & mask) === (start[whole] & mask);
}

function sampleFingerprint(s: Uint8Array): number {
  return (top32(s, 0) ^ top32(s, 16)) >>> 0;
}

/**
 * Candidates: ids, endpoints and a min-heap by id in typed arrays (about 44 bytes a candidate).
 * IPv4 endpoints are numeric keys; IPv6 ones keep their host text in a side map.
 */
class CandidatePool {
  private ids = new Uint8Array(256 * 20);
  private keys = new Float64Array(256);
  private ports = new Uint16Array(256);
  private heap = new Int32Array(256);
  private size = 0;
  private freeList: number[] = [];
  private used = 0;
  private readonly v6Hosts = new Map<number, string>();

  get count(): number {
    return this.size;
  }

  get bytes(): number {
    return this.ids.byteLength + this.keys.byteLength + this.ports.byteLength + this.heap.byteLength + this.freeList.length * 8 + this.v6Hosts.size * 80;
  }

  push(id: Uint8Array, host: string, port: number): void {
    const slot = this.alloc();
    this.ids.set(id.subarray(0, 20), slot * 20);
    const k = v4Key(host, port);
    this.keys[slot] = k;
    this.ports[slot] = port;
    if (k < 0) this.v6Hosts.set(slot, host);
    // sift up
    let i = this.size++;
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(heap[parent], slot)) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = slot;
  }

  /** The smallest candidate's slot, or -1. */
  peek(): number {
    return this.size > 0 ? this.heap[0] : -1;
  }

  idOf(slot: number): Uint8Array {
    return this.ids.subarray(slot * 20, slot * 20 + 20);
  }

  nodeOf(slot: number, family: Family): CrawlNode {
    const k = this.keys[slot];
    const id = this.ids.slice(slot * 20, slot * 20 + 20);
    if (k >= 0) {
      const ep = v4KeyToEndpoint(k);
      return { id, host: ep.host, port: ep.port, family: 4 };
    }
    return { id, host: this.v6Hosts.get(slot) ?? '', port: this.ports[slot], family };
  }

  /** Removes the smallest candidate; call nodeOf/idOf before (the slot is reused after). */
  pop(): void {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(heap[child + 1], heap[child])) child++;
      if (!this.less(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    if (n > 0) heap[i] = last;
    this.v6Hosts.delete(top);
    this.freeList.push(top);
  }

  private less(a: number, b: number): boolean {
    return compareIds(this.ids, a * 20, this.ids, b * 20) < 0;
  }

  private alloc(): number {
    const free = this.freeList.pop();
    if (free !== undefined) return free;
    if (this.used === this.keys.length) {
      const cap = this.keys.length * 2;
      const ids = new Uint8Array(cap * 20);
      ids.set(this.ids);
      this.ids = ids;
      const keys = new Float64Array(cap);
      keys.set(this.keys);
      this.keys = keys;
      const ports = new Uint16Array(cap);
      ports.set(this.ports);
      this.ports = ports;
      const heap = new Int32Array(cap);
      heap.set(this.heap);
      this.heap = heap;
    }
    return this.used++;
  }
}

export class KeyspaceStrategy implements Strategy {
  readonly name = 'keyspace';
  private readonly resampleMax: number;
  private readonly smallStore: number;
  private readonly resampleWaitMs: number;
  private readonly resampleQueueMax: number;

  private cursor: Uint8Array = Uint8Array.from(MIN_ID);
  /** Leaves of the prefix tree in keyspace order; they tile the whole space. */
  private buckets: Bucket[] = [{ start: Uint8Array.from(MIN_ID), depth: 0, replied: [], probes: 0 }];
  private swept = false;
  /** A candidate-less bucket at the cursor the next visit should aim into. */
  private probe: Bucket | null = null;
  private readonly regionVisits = new Map<string, number>();
  /** Visits answered (for the live-node estimate) and the estimate from the seed lookup. */
  private repliedCount = 0;
  private seedEstimate = 0;
  /** Nodes that replied lately (probe helpers), oldest first. */
  private recent: CrawlNode[] = [];
  private readonly usedForProbe = new WeakSet<CrawlNode>();
  private readonly pool = new CandidatePool();
  /** Candidates found below the cursor after it passed them: still visited, out of order. */
  private readonly late = new CandidatePool();
  private readonly lateFlying = new Set<CrawlTask>();
  private readonly nodes = new EndpointMap(1024);
  /** Visit targets in flight (for "nothing in flight aims into the cursor's bucket"). */
  private readonly flying = new Set<CrawlTask>();
  private resamples: Resample[] = [];
  private resamplesInFlight = 0;
  /** Visited-table size after the last prune (prune again when it doubles). */
  private prunedAt = 1024;
  private visitedCount = 0;
  private family: Family = 4;

  constructor(options: KeyspaceOptions = {}) {
    this.resampleMax = options.resampleMax ?? 8;
    this.smallStore = options.smallStore ?? 400;
    this.resampleWaitMs = (options.resampleWaitS ?? 900) * 1000;
    this.resampleQueueMax = options.resampleQueueMax ?? 100_000;
  }

  async seed(ctx: StrategyContext): Promise<void> {
    this.family = ctx.family;
    if (this.swept) return;
    // a finished lookup for the cursor, then the routing table's closest
    let found: CrawlNode[] = [];
    try {
      found = await ctx.lookup(this.cursor);
    } catch (err) {
      ctx.log(`keyspace: seed lookup failed: ${(err as Error).message}`);
    }
    for (const n of found) this.addCandidate(n);
    this.seedEstimate = sizeFromClosest(this.cursor, found);
    this.populate(ctx);
  }

  next(ctx: StrategyContext): NextResult {
    const now = ctx.now();
    const due = this.takeDueResample(ctx, now);
    if (due) return { task: due };

    if (!this.swept) {
      for (;;) {
        this.advance(ctx);
        const probe = this.probe !== null ? this.neighbourProbe(ctx) : undefined;
        if (probe) return { task: probe };
        const task = this.pickCandidate(ctx, now);
        if (task) return { task };
        // no candidate left: wait for what is in flight, or let the cursor move on
        if (this.flying.size > 0) return { wait: true };
        if (this.swept) break;
      }
    }
    const late = this.pickCandidate(ctx, now);
    if (late) return { task: late };
    if (this.flying.size > 0 || this.lateFlying.size > 0) return { wait: true };
    if (this.resamples.length > 0) {
      let earliest = Infinity;
      for (const r of this.resamples) earliest = Math.min(earliest, r.due);
      return { wait: true, retryAt: earliest };
    }
    if (this.resamplesInFlight > 0) return { wait: true };
    return { done: true };
  }

  /**
   * A find_node aimed into the candidate-less bucket at the cursor, sent to the node that replied
   * recently and lies closest to it: a near neighbour keeps its dense buckets there, so one
   * answer usually lists the bucket's nodes. Costs one query to a node already visited.
   */
  private neighbourProbe(ctx: StrategyContext): CrawlTask | undefined {
    const bucket = this.probe!;
    if (bucket !== this.buckets[this.bucketIndex(this.cursor)]) {
      this.probe = null;
      return undefined;
    }
    const target = ctx.helpers.randomIdInPrefix(bucket.start, bucket.depth);
    let best = -1;
    for (let i = 0; i < this.recent.length; i++) {
      const n = this.recent[i];
      if (this.usedForProbe.has(n) || !ctx.allowed(n)) continue;
      if (best < 0 || ctx.helpers.compareDistance(n.id!, this.recent[best].id!, target) < 0) best = i;
    }
    if (best < 0) return undefined; // fall back on aiming the next candidate's visit into it
    const node = this.recent[best];
    this.usedForProbe.add(node);
    bucket.probes++;
    this.probe = null;
    const task: CrawlTask = { node, method: 'find_node', target, tag: { kind: 'probe' } satisfies ProbeTag };
    this.flying.add(task);
    return task;
  }

  /** The candidate closest to the cursor (the smallest id at or above it) as a task, if any. */
  private pickCandidate(ctx: StrategyContext, now: number): CrawlTask | undefined {
    const LATE = process.env.KS_LATE === '1';
    for (;;) {
      const home = this.buckets[this.bucketIndex(this.cursor)];
      let from = this.pool;
      const top = this.pool.peek();
      const inHome = top >= 0 && inPrefix(this.pool.idOf(top), home.start, home.depth);
      if (!inHome && LATE && this.late.count > 0) from = this.late;
      const slot = from.peek();
      if (slot < 0) return undefined;
      const node = from.nodeOf(slot, this.family);
      from.pop();
      const id = node.id!;
      const isLate = from === this.late || compareIds(id, 0, this.cursor, 0) < 0;
      if ((isLate && !LATE) || !ctx.allowed(node)) {
        this.setState(node, VISITED);
        continue;
      }
      const bucket = this.buckets[this.bucketIndex(id)];
      let aim: 'bucket' | 'own' | 'cursor' = (process.env.KS_AHEAD as 'bucket' | 'own' | 'cursor' | undefined) ?? 'bucket';
      if (bucket === home) aim = 'bucket';
      if (isLate) aim = (process.env.KS_LATEAIM as 'own' | 'cursor' | undefined) ?? 'own';
      if (this.probe !== null) {
        if (this.probe === home) {
          aim = 'cursor';
          home.probes++;
        }
        this.probe = null;
      }
      const td = this.typicalDepth();
      let target =
        aim === 'cursor'
          ? ctx.helpers.randomIdInPrefix(home.start, home.depth)
          : aim === 'own' && td > bucket.depth
            ? ctx.helpers.randomIdInPrefix(id, td)
            : ctx.helpers.randomIdInPrefix(bucket.start, bucket.depth);
      const strat = Number(process.env.KS_STRAT ?? 0);
      if (strat > 0 && aim !== 'cursor' && td > 0) {
        const depth = Math.max(td, aim === 'own' ? 0 : bucket.depth);
        target = this.stratifiedTarget(ctx, aim === 'own' || td > bucket.depth ? id : bucket.start, Math.max(depth, aim === 'own' ? td : bucket.depth), strat);
      }
      const mixLocal = process.env.KS_MIX;
      if (mixLocal !== undefined && td > 0 && aim !== 'cursor') {
        if (ctx.helpers.random() < Number(mixLocal)) {
          target = this.stratifiedTarget(ctx, id, td, Number(process.env.KS_STRAT ?? 3));
        } else {
          // a bucket of the node's own table: its sibling subtree at level j (geometric from td-1 up)
          let j = td - 1;
          while (j > 0 && ctx.helpers.random() < Number(process.env.KS_GEO ?? 0.5)) j--;
          const sib = withBit(id, j);
          if (bitAt(id, j)) sib[j >> 3] &= ~(0x80 >> (j & 7));
          target = ctx.helpers.randomIdInPrefix(sib, j + 1);
        }
      }
      const method = ctx.sampleAllowedAt(node) <= now ? 'sample_infohashes' : 'find_node';
      const key = this.setState(node, IN_FLIGHT);
      const task: CrawlTask = { node, method, target, tag: { kind: 'visit', key } satisfies VisitTag };
      if (!isLate) this.flying.add(task);
      else this.lateFlying.add(task);
      return task;
    }
  }

  onReply(task: CrawlTask, reply: TaskReply, ctx: StrategyContext): void {
    const tag = task.tag as VisitTag | ResampleTag | ProbeTag | undefined;
    for (const n of reply.nodes) this.addCandidate(n);
    if (tag?.kind === 'resample') {
      this.resamplesInFlight--;
      if (reply.samples) this.afterResample(tag.entry, reply, ctx);
      return;
    }
    if (tag?.kind === 'probe') {
      this.flying.delete(task);
      return;
    }
    if (tag?.kind === 'visit') this.finishVisit(task, tag);
    this.repliedCount++;
    this.insertReplied(reply.id);
    this.noteRecent({ ...task.node, id: Uint8Array.from(reply.id) });
    if (reply.samples && reply.num !== undefined) this.considerResample(task.node, reply, ctx);
  }

  onFailure(task: CrawlTask, _failure: TaskFailure, _ctx: StrategyContext): void {
    const tag = task.tag as VisitTag | ResampleTag | ProbeTag | undefined;
    if (tag?.kind === 'probe') this.flying.delete(task);
    if (tag?.kind === 'resample') this.resamplesInFlight--;
    else if (tag?.kind === 'visit') this.finishVisit(task, tag);
  }

  progress(): number {
    if (this.swept) return 1;
    return (top32(this.cursor) * 65536 + ((this.cursor[4] << 8) | this.cursor[5])) / 2 ** 48;
  }

  memoryBytes(): number {
    let buckets = 0;
    for (const b of this.buckets) buckets += 120 + b.replied.length * 90;
    let resamples = 0;
    for (const r of this.resamples) resamples += 200 + r.seen.size * 40;
    return this.pool.bytes + this.nodes.bytes + buckets + resamples + this.flying.size * 200;
  }

  /** Nodes queried so far in this pass (restored ones included). */
  get visited(): number {
    return this.visitedCount;
  }

  /** Candidates waiting. */
  get candidates(): number {
    return this.pool.count;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  saveState(): unknown {
    // Visited endpoints at or above the cursor (those below are never asked again); in-flight
    // ones are left out so that a resumed run asks them again.
    const floor = top32(this.cursor);
    const v4: number[] = [];
    const v6: string[] = [];
    for (const e of this.nodes.entries()) {
      if (e.value !== VISITED || e.extra < floor) continue;
      if (typeof e.key === 'number') v4.push(e.key, e.extra);
      else v6.push(`${e.key}|${e.extra}`);
    }
    const packed = Buffer.alloc((v4.length / 2) * 10);
    for (let i = 0, o = 0; i < v4.length; i += 2, o += 10) {
      const key = v4[i];
      packed.writeUInt32BE(Math.floor(key / 65536), o);
      packed.writeUInt16BE(key % 65536, o + 4);
      packed.writeUInt32BE(v4[i + 1], o + 6);
    }
    const bucket = this.buckets[this.bucketIndex(this.cursor)];
    return {
      v: 1,
      cursor: Buffer.from(this.cursor).toString('hex'),
      depth: bucket.depth,
      swept: this.swept,
      visited4: packed.toString('base64'),
      visited6: v6,
    };
  }

  restoreState(state: unknown, ctx: StrategyContext): boolean {
    const s = state as { v?: unknown; cursor?: unknown; depth?: unknown; swept?: unknown; visited4?: unknown; visited6?: unknown } | null;
    if (!s || s.v !== 1 || typeof s.cursor !== 'string' || !/^[0-9a-f]{40}$/.test(s.cursor)) return false;
    if (typeof s.depth !== 'number' || !Number.isInteger(s.depth) || s.depth < 0 || s.depth > 160) return false;
    if (typeof s.visited4 !== 'string' || !Array.isArray(s.visited6)) return false;
    const cursor = Uint8Array.from(Buffer.from(s.cursor, 'hex'));
    const depth = s.depth;
    // the cursor must be the start of a bucket of that depth
    for (let bit = depth; bit < 160; bit++) if (bitAt(cursor, bit)) return false;
    const packed = Buffer.from(s.visited4, 'base64');
    if (packed.length % 10 !== 0) return false;
    this.family = ctx.family;
    this.cursor = cursor;
    this.swept = s.swept === true;
    this.buckets = pathBuckets(cursor, depth);
    for (let o = 0; o < packed.length; o += 10) {
      const key = packed.readUInt32BE(o) * 65536 + packed.readUInt16BE(o + 4);
      if (this.nodes.setKey(key, VISITED, packed.readUInt32BE(o + 6)) === 0) this.visitedCount++;
    }
    for (const text of s.visited6) {
      if (typeof text !== 'string') continue;
      const parts = text.split('|');
      if (parts.length !== 3) continue;
      if (this.nodes.set(parts[0], Number(parts[1]), VISITED, Number(parts[2])) === 0) this.visitedCount++;
    }
    return true;
  }

  // ---- the tree -------------------------------------------------------------------------------

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
      // only the cursor's bucket tells the density where the sweep is
      const [low, high] = this.split(index);
      index = inPrefix(id, high.start, high.depth) ? index + 1 : index;
      bucket = inPrefix(id, high.start, high.depth) ? high : low;
    }
  }

  /**
   * A target in the region (prefix of `base`, `depth` bits) that rotates over its 2^bits
   * sub-regions in bit-reversed order, so that successive answers about one region list
   * different parts of it instead of random overlapping ones.
   */
  private stratifiedTarget(ctx: StrategyContext, base: Uint8Array, depth: number, bits: number): Uint8Array {
    const key = `${depth}:${Buffer.from(base.subarray(0, 8)).toString('hex')}`;
    // region key: the prefix itself
    const region = ctx.helpers.randomIdInPrefix(base, depth);
    for (let b = depth; b < 160; b++) region[b >> 3] &= ~(0x80 >> (b & 7));
    const rk = `${depth}:${Buffer.from(region).toString('hex')}`;
    void key;
    const n = this.regionVisits.get(rk) ?? 0;
    this.regionVisits.set(rk, n + 1);
    if (this.regionVisits.size > 4096) this.regionVisits.delete(this.regionVisits.keys().next().value!);
    let sub = 0;
    const count = 1 << bits;
    const idx = n % count;
    for (let i = 0; i < bits; i++) if (idx & (1 << i)) sub |= 1 << (bits - 1 - i);
    let start = region;
    for (let i = 0; i < bits; i++) if (sub & (1 << (bits - 1 - i))) start = withBit(start, depth + i);
    return ctx.helpers.randomIdInPrefix(start, Math.min(160, depth + bits));
  }

  /**
   * Estimates how many live nodes there are: from the seed lookup at first (the 8 live nodes
   * closest to the cursor span a fraction f of the keyspace: about 8/f nodes in all), then from
   * how many nodes replied over the part of the keyspace swept so far.
   */
  private liveEstimate(): number {
    const swept = this.progress();
    if (swept >= 0.02 && this.repliedCount >= 64) return this.repliedCount / swept;
    return this.seedEstimate;
  }

  /** Depth of a region holding about REGION_LIVE live nodes (0 while the size is unknown). */
  private typicalDepth(): number {
    if (process.env.KS_TD === '0') return 0;
    const live = this.liveEstimate();
    if (!(live > 0)) return 0;
    return Math.max(0, Math.min(60, Math.floor(Math.log2(live / REGION_LIVE)) + Number(process.env.KS_TDO ?? 0)));
  }

  private split(index: number): [Bucket, Bucket] {
    const b = this.buckets[index];
    const low: Bucket = { start: b.start, depth: b.depth + 1, replied: [], probes: 0 };
    const high: Bucket = { start: withBit(b.start, b.depth), depth: b.depth + 1, replied: [], probes: 0 };
    for (const r of b.replied) (bitAt(r, b.depth) ? high : low).replied.push(r);
    this.buckets.splice(index, 1, low, high);
    return [low, high];
  }

  /** Moves the cursor past exhausted buckets, tops up the new one, merges what lies behind. */
  private advance(ctx: StrategyContext): void {
    let moved = false;
    for (;;) {
      const index = this.bucketIndex(this.cursor);
      const bucket = this.buckets[index];
      if (bucket.depth < this.typicalDepth()) {
        // Narrow the cursor's bucket to the size where buckets fill up: targets stay near the
        // cursor, and the cursor steps through unexplored space in steps a neighbour can light up.
        this.split(index);
        continue;
      }
      if (this.hasCandidateIn(bucket) || this.flyingInto(bucket)) break;
      const expected = this.liveEstimate() / 2 ** bucket.depth;
      const thin = process.env.KS_PF ? bucket.replied.length < expected * Number(process.env.KS_PF) : bucket.replied.length < PROBE_BELOW;
      if (thin && bucket.probes < MAX_PROBES && (this.pool.count > 0 || this.recent.length > 0)) {
        this.probe = bucket;
        break;
      }
      if (index === this.buckets.length - 1) {
        this.swept = true;
        break;
      }
      (globalThis as any).__ksTrace?.(bucket, this.buckets[index + 1]);
      this.cursor = Uint8Array.from(this.buckets[index + 1].start);
      moved = true;
      this.populate(ctx);
    }
    if (moved) {
      this.mergeBelowCursor();
      this.maybePrune();
    }
  }

  private hasCandidateIn(bucket: Bucket): boolean {
    const pool = this.pool;
    for (let slot = pool.peek(); slot >= 0; slot = pool.peek()) {
      const id = pool.idOf(slot);
      if (compareIds(id, 0, this.cursor, 0) >= 0) return inPrefix(id, bucket.start, bucket.depth);
      // below the cursor: done with, or kept for a late visit
      const node = pool.nodeOf(slot, this.family);
      pool.pop();
      if (process.env.KS_LATE === '1') this.late.push(node.id!, node.host, node.port);
      else this.setState(node, VISITED);
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
          b.splice(i, 2, { start: left.start, depth: left.depth - 1, replied: [], probes: 0 });
          merged = true;
          break;
        }
      }
    }
  }

  // ---- candidates and visits ------------------------------------------------------------------

  private addCandidate(n: NodeInfo | CrawlNode): void {
    const id = n.id;
    if (!id || id.length !== 20 || n.family !== this.family) return;
    const below = compareIds(id, 0, this.cursor, 0) < 0;
    if (below && process.env.KS_LATE !== '1') return; // mldht: contacts below the cursor are done with
    if (this.nodes.get(n.host, n.port) !== 0) return;
    this.nodes.set(n.host, n.port, CANDIDATE, top32(id));
    (below ? this.late : this.pool).push(id, n.host, n.port);
  }

  /** Sets a node's state; returns its key (for the task tag). */
  private setState(node: CrawlNode, state: number): number | string {
    const id = node.id!;
    const before = this.nodes.set(node.host, node.port, state, top32(id));
    if (state === IN_FLIGHT && before !== IN_FLIGHT && before !== VISITED) this.visitedCount++;
    const k = v4Key(node.host, node.port);
    return k >= 0 ? k : `${node.host}|${node.port}`;
  }

  private noteRecent(node: CrawlNode): void {
    this.recent.push(node);
    if (this.recent.length > RECENT) this.recent.shift();
  }

  private finishVisit(task: CrawlTask, _tag: VisitTag): void {
    this.flying.delete(task);
    this.lateFlying.delete(task);
    this.nodes.set(task.node.host, task.node.port, VISITED, top32(task.node.id!));
  }

  /** Forgets visited endpoints below the cursor when the table has doubled since the last time. */
  private maybePrune(): void {
    if (process.env.KS_LATE === '1') return;
    if (this.nodes.size < this.prunedAt * 2) return;
    const floor = top32(this.cursor);
    this.nodes.prune((state, idTop) => state === VISITED && idTop < floor);
    this.prunedAt = Math.max(1024, this.nodes.size);
  }

  // ---- re-samples -----------------------------------------------------------------------------

  private considerResample(node: CrawlNode, reply: TaskReply, ctx: StrategyContext): void {
    const num = reply.num ?? 0;
    const samples = reply.samples ?? [];
    const seen = new Set<number>();
    for (const s of samples) seen.add(sampleFingerprint(s));
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
    if (this.resamples.length === 0) return undefined;
    for (let i = 0; i < this.resamples.length; i++) {
      const r = this.resamples[i];
      if (r.due > now) continue;
      this.resamples[i] = this.resamples[this.resamples.length - 1];
      this.resamples.pop();
      if (!ctx.allowed(r.node) || ctx.sampleAllowedAt(r.node) > now) {
        i--;
        continue;
      }
      r.asked++;
      this.resamplesInFlight++;
      return { node: r.node, method: 'sample_infohashes', target: ctx.helpers.randomId(), tag: { kind: 'resample', entry: r } satisfies ResampleTag };
    }
    return undefined;
  }
}

/** 8 / (fraction of the keyspace between target and its 8th closest live node), or 0. */
function sizeFromClosest(target: Uint8Array, nodes: readonly CrawlNode[]): number {
  const d = nodes
    .filter((n) => n.id)
    .map((n) => {
      let x = 0;
      for (let i = 0; i < 7; i++) x = x * 256 + (n.id![i] ^ target[i]);
      return x / 2 ** 56;
    })
    .sort((a, b) => a - b);
  return d.length >= 8 && d[7] > 0 ? 8 / d[7] : 0;
}

/** The buckets of a tree whose only fine branch leads to the bucket (cursor, depth). */
function pathBuckets(cursor: Uint8Array, depth: number): Bucket[] {
  const below: Bucket[] = [];
  const above: Bucket[] = [];
  let prefix: Uint8Array = new Uint8Array(20);
  for (let bit = 0; bit < depth; bit++) {
    const sibling: Bucket = bitAt(cursor, bit) ? { start: Uint8Array.from(prefix), depth: bit + 1, replied: [], probes: 0 } : { start: withBit(prefix, bit), depth: bit + 1, replied: [], probes: 0 };
    if (bitAt(cursor, bit)) {
      below.push(sibling);
      prefix = withBit(prefix, bit);
    } else {
      above.unshift(sibling);
    }
  }
  return [...below, { start: Uint8Array.from(cursor), depth, replied: [], probes: 0 }, ...above];
}

export const keyspaceDefinition: StrategyDefinition = {
  name: 'keyspace',
  description: 'one sweep of the keyspace from 0x00… to 0xff… (mldht\'s BEP 51 traversal): each node visited about once, small stores read whole',
  create(options: StrategyOptions): Strategy {
    const p = options.params;
    const num = (key: string): number | undefined => {
      const v = p[key];
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`keyspace: --strategy-opt ${key}=${v} is not a non-negative number`);
      return n;
    };
    for (const key of Object.keys(p)) {
      if (!['resample-max', 'small-store', 'resample-wait', 'resample-queue'].includes(key)) {
        throw new Error(`keyspace: unknown --strategy-opt '${key}' (known: resample-max, small-store, resample-wait, resample-queue)`);
      }
    }
    return new KeyspaceStrategy({
      resampleMax: num('resample-max'),
      smallStore: num('small-store'),
      resampleWaitS: num('resample-wait'),
      resampleQueueMax: num('resample-queue'),
    });
  },
};
