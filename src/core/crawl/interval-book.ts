// BEP 51 intervals: when each sampled endpoint may be sampled again (the interval it asked for,
// or --min-interval in its place). Kept in the extra bits of the endpoint book's map (one map
// per endpoint, not two: the crawl's state is mostly these maps).
import { parseEndpoint } from '../net/address.js';
import type { SampleDue } from '../store/types.js';
import type { EndpointMap } from './compact-sets.js';

export class IntervalBook {
  /** @param at the endpoint book's map: its extra is the clock second from which the endpoint may be sampled again */
  constructor(private readonly at: EndpointMap) {}

  /** A sample came back at `nowMs` asking for `waitS` seconds (0: at once). */
  note(host: string, port: number, nowMs: number, waitS: number): void {
    // whole seconds, rounded up: never early
    this.at.addBits(host, port, 0);
    this.at.setExtra(host, port, waitS > 0 ? Math.ceil(nowMs / 1000 + waitS) : 0);
  }

  /**
   * Samples other crawlers took (under leases, from the database): `dueAt` is wall ms, turned into
   * engine-clock seconds and rounded up as for our own samples, so never early.
   */
  seed(due: readonly SampleDue[], nowMs: number, wallNowMs: number): void {
    for (const d of due) {
      const at = parseEndpoint(d.addr);
      if (!at.ok) continue;
      this.at.addBits(at.value.host, at.value.port, 0);
      this.at.setExtra(at.value.host, at.value.port, Math.max(0, Math.ceil((nowMs + d.dueAt - wallNowMs) / 1000)));
    }
  }

  /** Engine clock ms from which the endpoint may be sampled (0 for one never sampled). */
  allowedAt(host: string, port: number): number {
    return this.at.extraOf(host, port) * 1000;
  }
}
