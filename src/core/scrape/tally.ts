// Adds up what the responders of one scrape said about a swarm (BEP 33): their seed and
// downloader filters are ORed, and peers seen only in plain `values` (nodes without BEP 33) are
// counted as downloaders in a filter of our own, unless the seed filter already holds their IP.
import { createHash } from 'node:crypto';
import { BLOOM_BITS, ScrapeBloom, bloomEstimate } from '../dht/bloom.js';
import { parseHostIp, unmapV4 } from '../wire/ip.js';

export interface SwarmEstimate {
  /** Estimated distinct seed IPs; Infinity when the merged filter is saturated. */
  seeders: number;
  /** Estimated distinct downloader IPs; Infinity when saturated. */
  leechers: number;
  /** Estimated distinct IPs in the swarm, seed or not (the union of both filters). */
  swarm: number;
  /** Responders that sent at least one filter. */
  nodesWithFilters: number;
}

export class ScrapeTally {
  readonly seeds = new ScrapeBloom();
  readonly downloaders = new ScrapeBloom();
  /** IPs from values-only replies; folded in at the end, once every seed filter is known. */
  private readonly unclassified = new Set<string>();
  private filterNodes = 0;
  private filterErrors = 0;

  /**
   * One responder's filters as received (BFsd — or mldht's BFse, which the wire layer reads into
   * BFsd — and BFpe). A filter of the wrong size is ignored; returns whether any filter was used.
   */
  addFilters(BFsd?: Uint8Array, BFpe?: Uint8Array): boolean {
    let used = false;
    for (const [bits, into] of [
      [BFsd, this.seeds],
      [BFpe, this.downloaders],
    ] as const) {
      if (!bits) continue;
      const f = ScrapeBloom.fromBytes(bits);
      if (!f.ok) {
        this.filterErrors++;
        continue;
      }
      into.union(f.value);
      used = true;
    }
    if (used) this.filterNodes++;
    return used;
  }

  /** Peer IPs from a responder that sent `values` but no filters. */
  addUnclassifiedPeers(hosts: Iterable<string>): void {
    for (const h of hosts) this.unclassified.add(h);
  }

  /** Filters that were not 256 bytes (ignored). */
  get badFilters(): number {
    return this.filterErrors;
  }

  estimate(): SwarmEstimate {
    const downloaders = new ScrapeBloom(this.downloaders.bits);
    for (const host of this.unclassified) {
      const ip = parseHostIp(host);
      if (!ip || bloomHas(this.seeds.bits, ip)) continue;
      downloaders.insertIp(ip);
    }
    return {
      seeders: bloomEstimate(this.seeds.bits),
      leechers: bloomEstimate(downloaders.bits),
      swarm: bloomEstimate(new ScrapeBloom(downloaders.bits).union(this.seeds).bits),
      nodesWithFilters: this.filterNodes,
    };
  }
}

/** Whether both bits of `ip` are set (a bloom filter's "maybe present"). */
export function bloomHas(bits: Uint8Array, ip: Uint8Array): boolean {
  const h = createHash('sha1').update(unmapV4(ip)).digest();
  const i1 = (h[0] | (h[1] << 8)) % BLOOM_BITS;
  const i2 = (h[2] | (h[3] << 8)) % BLOOM_BITS;
  return (bits[i1 >> 3] & (1 << (i1 & 7))) !== 0 && (bits[i2 >> 3] & (1 << (i2 & 7))) !== 0;
}

/** An estimate as printed: one decimal; null for a saturated filter (more than it can count). */
export function roundEstimate(n: number): number | null {
  return Number.isFinite(n) ? Math.round(n * 10) / 10 : null;
}
