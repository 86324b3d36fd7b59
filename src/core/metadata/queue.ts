// crawl --metadata: fetches metadata for the infohashes of the crawl database while the crawl
// runs, a bounded number at a time. The queue is the database itself (every infohash without a
// torrent row is pending, metadata_queue holds attempts and retry times), so a killed run loses
// nothing and the next one carries on. Each result is committed before it is reported.
import type { TorrentStore } from '../store/types.js';
import type { MetadataResult } from './fetcher.js';
import { torrentRecord } from './torrent-record.js';

export type MetadataQueueStore = Pick<TorrentStore, 'dueMetadata' | 'saveTorrent' | 'metadataFailed' | 'metadataCounts'>;

export interface MetadataQueueOptions {
  store: MetadataQueueStore;
  fetch: (infohash: Uint8Array, signal: AbortSignal) => Promise<MetadataResult>;
  /** Fetches at once. */
  concurrency: number;
  /** How often the database is looked at for new infohashes while idle. */
  pollMs?: number;
  /** Delay before a failed infohash is tried again (default 10 min). */
  retryMs?: number;
  /** Attempts before an infohash is marked failed. */
  maxAttempts?: number;
  /** After each result is committed. */
  onResult?: (r: MetadataResult) => void;
  now?: () => number;
}

export interface QueueTally {
  fetched: number;
  failed: number;
}

export class MetadataQueue {
  readonly tally: QueueTally = { fetched: 0, failed: 0 };
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly ctrl = new AbortController();
  private draining = false;
  private wake: () => void = () => undefined;
  private loopDone: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(private readonly opts: MetadataQueueOptions) {}

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Ends the run: the fetches due now are done (each bounded by its deadlines), then it stops. */
  async finish(): Promise<void> {
    this.draining = true;
    this.wake();
    await this.loopDone;
    if (this.failure) throw this.failure;
  }

  /** Stops at once: fetches in flight are cut short and not recorded. */
  async abort(): Promise<void> {
    this.ctrl.abort();
    this.wake();
    await this.loopDone;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private async loop(): Promise<void> {
    const pollMs = this.opts.pollMs ?? 1000;
    while (!this.ctrl.signal.aborted) {
      let started = 0;
      try {
        started = await this.fill();
      } catch (err) {
        // a database that cannot be read ends the queue (the crawl reports it)
        this.failure ??= err;
        this.ctrl.abort();
        break;
      }
      if (this.draining && started === 0 && this.inflight.size === 0) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, started > 0 ? 0 : pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    await Promise.allSettled(this.inflight.values());
  }

  /** Starts fetches for due infohashes while slots are free; returns how many it started. */
  private async fill(): Promise<number> {
    const free = this.opts.concurrency - this.inflight.size;
    if (free <= 0 || this.failure) return 0;
    let started = 0;
    for (const ih of await this.opts.store.dueMetadata(this.now(), free + this.inflight.size)) {
      const key = Buffer.from(ih).toString('hex');
      if (this.inflight.has(key)) continue;
      if (started === free) break;
      started++;
      const job = this.opts
        .fetch(ih, this.ctrl.signal)
        .then((r) => this.record(r))
        .catch((err: unknown) => {
          // a database that cannot be written ends the queue (the crawl reports it)
          this.failure ??= err;
          this.ctrl.abort();
        })
        .finally(() => {
          this.inflight.delete(key);
          this.wake();
        });
      this.inflight.set(key, job);
    }
    return started;
  }

  private async record(r: MetadataResult): Promise<void> {
    if (r.aborted || this.ctrl.signal.aborted) return;
    const now = this.now();
    if (r.ok) {
      await this.opts.store.saveTorrent(torrentRecord(r, now));
      this.tally.fetched++;
    } else {
      const maxAttempts = this.opts.maxAttempts ?? 3;
      const retryMs = this.opts.retryMs ?? 600_000;
      await this.opts.store.metadataFailed(r.infohash, r.error ?? 'failed', now, now + retryMs, maxAttempts);
      this.tally.failed++;
    }
    this.opts.onResult?.(r);
  }
}
