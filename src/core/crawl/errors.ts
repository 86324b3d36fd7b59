// A crawl cut short by its database (a full disk, an I/O error): what happened and what was kept,
// in one line, so the command can say it without a stack.

export interface KeptByCrawl {
  /** Infohash records committed in this run; the crawl prints an infohash only once committed. */
  infohashes: number;
  /** Of those, new to the database. */
  newInfohashes: number;
  /** When the traversal was last saved for --resume in this run (ISO), if it was. */
  stateSavedAt: string | null;
  /** The run continued a traversal saved before it (which --resume would find again). */
  resumed: boolean;
}

export class CrawlStoreError extends Error {
  constructor(
    /** The store's error (StoreWriteError for SQLite). */
    readonly failure: unknown,
    readonly kept: KeptByCrawl,
  ) {
    super(`${oneLine(failure)}; ${describeKept(kept)}`);
    this.name = 'CrawlStoreError';
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n[\s\S]*$/, '');
}

function describeKept(kept: KeptByCrawl): string {
  const rows =
    kept.infohashes === 0
      ? 'no infohash was stored'
      : `the ${kept.infohashes} infohashes stored before it are kept (${kept.newInfohashes} new; every infohash printed is among them)`;
  const resume = kept.stateSavedAt
    ? `--resume continues from the traversal saved at ${kept.stateSavedAt}`
    : kept.resumed
      ? '--resume continues from the traversal this run started from'
      : 'no traversal was saved for --resume';
  return `${rows}; ${resume}`;
}
