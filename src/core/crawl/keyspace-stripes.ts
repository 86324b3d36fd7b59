// The keyspace walk at high concurrency: the keyspace cut into 2^bits stripes, each walked by
// its own KeyspaceStrategy cursor, side by side. One cursor moves a region at a time and waits
// at thin regions for the probes that complete them; with hundreds of query slots it either
// leaves most slots idle or (visiting far ahead of itself) loses the nodes that only its probes
// find. Several cursors keep each one's lead small and all the slots busy.
//
// How many stripes: at most one per SLOTS_PER_STRIPE slots of --concurrency, and at most one
// per STRIPE_MIN_LIVE live nodes the seed lookup's size estimate finds (a small network keeps
// the single cursor). Fewer stripes with the same slots lose coverage (the bench: 8 stripes of
// 64 slots sampled 87% of a 100k world's BEP 51 nodes, 16 of 32 slots 95%). A state saved by --resume keeps its number of stripes.
//
// Each stripe gets an equal share of the free slots (at least 8): a stripe held up at a thin
// region cannot take the slots of the others, nor they its. Contacts in any reply go to the
// stripe they lie in. With one stripe this is the plain keyspace walk.
//
// With several stripes, 90% of the visits ask about the visited node's own region (one cursor:
// 60%): the other cursors' visits find a stripe's regions well enough, and what the stripes
// missed were nodes inside regions already found. At 100% whole regions go unfound; one cursor
// alone needs the far-out visits to find regions at all (docs/architecture.md has the figures).
import type { NodeInfo } from '../wire/types.js';
import { estimateFrom, KeyspaceStrategy, sizeFromClosest, type KeyspaceOptions } from './keyspace.js';
import type { CrawlNode, CrawlTask, KeyRange, NextResult, Strategy, StrategyContext, StrategyWait, TaskFailure, TaskReply } from './strategy.js';
import { rangeStart } from './key-range.js';

/** Query slots per stripe the default aims at (the keyspace walk's sweet spot in the bench). */
export const SLOTS_PER_STRIPE = 32;

/** Stripe bits for a concurrency bound: about SLOTS_PER_STRIPE slots each, at most 64 stripes. */
export function stripeBitsFor(concurrency: number): number {
  let bits = 0;
  while (bits < 6 && concurrency / 2 ** (bits + 1) >= SLOTS_PER_STRIPE) bits++;
  return bits;
}

/** Share of visits asking about their own region when there are several stripes (see above). */
export const STRIPED_LOCAL_SHARE = 0.9;

/** Asks of the pooled size estimate between two updates of it. */
const ESTIMATE_EVERY = 256;

/** Live nodes per stripe at least. */
export const STRIPE_MIN_LIVE = 1024;

export class StripedKeyspace implements Strategy {
  readonly name = 'keyspace';
  private stripes: KeyspaceStrategy[] = [];
  private readonly owner = new WeakMap<CrawlTask, number>();
  /** Tasks holding a slot, per stripe (stalled ones no longer do). */
  private busy: number[] = [];
  private readonly concurrency: number;
  private readonly maxBits: number;
  private readonly fixedBits: number | undefined;
  private readonly options: KeyspaceOptions;
  private turn = 0;
  private estimate = 0;
  private estimateAsks = 0;

  /** bits: a fixed number of stripe bits; else chosen at seed() (at most maxBits). */
  /** The part of the keyspace walked (a lease or a shard); stripes cut it further. */
  private readonly range: KeyRange;

  constructor(options: KeyspaceOptions & { bits?: number; maxBits: number; concurrency: number; range?: KeyRange }) {
    const { bits, maxBits, concurrency, range, ...rest } = options;
    this.range = range ?? { bits: 0, index: 0 };
    this.concurrency = Math.max(1, concurrency);
    this.maxBits = Math.max(0, Math.min(6, maxBits));
    this.fixedBits = bits;
    this.options = rest;
  }

  get stripeCount(): number {
    return this.stripes.length;
  }

  private build(bits: number): void {
    const r = this.range;
    this.stripes = Array.from(
      { length: 2 ** bits },
      (_, index) =>
        new KeyspaceStrategy({
          ...(bits > 0 ? { localShare: STRIPED_LOCAL_SHARE, sizeEstimate: () => this.liveEstimate(), fineTargets: true } : {}),
          ...this.options,
          ...(r.bits + bits > 0 ? { stripe: { bits: r.bits + bits, index: r.index * 2 ** bits + index } } : {}),
        }),
    );
    this.busy = this.stripes.map(() => 0);
  }

  /**
   * Live nodes in the network from every stripe's evidence: one stripe's seed lookup or first
   * answers misjudge the size by tens of percent, and with it the regions' size and which are thin.
   */
  private liveEstimate(): number {
    // asked for at every step of every cursor: worked out again every ESTIMATE_EVERY asks
    if (this.estimateAsks++ % ESTIMATE_EVERY === 0) {
      this.estimate = estimateFrom(
        this.stripes.map((s) => s.sizeEvidence()),
        2 ** -(this.range.bits + Math.log2(this.stripes.length)),
      );
    }
    return this.estimate;
  }

  async seed(ctx: StrategyContext): Promise<void> {
    let first: CrawlNode[] | undefined;
    if (this.stripes.length === 0) {
      let bits = this.fixedBits;
      if (bits === undefined) {
        // the size of the network bounds the stripes: a lookup of the keyspace's start (where
        // the first stripe's cursor starts, so it serves as its seed too) tells
        const start = rangeStart(this.range);
        first = [];
        try {
          first = await ctx.lookup(start);
        } catch (err) {
          ctx.log(`keyspace: seed lookup failed: ${(err as Error).message}`);
        }
        // live nodes in the range walked
        const live = sizeFromClosest(start, first) / 2 ** this.range.bits;
        bits = 0;
        while (bits < this.maxBits && this.range.bits + bits < 16 && live / 2 ** (bits + 1) >= STRIPE_MIN_LIVE) bits++;
      }
      this.build(bits);
    }
    await Promise.all(this.stripes.map((s, i) => s.seed(ctx, i === 0 ? first : undefined)));
  }

  next(ctx: StrategyContext): NextResult {
    const n = this.stripes.length;
    if (n === 0) return { wait: true, retryAt: ctx.now() + 100 };
    if (n === 1) return this.take(0, this.stripes[0].next(ctx));
    // a fair share of the slots: what is busy plus what is free, split evenly
    const total = ctx.slots() + this.busy.reduce((a, b) => a + b, 0);
    const share = Math.max(8, Math.ceil(Math.min(total, this.concurrency) / n));
    let retryAt = Infinity;
    let waiting = false;
    for (let k = 0; k < n; k++) {
      const i = (this.turn + k) % n;
      if (this.busy[i] >= share) {
        waiting = true;
        continue;
      }
      const r = this.stripes[i].next(ctx);
      if ('task' in r) {
        this.turn = (i + 1) % n;
        return this.take(i, r);
      }
      if ('wait' in r) {
        waiting = true;
        if (r.retryAt !== undefined) retryAt = Math.min(retryAt, r.retryAt);
      }
    }
    if (!waiting) return { done: true };
    return Number.isFinite(retryAt) ? { wait: true, retryAt } : { wait: true };
  }

  private take(i: number, r: NextResult): NextResult {
    if ('task' in r) {
      this.owner.set(r.task, i);
      this.busy[i]++;
    }
    return r;
  }

  onReply(task: CrawlTask, reply: TaskReply, ctx: StrategyContext): void {
    const i = this.release(task);
    if (i < 0) return;
    if (this.stripes.length === 1) return this.stripes[0].onReply(task, reply, ctx);
    const own: NodeInfo[] = [];
    const others: NodeInfo[][] = this.stripes.map(() => []);
    for (const c of reply.nodes) {
      const s = c.id && c.id.length === 20 ? this.stripeOf(c.id) : i;
      (s === i ? own : others[s]).push(c);
    }
    this.stripes[i].onReply(task, { ...reply, nodes: own }, ctx);
    for (let s = 0; s < others.length; s++) if (others[s].length > 0) this.stripes[s].addContacts(others[s]);
  }

  onFailure(task: CrawlTask, failure: TaskFailure, ctx: StrategyContext): void {
    const i = this.release(task);
    if (i >= 0) this.stripes[i].onFailure(task, failure, ctx);
  }

  onStall(task: CrawlTask, ctx: StrategyContext): void {
    const i = this.owner.get(task);
    if (i === undefined) return;
    this.busy[i]--;
    this.owner.set(task, -1 - i); // stalled: holds no slot, still the stripe's
    this.stripes[i].onStall(task, ctx);
  }

  /** The task's stripe, its slot given back (unless it stalled before); -1 if unknown. */
  private release(task: CrawlTask): number {
    const tagged = this.owner.get(task);
    if (tagged === undefined) return -1;
    this.owner.delete(task);
    if (tagged >= 0) {
      this.busy[tagged]--;
      return tagged;
    }
    return -1 - tagged;
  }

  private stripeOf(id: Uint8Array): number {
    const bits = Math.log2(this.stripes.length);
    return id[0] >> (8 - bits); // at most 6 bits: the first byte holds them
  }

  progress(): number {
    if (this.stripes.length === 0) return 0;
    return this.stripes.reduce((a, s) => a + s.progress(), 0) / this.stripes.length;
  }

  /** Once every stripe is swept: the re-samples they all wait for. */
  waitingFor(): StrategyWait | null {
    if (this.stripes.length === 0 || this.stripes.some((s) => s.progress() < 1)) return null;
    let nodes = 0;
    let next: number | null = null;
    for (const s of this.stripes) {
      const w = s.waitingFor();
      if (!w) continue;
      nodes += w.nodes;
      if (w.next_at !== null) next = next === null ? w.next_at : Math.min(next, w.next_at);
    }
    return nodes > 0 ? { reason: 'bep51_interval', nodes, next_at: next } : null;
  }

  memoryBytes(): number {
    return this.stripes.reduce((a, s) => a + s.memoryBytes(), 0);
  }

  get visited(): number {
    return this.stripes.reduce((a, s) => a + s.visited, 0);
  }

  get fillProbes(): number {
    return this.stripes.reduce((a, s) => a + s.fillProbes, 0);
  }

  get candidates(): number {
    return this.stripes.reduce((a, s) => a + s.candidates, 0);
  }

  /** One stripe saves as the plain keyspace walk does (v 1); several as v 2, a state each. */
  saveState(): unknown {
    if (this.stripes.length === 0) return undefined;
    if (this.stripes.length === 1) return this.stripes[0].saveState();
    return { v: 2, stripes: this.stripes.map((s) => s.saveState()) };
  }

  /** Continues with as many stripes as the saved state has. */
  restoreState(state: unknown, ctx: StrategyContext): boolean {
    const s = state as { v?: unknown; stripes?: unknown } | null;
    if (s && s.v === 2) {
      const n = Array.isArray(s.stripes) ? s.stripes.length : 0;
      const bits = Math.log2(n);
      if (!(Number.isInteger(bits) && bits >= 1 && bits <= 6)) return false;
      this.build(bits);
      if (this.stripes.every((stripe, i) => stripe.restoreState((s.stripes as unknown[])[i], ctx))) return true;
      this.stripes = [];
      return false;
    }
    this.build(0);
    if (this.stripes[0].restoreState(state, ctx)) return true;
    this.stripes = [];
    return false;
  }
}
