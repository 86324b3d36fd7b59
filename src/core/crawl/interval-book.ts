// BEP 51 intervals: when each sampled endpoint may be sampled again (the interval it asked for,
// or --min-interval in its place).
import { EndpointMap } from './compact-sets.js';

export class IntervalBook {
  /** Endpoint → clock second from which it may be sampled again (the map's extra). */
  private readonly at = new EndpointMap(1024);

  /** A sample came back at `nowMs` asking for `waitS` seconds (0: at once). */
  note(host: string, port: number, nowMs: number, waitS: number): void {
    // whole seconds, rounded up: never early
    this.at.set(host, port, 1, waitS > 0 ? Math.ceil(nowMs / 1000 + waitS) : 0);
  }

  /** Engine clock ms from which the endpoint may be sampled (0 for one never sampled). */
  allowedAt(host: string, port: number): number {
    return this.at.extraOf(host, port) * 1000;
  }

  get bytes(): number {
    return this.at.bytes;
  }
}
