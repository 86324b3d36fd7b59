// Many crawlers, one database: the keyspace of a pass is split into 2^bits ranges; this crawler
// claims one with a lease (store.claimRange: SKIP LOCKED on PostgreSQL), walks it with its
// strategy under a checkpoint key of its own, renews the lease while it works, marks the range
// done and claims the next. It walks several ranges at once (rangesAtOnce): one range's walk is
// bound by round trips, so one at a time would leave most of the rate unused. A crawler that dies stops renewing; once its lease expires another
// claims the range and resumes it from its last checkpoint. A pass ends when every range is done;
// with a pass interval the crawler then waits and starts the next one.
//
// Lease times come from the injected clock (`now`), so a simulated network on virtual time works.
import { setMaxListeners } from 'node:events';
import type { Crawl } from './create-crawl.js';
import type { KeyRange } from './strategy.js';
import type { CrawlSummary } from './types.js';
import type { InfohashStore, LeaseClaim, SampleDue } from '../store/types.js';
import { rangeEnd, rangeStart } from './key-range.js';

export interface LeasedCrawlOptions {
  store: InfohashStore;
  /** This crawler's name in the lease table (host and process, say). */
  owner: string;
  /** The strategy's name, part of each range's checkpoint key. */
  strategy: string;
  /** Ranges of a new pass: a power of two. */
  ranges: number;
  /** How long a lease holds without renewal (it is renewed every third of that). */
  leaseMs: number;
  /** Wait this long after a pass before starting the next; undefined: stop after one pass. */
  passIntervalMs?: number;
  /** Clock ms (Unix ms on a real network; the testnet's wall clock on virtual time). */
  now(): number;
  /** Waits on the same clock. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /**
   * A crawl of one range; its traversal is saved and resumed under `stateKey`. `sampleDue`
   * (with sharedIntervals): the range's nodes other crawlers sampled within their interval.
   */
  crawlRange(range: KeyRange, stateKey: string, claim: LeaseClaim, sampleDue?: readonly SampleDue[]): Crawl;
  /** Ranges walked at once, each by a slot of its own (default 1; rangesAtOnce() for a concurrency). */
  rangesAtOnce?: number;
  /** Read the BEP 51 intervals recorded in the database when a range starts (store.sampleDueTimes). */
  sharedIntervals?: boolean;
  signal?: AbortSignal;
  log?(text: string): void;
  /** After each range, with its crawl's summary. */
  onRange?(claim: LeaseClaim, summary: CrawlSummary, finished: boolean): void;
}

export interface LeasedCrawlResult {
  passes: number[];
  /** Ranges this crawler finished, and ranges it took over from a crawler that stopped renewing. */
  rangesDone: number;
  rangesTakenOver: number;
  /** Why it ended: every range of the pass done, stopped (signal, a limit), or a lost lease. */
  end: 'pass_done' | 'stopped' | 'lease_lost';
  summaries: CrawlSummary[];
}

function stateKeyOf(strategy: string, pass: number, range: number): string {
  return `crawl:${strategy}:pass:${pass}:range:${range}`;
}

/**
 * Query slots per range walked at once: a range is a small part of the keyspace, and one walk of
 * it is bound by round trips, not by the rate; the striped keyspace walk found 32 slots per cursor
 * best (keyspace-stripes.ts), so a crawler walks one range per 32 slots of its concurrency.
 */
export const SLOTS_PER_RANGE = 32;
/** How often a walk is checked for a sweep that is done (clock ms). */
const SWEEP_POLL_MS = 5000;
/** A walk in which no node answered is tried again this many times, after a growing wait. */
const EMPTY_WALK_RETRIES = 3;
const EMPTY_WALK_BACKOFF_MS = 5_000;
/** Ranges one crawler walks at once, at most. */
export const MAX_RANGES_AT_ONCE = 16;

/**
 * Ranges a crawler with this concurrency walks at once (1 to MAX_RANGES_AT_ONCE), and at most a
 * sixteenth of the pass's ranges, so crawlers joining a pass find ranges left to claim.
 */
export function rangesAtOnce(concurrency: number, ranges: number): number {
  return Math.max(1, Math.min(MAX_RANGES_AT_ONCE, Math.floor(concurrency / SLOTS_PER_RANGE), Math.floor(ranges / 16)));
}

/**
 * A crawler's concurrency and rate split between the ranges it walks at once (the rate limiter
 * of its Krpc engine still holds the whole crawler to its rate; the share sizes each window).
 */
export function rangeShares(concurrency: number, ratePerSec: number, ranges: number): { rangesAtOnce: number; concurrency: number; ratePerSec: number } {
  const k = rangesAtOnce(concurrency, ranges);
  return { rangesAtOnce: k, concurrency: Math.ceil(concurrency / k), ratePerSec: ratePerSec / k };
}

type End = LeasedCrawlResult['end'];

export async function runLeasedCrawl(o: LeasedCrawlOptions): Promise<LeasedCrawlResult> {
  // a lost lease or a range stopped (a limit) ends the whole crawler: its other ranges are
  // stopped and handed back
  const ending = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, ending.signal]) : ending.signal;
  // every slot's waits listen to it, several at a time: not the leak Node warns of past 10
  setMaxListeners(4 * MAX_RANGES_AT_ONCE + 8, signal);
  const result: LeasedCrawlResult = { passes: [], rangesDone: 0, rangesTakenOver: 0, end: 'stopped', summaries: [] };
  const renewEvery = Math.max(100, Math.floor(o.leaseMs / 3));
  const walking = new Set<Crawl>();
  /** Walks of a range in which no node answered, by "pass:range". */
  const emptyWalks = new Map<string, number>();
  /** Walks that only wait for intervals, their slots moved on. */
  const waiting = new Set<Promise<End | null>>();
  const stopWalks = (): void => {
    for (const c of walking) c.stop();
  };
  signal.addEventListener('abort', stopWalks, { once: true });

  // One slot: claims a range, walks it, claims the next, until the pass is done.
  const slot = async (): Promise<End> => {
    while (!signal.aborted) {
      // A crawler starting joins the pass under way, or starts one if the last is done; once it has
      // worked in a pass it starts the next only after the pass interval (never, without one).
      const interval = result.passes.length === 0 ? 0 : (o.passIntervalMs ?? Infinity);
      const pass = await o.store.currentPass(o.ranges, interval, o.now());
      if (!pass) {
        // the last pass is done and the next is not due yet
        if (o.passIntervalMs === undefined) return 'pass_done';
        await o.sleep(Math.min(60_000, Math.max(1000, renewEvery)), signal);
        continue;
      }
      if (!result.passes.includes(pass.pass)) result.passes.push(pass.pass);
      const claim = await o.store.claimRange(o.owner, pass.pass, o.leaseMs, o.now());
      if (!claim) {
        const status = await o.store.passStatus(pass.pass);
        if (status && status.done >= status.ranges) {
          if (o.passIntervalMs === undefined) return 'pass_done';
          continue; // currentPass() starts the next one when it is due
        }
        // every range is held: wait for them to finish, or for a lease to run out
        await o.sleep(renewEvery, signal);
        continue;
      }
      const w = walk(claim);
      // A range whose sweep is done and that only waits for BEP 51 intervals (re-samples) goes
      // on under its lease without its slot, which claims the next range meanwhile.
      if ((await Promise.race([w.end.then(() => 'ended' as const), w.swept.then(() => 'swept' as const)])) === 'swept') {
        waiting.add(w.end);
        void w.end.then(() => waiting.delete(w.end));
        continue;
      }
      const end = await w.end;
      if (end) return end;
    }
    return 'stopped';
  };

  // Walks a claimed range under its lease: `end`, an end for the crawler or null to claim the
  // next; `swept`, settled once the walk only waits for intervals (never, if it ends first).
  const walk = (claim: LeaseClaim): { end: Promise<End | null>; swept: Promise<void> } => {
    let markSwept = (): void => undefined;
    const swept = new Promise<void>((resolve) => (markSwept = resolve));
    return { end: walkRange(claim, markSwept), swept };
  };

  const walkRange = async (claim: LeaseClaim, markSwept: () => void): Promise<End | null> => {
    if (claim.takenOver) result.rangesTakenOver++;
    const bits = Math.log2(claim.ranges);
    const range: KeyRange = { bits, index: claim.range };
    o.log?.(`crawl: pass ${claim.pass}, range ${claim.range + 1} of ${claim.ranges}${claim.takenOver ? ' (taken over from a crawler that stopped)' : ''}`);
    const sampleDue = o.sharedIntervals ? await o.store.sampleDueTimes(rangeStart(range), rangeEnd(range), o.now()) : undefined;
    const crawl = o.crawlRange(range, stateKeyOf(o.strategy, claim.pass, claim.range), claim, sampleDue);
    walking.add(crawl);
    if (signal.aborted) crawl.stop();
    let lost = false;
    let done = false;
    const beat = new AbortController();
    const heartbeat = async (): Promise<void> => {
      while (!done) {
        await o.sleep(renewEvery, beat.signal);
        if (done) return;
        let ok = false;
        try {
          ok = await o.store.renewLease(o.owner, claim.pass, claim.range, o.leaseMs, o.now());
        } catch {
          ok = false; // the database is gone: the crawl's own writes fail and end it
        }
        if (!ok) {
          lost = true;
          crawl.stop();
          return;
        }
      }
    };
    const beating = heartbeat().catch(() => undefined);
    const watching = (async (): Promise<void> => {
      while (!done) {
        await o.sleep(SWEEP_POLL_MS, beat.signal);
        if (!done && crawl.stats().waiting !== null) return markSwept();
      }
    })().catch(() => undefined);
    let summary: CrawlSummary;
    try {
      summary = await crawl.run();
    } finally {
      done = true;
      walking.delete(crawl);
      beat.abort();
      await beating;
      await watching;
    }
    result.summaries.push(summary);
    const finished = summary.stopped_by === 'done' && !lost;
    o.onRange?.(claim, summary, finished);
    if (lost) {
      ending.abort();
      return 'lease_lost';
    }
    if (!finished) {
      ending.abort();
      // stopped (a signal, a limit, a lost lease elsewhere): the checkpoint stays, the range goes
      // back for another to resume
      await o.store.releaseRange(o.owner, claim.pass, claim.range);
      return 'stopped';
    }
    const key = `${claim.pass}:${claim.range}`;
    const empties = emptyWalks.get(key) ?? 0;
    if (summary.nodes_answered === 0 && !summary.resumed && empties < EMPTY_WALK_RETRIES) {
      // Nothing answered in a fresh walk: the seed lookup failed (the first nodes it asks are
      // rate-limited per node while other walks of ours ask them too), so the range is not known
      // to be walked. (A walk resumed from a checkpoint may have had nothing left to ask.)
      // It goes back and we wait; a range that stays empty is done after a few tries.
      emptyWalks.set(key, empties + 1);
      await o.store.releaseRange(o.owner, claim.pass, claim.range);
      await o.sleep(EMPTY_WALK_BACKOFF_MS * (empties + 1), signal);
      return null;
    }
    await o.store.finishRange(o.owner, claim.pass, claim.range, o.now());
    result.rangesDone++;
    return null;
  };

  try {
    const ends: (End | null)[] = await Promise.all(Array.from({ length: Math.max(1, o.rangesAtOnce ?? 1) }, slot));
    while (waiting.size > 0) ends.push(...(await Promise.all([...waiting])));
    result.end = ends.includes('lease_lost') ? 'lease_lost' : ends.includes('stopped') ? 'stopped' : 'pass_done';
    return result;
  } finally {
    signal.removeEventListener('abort', stopWalks);
  }
}

/** Adds up counter tables (clients, failures, sanitizer counts) key by key. */
function sumCounts<K extends string>(tables: readonly Partial<Record<K, number>>[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const t of tables) for (const [k, v] of Object.entries(t) as [K, number][]) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * One summary for the ranges this crawler walked: counts and counter tables summed; figures of a
 * moment (progress, in flight, memory, pacing, waiting) from the last range. `list` is not empty.
 */
export function sumRangeSummaries(list: readonly CrawlSummary[], end: LeasedCrawlResult['end']): CrawlSummary {
  const last = list[list.length - 1];
  const sum = (f: (s: CrawlSummary) => number): number => list.reduce((n, s) => n + f(s), 0);
  const newOnes = list.every((s) => s.new_infohashes !== null) ? sum((s) => s.new_infohashes ?? 0) : null;
  const queries = sum((s) => s.queries_sent);
  // bep51_rate: each range's share weighted by the nodes that answered in it
  const rated = list.filter((s) => s.bep51_rate !== null);
  const answered = rated.reduce((n, s) => n + s.nodes_answered, 0);
  const bep51Rate = rated.length === 0 ? null
    : answered === 0 ? rated[rated.length - 1].bep51_rate
    : rated.reduce((n, s) => n + (s.bep51_rate ?? 0) * s.nodes_answered, 0) / answered;
  return {
    ...last,
    nodes_seen: sum((s) => s.nodes_seen),
    nodes_queried: sum((s) => s.nodes_queried),
    nodes_answered: sum((s) => s.nodes_answered),
    nodes_answered_sample: sum((s) => s.nodes_answered_sample),
    bep51_rate: bep51Rate,
    clients: sumCounts(list.map((s) => s.clients)),
    failures: sumCounts(list.map((s) => s.failures)),
    sanitizer: sumCounts(list.map((s) => s.sanitizer)),
    interval_skips: sum((s) => s.interval_skips),
    unique_infohashes: sum((s) => s.unique_infohashes),
    new_infohashes: newOnes,
    queries_sent: queries,
    queries_per_new_infohash: newOnes ? queries / newOnes : null,
    duration_ms: sum((s) => s.duration_ms),
    stopped_by: end === 'pass_done' ? 'done' : last.stopped_by,
  };
}
