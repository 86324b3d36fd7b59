// The crawl's pacing defaults, in one place: the crawl command's flags, `crawl --testnet`, the
// engine and the crawl bench all read them (docs/architecture.md, "Crawl pacing", says why).

export const CRAWL_DEFAULTS = {
  /**
   * Global queries per second. Politeness is per node (each asked about once per pass, at most
   * 5 packets/s to one IP, BEP 51 intervals): the global rate only spreads the load over time.
   */
  ratePerSec: 1000,
  /** Upper bound of the concurrency window (queries in flight per address family). */
  concurrency: 512,
  /** Hard per-query timeout, ms: a late reply is still used up to here. */
  timeoutMs: 2000,
  /**
   * Queries to one ip:port on a loopback/private network in any localWindowMs (public IPs keep
   * the stricter 0.5/s, burst 5): libtorrent blocks a source sending more than 5 packets/s. An
   * exact window lets a node answering BEP 51 interval 0 be re-sampled back to back (one query in
   * flight at a time) up to 5 times within a second, where a 4/s bucket spaced them 250 ms apart.
   * The sanitizer's throttle (0.5/s after a burst of 5 per endpoint) bounds a longer crawl.
   */
  localPerNodeMax: 5,
  /** The window of localPerNodeMax, ms. */
  localWindowMs: 1000,
  /** `--leases`: ranges a new pass is split into. */
  leaseRanges: 256,
  /** `--leases`: how long a claimed range stays ours without renewal, ms. */
  leaseMs: 120_000,
} as const;

/** The flag's ceiling for --concurrency. */
export const MAX_CRAWL_CONCURRENCY = 4096;
