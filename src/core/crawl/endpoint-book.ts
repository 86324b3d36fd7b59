// What the crawl knows of each endpoint it met: seen, queried, answered, sampled. One bit set
// per endpoint, so each node counts once in the statistics however often it is met.
import { EndpointMap } from './compact-sets.js';

export const SEEN = 1;
export const QUERIED = 2;
export const ANSWERED = 4;
/** Answered a sample_infohashes at all (samples, nodes only, or error 204): bep51_rate's denominator. */
export const ANSWERED_SAMPLE_ANY = 8;
/** Answered a sample_infohashes properly. */
export const SAMPLE_OK = 16;
/** A query to it is on its way (late replies included): nothing else goes to it meanwhile. */
export const IN_FLIGHT = 32;

export class EndpointBook {
  /** Endpoints with each bit (first sightings). */
  readonly counts = { seen: 0, queried: 0, answered: 0, answeredSampleAny: 0, sampleOk: 0 };
  /** Endpoint → bits; its extra is the IntervalBook's. */
  readonly table = new EndpointMap(4096);

  /** Marks bits for an endpoint; returns the bits it had before. Counts first sightings. */
  mark(host: string, port: number, bits: number): number {
    const before = this.table.addBits(host, port, bits);
    const added = bits & ~before;
    if (added === 0) return before;
    if (added & SEEN) this.counts.seen++;
    if (added & QUERIED) this.counts.queried++;
    if (added & ANSWERED) this.counts.answered++;
    if (added & ANSWERED_SAMPLE_ANY) this.counts.answeredSampleAny++;
    if (added & SAMPLE_OK) this.counts.sampleOk++;
    return before;
  }

  inFlight(host: string, port: number): boolean {
    return (this.table.get(host, port) & IN_FLIGHT) !== 0;
  }

  settled(host: string, port: number): void {
    this.table.clearBits(host, port, IN_FLIGHT);
  }

  get bytes(): number {
    return this.table.bytes;
  }
}
