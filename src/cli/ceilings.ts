// Ceilings of the size flags (counts, limits, simulated sizes), in one place. Each flag states
// its ceiling in --help ("at most N") and passes it to oclif as `max`, so a larger value is one
// line on stderr and exit 2 instead of an allocation failure or a database error. Where a flag
// allocates memory the ceiling comes from the measured cost per unit (RSS of the CLI with
// /usr/bin/time, minus its ~200 MB at rest); concurrency, alpha and rate ceilings sit with
// their flags.

/**
 * Counts that only stop a run or cap a listing and cost nothing per unit (crawl --max-queries,
 * --max-infohashes, db list/export --limit): far beyond any real run, exact as a double and as
 * SQLite's 64-bit LIMIT.
 */
export const MAX_COUNT = 1_000_000_000_000;

/** crawl --testnet: about 2.6 KB per simulated node (100,000 nodes: 465 MB peak RSS). */
export const MAX_SIM_NODES = 200_000;

/**
 * crawl --testnet-infohashes: about 85 bytes per simulated infohash while the world is built
 * (1,000 nodes with 10^6 infohashes: +85 MB peak RSS), so about 430 MB here.
 */
export const MAX_SIM_INFOHASHES = 5_000_000;

/** scrape --limit: the selection is held in memory, about 400 bytes per infohash (214 B heap measured for the rows alone). */
export const MAX_SCRAPE_LIMIT = 1_000_000;

/** `(at most N)`, the form every size flag's --help text uses. */
export function atMost(max: number): string {
  return `(at most ${max})`;
}
