// Filling a routing table the way a fresh node does: a lookup for our own id (BEP 5 start-up),
// then rounds of lookups for random ids inside every bucket that still has room, until the
// table stops growing, holds enough nodes, or time runs out. Bounded in lookups and in time.
import type { DhtClient } from './dht-client.js';
import type { LookupResult } from './lookup.js';
import { mapConcurrent } from '../util/pool.js';

/** Why the fill stopped; `empty` = nobody answered, so there is nothing to refresh from. */
export type FillEnd = 'min_nodes' | 'converged' | 'deadline' | 'max_lookups' | 'aborted' | 'empty';

export interface FillOptions {
  /** Hard cap on the whole fill. */
  durationMs: number;
  /** Stop as soon as the table holds this many live nodes (0 = no such stop). */
  minNodes?: number;
  /** Lookups run at the same time; default 3. */
  parallel?: number;
  /** Lookups in total, the start-up one included; default 200. */
  maxLookups?: number;
  /** Rounds in a row without growth before the table counts as full; default 1. */
  idleRounds?: number;
  /** Per-lookup query cap; default 100 (a refresh needs far fewer than a search). */
  maxQueriesPerLookup?: number;
  signal?: AbortSignal;
  /** Called after every lookup (progress display). */
  onLookup?: (done: number, tableSize: number) => void;
}

export interface FillResult {
  end: FillEnd;
  lookups: number;
  queries: number;
  replies: number;
  rounds: number;
  ms: number;
  /** Nodes that answered the start-up lookup (0 means the bootstrap contacts were useless). */
  bootstrapReplies: number;
}

export async function fillTable(node: DhtClient, opts: FillOptions): Promise<FillResult> {
  const { clock, table } = node;
  const started = clock.now();
  const deadline = started + opts.durationMs;
  const minNodes = opts.minNodes ?? 0;
  const parallel = Math.max(1, opts.parallel ?? 3);
  const maxLookups = Math.max(1, opts.maxLookups ?? 200);
  const idleRounds = Math.max(1, opts.idleRounds ?? 1);
  const maxQueries = opts.maxQueriesPerLookup ?? 100;
  const result: FillResult = { end: 'converged', lookups: 0, queries: 0, replies: 0, rounds: 0, ms: 0, bootstrapReplies: 0 };

  const stopReason = (): FillEnd | null => {
    if (opts.signal?.aborted) return 'aborted';
    if (minNodes > 0 && table.size >= minNodes) return 'min_nodes';
    if (clock.now() >= deadline) return 'deadline';
    if (result.lookups >= maxLookups) return 'max_lookups';
    return null;
  };
  const count = (r: LookupResult): void => {
    result.lookups++;
    result.queries += r.stats.queries;
    result.replies += r.stats.replies;
    opts.onLookup?.(result.lookups, table.size);
  };
  const lookup = (target: Uint8Array): Promise<LookupResult> =>
    node.findNode(target, {
      deadlineMs: Math.max(1, deadline - clock.now()),
      maxQueries,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });

  const first = await lookup(table.id);
  count(first);
  result.bootstrapReplies = first.stats.replies;

  let idle = 0;
  for (;;) {
    const reason = stopReason();
    if (reason) {
      result.end = reason;
      break;
    }
    if (table.size === 0) {
      result.end = 'empty';
      break;
    }
    const before = table.size;
    const bucketsBefore = table.bucketCount;
    // Every bucket with room gets one lookup for a random id in its range; the home bucket
    // also catches the nodes closest to us.
    const targets: Array<{ index: number; target: Uint8Array }> = [];
    for (const b of table.bucketViews()) {
      if (b.entries.length < table.k) targets.push({ index: b.index, target: table.randomTargetIn(b.index) });
    }
    if (targets.length === 0) break; // every bucket is full
    result.rounds++;
    // the pool pulls a target only when a slot is free, so a stop ends the round between lookups
    const untilStop = function* () {
      for (const t of targets) {
        if (stopReason() !== null) return;
        yield t;
      }
    };
    const refreshes = mapConcurrent(untilStop(), parallel, async (t) => ({ index: t.index, r: await lookup(t.target) }));
    for await (const { index, r } of refreshes) {
      count(r);
      table.markRefreshed(Math.min(index, table.bucketCount - 1));
    }
    const grew = table.size > before || table.bucketCount > bucketsBefore;
    idle = grew ? 0 : idle + 1;
    if (idle >= idleRounds) {
      result.end = stopReason() ?? 'converged';
      break;
    }
  }
  result.ms = clock.now() - started;
  return result;
}
