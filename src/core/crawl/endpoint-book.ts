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

export class EndpointBook {
  /** Endpoints with each bit (first sightings). */
  readonly counts = { seen: 0, queried: 0, answered: 0, answeredSampleAny: 0, sampleOk: 0 };
  private readonly bits = new EndpointMap(4096);

  /** Marks bits for an endpoint; returns the bits it had before. Counts first sightings. */
  mark(host: string, port: number, bits: number): number {
    const before = this.bits.get(host, port);
    const after = before | bits;
    if (after === before) return before;
    this.bits.set(host, port, after);
    const added = after & ~before;
    if (added & SEEN) this.counts.seen++;
    if (added & QUERIED) this.counts.queried++;
    if (added & ANSWERED) this.counts.answered++;
    if (added & ANSWERED_SAMPLE_ANY) this.counts.answeredSampleAny++;
    if (added & SAMPLE_OK) this.counts.sampleOk++;
    return before;
  }

  get bytes(): number {
    return this.bits.bytes;
  }
}
