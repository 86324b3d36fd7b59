// Many crawlers, one database: the keyspace of a pass is split into 2^bits ranges; this crawler
// claims one with a lease (store.claimRange: SKIP LOCKED on PostgreSQL), walks it with its
// strategy under a checkpoint key of its own, renews the lease while it works, marks the range
// done and claims the next. A crawler that dies stops renewing; once its lease expires another
// claims the range and resumes it from its last checkpoint. A pass ends when every range is done;
// with a pass interval the crawler then waits and starts the next one.
//
// Lease times come from the injected clock (`now`), so a simulated network on virtual time works.
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

export function stateKeyOf(strategy: string, pass: number, range: number): string {
  return `crawl:${strategy}:pass:${pass}:range:${range}`;
}

export async function runLeasedCrawl(o: LeasedCrawlOptions): Promise<LeasedCrawlResult> {
  const signal = o.signal ?? new AbortController().signal;
  const result: LeasedCrawlResult = { passes: [], rangesDone: 0, rangesTakenOver: 0, end: 'stopped', summaries: [] };
  const renewEvery = Math.max(100, Math.floor(o.leaseMs / 3));
  while (!signal.aborted) {
    // A crawler starting joins the pass under way, or starts one if the last is done; once it has
    // worked in a pass it starts the next only after the pass interval (never, without one).
    const interval = result.passes.length === 0 ? 0 : (o.passIntervalMs ?? Infinity);
    const pass = await o.store.currentPass(o.ranges, interval, o.now());
    if (!pass) {
      // the last pass is done and the next is not due yet
      if (o.passIntervalMs === undefined) {
        result.end = 'pass_done';
        return result;
      }
      await o.sleep(Math.min(60_000, Math.max(1000, renewEvery)), signal);
      continue;
    }
    if (!result.passes.includes(pass.pass)) result.passes.push(pass.pass);
    const claim = await o.store.claimRange(o.owner, pass.pass, o.leaseMs, o.now());
    if (!claim) {
      const status = await o.store.passStatus(pass.pass);
      if (status && status.done >= status.ranges) {
        if (o.passIntervalMs === undefined) {
          result.end = 'pass_done';
          return result;
        }
        continue; // currentPass() starts the next one when it is due
      }
      // every range is held: wait for them to finish, or for a lease to run out
      await o.sleep(renewEvery, signal);
      continue;
    }
    if (claim.takenOver) result.rangesTakenOver++;
    const bits = Math.log2(claim.ranges);
    const range: KeyRange = { bits, index: claim.range };
    o.log?.(`crawl: pass ${claim.pass}, range ${claim.range + 1} of ${claim.ranges}${claim.takenOver ? ' (taken over from a crawler that stopped)' : ''}`);
    const sampleDue = o.sharedIntervals ? await o.store.sampleDueTimes(rangeStart(range), rangeEnd(range), o.now()) : undefined;
    const crawl = o.crawlRange(range, stateKeyOf(o.strategy, claim.pass, claim.range), claim, sampleDue);
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
    let summary: CrawlSummary;
    try {
      summary = await crawl.run();
    } finally {
      done = true;
      beat.abort();
      await beating;
    }
    result.summaries.push(summary);
    const finished = summary.stopped_by === 'done' && !lost;
    o.onRange?.(claim, summary, finished);
    if (lost) {
      result.end = 'lease_lost';
      return result;
    }
    if (!finished) {
      // stopped (a signal, a limit): the checkpoint stays, the range goes back for another to resume
      await o.store.releaseRange(o.owner, claim.pass, claim.range);
      result.end = 'stopped';
      return result;
    }
    await o.store.finishRange(o.owner, claim.pass, claim.range, o.now());
    result.rangesDone++;
  }
  return result;
}
