// The keyspace walk at high concurrency: the keyspace cut into 2^bits stripes, each walked by
// its own KeyspaceStrategy cursor, side by side. One cursor moves a region at a time and waits
// at thin regions for the probes that complete them; with hundreds of query slots it either
// leaves most slots idle or (visiting far ahead of itself) loses the nodes that only its probes
// find. Several cursors keep each one's lead small and all the slots busy.
//
// Each stripe gets an equal share of the free slots (at least 8): a stripe held up at a thin
// region cannot take the slots of the others, nor they its. Contacts in any reply go to the
// stripe they lie in. With one stripe this is the plain keyspace walk.
import type { NodeInfo } from '../wire/types.js';
import { KeyspaceStrategy, type KeyspaceOptions } from './keyspace.js';
import type { CrawlTask, NextResult, Strategy, StrategyContext, TaskFailure, TaskReply } from './strategy.js';

/** Query slots per stripe the default aims at (the keyspace walk's sweet spot in the bench). */
export const SLOTS_PER_STRIPE = 32;

/** Stripe bits for a concurrency bound: about SLOTS_PER_STRIPE slots each, at most 64 stripes. */
export function stripeBitsFor(concurrency: number): number {
  let bits = 0;
  while (bits < 6 && concurrency / 2 ** (bits + 1) >= SLOTS_PER_STRIPE) bits++;
  return bits;
}

export class StripedKeyspace implements Strategy {
  readonly name = 'keyspace';
  private readonly stripes: KeyspaceStrategy[];
  private readonly owner = new WeakMap<CrawlTask, number>();
  /** Tasks holding a slot, per stripe (stalled ones no longer do). */
  private readonly busy: number[];
  private readonly concurrency: number;
  private turn = 0;

  constructor(options: KeyspaceOptions & { bits: number; concurrency: number }) {
    const { bits, concurrency, ...rest } = options;
    this.concurrency = Math.max(1, concurrency);
    this.stripes = Array.from({ length: 2 ** bits }, (_, index) => new KeyspaceStrategy({ ...rest, stripe: { bits, index } }));
    this.busy = this.stripes.map(() => 0);
  }

  get stripeCount(): number {
    return this.stripes.length;
  }

  async seed(ctx: StrategyContext): Promise<void> {
    await Promise.all(this.stripes.map((s) => s.seed(ctx)));
  }

  next(ctx: StrategyContext): NextResult {
    const n = this.stripes.length;
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
    return this.stripes.reduce((a, s) => a + s.progress(), 0) / this.stripes.length;
  }

  memoryBytes(): number {
    return this.stripes.reduce((a, s) => a + s.memoryBytes(), 0);
  }

  get visited(): number {
    return this.stripes.reduce((a, s) => a + s.visited, 0);
  }

  get candidates(): number {
    return this.stripes.reduce((a, s) => a + s.candidates, 0);
  }

  saveState(): unknown {
    if (this.stripes.length === 1) return this.stripes[0].saveState();
    return { v: 2, stripes: this.stripes.map((s) => s.saveState()) };
  }

  restoreState(state: unknown, ctx: StrategyContext): boolean {
    if (this.stripes.length === 1) return this.stripes[0].restoreState(state, ctx);
    const s = state as { v?: unknown; stripes?: unknown } | null;
    // a state saved with another number of stripes (another --concurrency) is not usable
    if (!s || s.v !== 2 || !Array.isArray(s.stripes) || s.stripes.length !== this.stripes.length) return false;
    return this.stripes.every((stripe, i) => stripe.restoreState((s.stripes as unknown[])[i], ctx));
  }
}
