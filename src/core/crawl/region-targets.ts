// Where in its own region a keyspace visit aims (keyspace.ts, "targets" in docs/architecture.md):
// a region is cut into 2^bits sub-regions, and each visit asks about the one where the fewest
// nodes were listed so far, an earlier visit aimed there counting as ASK_WEIGHT listed.
//
// With `closing`, answers also close sub-regions: a node knows every node of its own quarter of
// the region (4-8 of them, dead ones included, one k-bucket's worth), so when its answer about a
// target there lists 8 nodes reaching beyond a sub-region, that sub-region of its quarter is listed
// whole. Closed sub-regions are aimed at only once every one is closed: their visits go to what is
// still unlisted instead of to empty or finished sub-regions.
import { bitAt, inPrefix, prefixStart, withBit } from './id-bits.js';
import { compareDistance } from '../dht/node-id.js';

/** A visit aimed at a sub-region counts as this many nodes listed there. */
const ASK_WEIGHT = 2;
/** Bits below the region of the zone an answering node knows whole (its quarter). */
const KNOWN_ZONE_BITS = 2;
/** An answer lists the 8 closest nodes its sender knows. */
const ANSWER_K = 8;

export interface RegionTargetsOptions {
  /** Sub-region bits (at most 4: closed sub-regions are a 16-bit mask). */
  bits: number;
  /** Count nodes listed, not only visits aimed (default false). */
  byListed?: boolean;
  /** Close sub-regions from answers (default false; needs byListed). */
  closing?: boolean;
  /** Regions tracked at most; the oldest is forgotten (default 8192). */
  capacity?: number;
}

export class RegionTargets {
  private readonly bits: number;
  private readonly byListed: boolean;
  private readonly closing: boolean;
  private readonly capacity: number;
  /** Per region: visits aimed per sub-region, nodes listed per sub-region, then the closed mask (2 bytes). */
  private readonly counts = new Map<string, Uint8Array>();

  constructor(options: RegionTargetsOptions) {
    if (!(Number.isInteger(options.bits) && options.bits >= 0 && options.bits <= 4)) throw new RangeError('region targets: bits must be 0..4');
    this.bits = options.bits;
    this.byListed = options.byListed === true;
    this.closing = this.byListed && options.closing === true;
    this.capacity = options.capacity ?? 8192;
  }

  /** Regions tracked. */
  get size(): number {
    return this.counts.size;
  }

  get bytes(): number {
    return this.counts.size * (120 + (2 << this.bits) + 2);
  }

  /** Counts a node met for the first time, in its region of prefix length `depth`. */
  noteListed(id: Uint8Array, depth: number): void {
    if (!this.byListed) return;
    const bits = this.bitsAt(depth);
    const counts = this.countsOf(id, depth);
    const at = (1 << bits) + subOf(id, depth, bits);
    if (counts[at] < 255) counts[at]++;
  }

  /**
   * The prefix to aim a visit of node `id` at: the start id of a sub-region of its region (the
   * prefix is `depth + prefixBits(depth)` bits long). Ties go in bit-reversed order, so that they
   * spread over the region.
   */
  aim(id: Uint8Array, depth: number): Uint8Array {
    const bits = this.bitsAt(depth);
    const subs = 1 << bits;
    const counts = this.countsOf(id, depth);
    const closed = this.closing ? closedMask(counts, subs) : 0;
    let best = 0;
    let bestScore = Infinity;
    for (let k = 0; k < subs; k++) {
      let sub = 0;
      for (let i = 0; i < bits; i++) if ((k >> i) & 1) sub |= 1 << (bits - 1 - i);
      // a closed sub-region only once all are: its score is above any open one's (at most 3 * 255)
      const score = counts[sub] * ASK_WEIGHT + counts[subs + sub] + ((closed >> sub) & 1) * 1024;
      if (score < bestScore) {
        best = sub;
        bestScore = score;
      }
    }
    if (counts[best] < 255) counts[best]++;
    let start = prefixStart(id, depth);
    for (let i = 0; i < bits; i++) if ((best >> (bits - 1 - i)) & 1) start = withBit(start, depth + i);
    return start;
  }

  /** Length of the aimed prefix beyond the region's. */
  prefixBits(depth: number): number {
    return this.bitsAt(depth);
  }

  /**
   * An answer from node `from` to a query about `target`, listing `nodes`: closes the sub-regions of
   * the sender's quarter lying wholly nearer the target than the farthest node listed (all of them
   * when fewer than 8 came back, or the farthest lies outside the region).
   */
  noteAnswer(from: Uint8Array, target: Uint8Array, nodes: readonly { id?: Uint8Array }[], depth: number): void {
    if (!this.closing || depth === 0) return;
    const region = prefixStart(from, depth);
    if (!inPrefix(target, region, depth)) return;
    const bits = this.bitsAt(depth);
    const subs = 1 << bits;
    const aimed = subOf(target, depth, bits);
    // sub-regions s with (aimed ^ s) < reach lie wholly within the farthest node's distance
    let reach = subs;
    if (nodes.length >= ANSWER_K) {
      let far: Uint8Array | undefined;
      for (const n of nodes) if (n.id && n.id.length === 20 && (!far || compareDistance(n.id, far, target) > 0)) far = n.id;
      if (!far) return;
      if (inPrefix(far, region, depth)) reach = aimed ^ subOf(far, depth, bits);
    }
    if (reach === 0) return;
    const zone = Math.min(KNOWN_ZONE_BITS, bits);
    const own = subOf(from, depth, bits) >> (bits - zone);
    const counts = this.countsOf(from, depth);
    let closed = closedMask(counts, subs);
    for (let s = 0; s < subs; s++) if (s >> (bits - zone) === own && (aimed ^ s) < reach) closed |= 1 << s;
    counts[2 * subs] = closed & 0xff;
    counts[2 * subs + 1] = closed >>> 8;
  }

  /**
   * Per quarter of the region of `id` (the zone one node knows whole): the start of its open
   * sub-region with the fewest nodes listed, or null when all of the quarter is closed or nothing
   * was ever counted in the region. Only when closing.
   */
  openByQuarter(id: Uint8Array, depth: number): (Uint8Array | null)[] {
    const bits = this.bitsAt(depth);
    const zone = Math.min(KNOWN_ZONE_BITS, bits);
    const out: (Uint8Array | null)[] = new Array<Uint8Array | null>(1 << zone).fill(null);
    const counts = this.closing ? this.counts.get(regionKey(id, depth)) : undefined;
    if (!counts) return out;
    const subs = 1 << bits;
    const closed = closedMask(counts, subs);
    const best: number[] = new Array<number>(1 << zone).fill(-1);
    for (let s = 0; s < subs; s++) {
      if ((closed >> s) & 1) continue;
      const q = s >> (bits - zone);
      if (best[q] < 0 || counts[subs + s] < counts[subs + best[q]]) best[q] = s;
    }
    const region = prefixStart(id, depth);
    for (let q = 0; q < out.length; q++) {
      if (best[q] < 0) continue;
      let start = region;
      for (let i = 0; i < bits; i++) if ((best[q] >> (bits - 1 - i)) & 1) start = withBit(start, depth + i);
      out[q] = start;
    }
    return out;
  }

  /** Whether a sub-region is closed (for tests and diagnosis). */
  isClosed(id: Uint8Array, depth: number): boolean {
    const bits = this.bitsAt(depth);
    const counts = this.counts.get(regionKey(id, depth));
    return counts !== undefined && ((closedMask(counts, 1 << bits) >> subOf(id, depth, bits)) & 1) === 1;
  }

  private bitsAt(depth: number): number {
    return Math.min(this.bits, 160 - depth);
  }

  private countsOf(id: Uint8Array, depth: number): Uint8Array {
    const key = regionKey(id, depth);
    let counts = this.counts.get(key);
    if (!counts) {
      counts = new Uint8Array((2 << this.bitsAt(depth)) + 2);
      this.counts.set(key, counts);
      if (this.counts.size > this.capacity) this.counts.delete(this.counts.keys().next().value!);
    }
    return counts;
  }
}

function regionKey(id: Uint8Array, depth: number): string {
  const start = prefixStart(id, depth);
  return `${depth}:${Buffer.from(start.subarray(0, (depth + 7) >> 3)).toString('hex')}`;
}

/** The `bits` bits of id after its first `depth`. */
function subOf(id: Uint8Array, depth: number, bits: number): number {
  let sub = 0;
  for (let i = 0; i < bits; i++) sub = (sub << 1) | bitAt(id, depth + i);
  return sub;
}

function closedMask(counts: Uint8Array, subs: number): number {
  return counts[2 * subs] | (counts[2 * subs + 1] << 8);
}
