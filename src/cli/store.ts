// Opening the crawl database for a command: --db PATH|URL, else $BITSCRAPE_DB, else the default
// file. A file problem, a bad URL or a refused password is one line and exit 2; a database server
// that cannot be reached is one line and exit 1. No message shows a password.
import { Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import { PostgresStore, SqliteStore, StoreError, isPostgresUrl, type InfohashStore } from '../core/store/index.js';
import { defaultDbPath } from '../core/paths.js';
import { BadInputError, CliError } from './errors.js';

export const dbFlag = Flags.string({
  description: 'crawl database: a SQLite file, or postgres://user:pass@host:port/db to share one index between crawlers (default: $BITSCRAPE_DB, else crawl.db in the data directory)',
  helpValue: 'FILE|URL',
});

/** The store and how to name it in messages (a file path, or the URL without its password). */
export type CommandStore = InfohashStore & { readonly path: string };

/** Where --db points: the flag, else $BITSCRAPE_DB, else the default file. */
export function dbTarget(path: string | undefined): string {
  return path ?? (process.env.BITSCRAPE_DB || undefined) ?? defaultDbPath();
}

export async function openStore(path: string | undefined, opts: { mustExist?: boolean; readonly?: boolean } = {}): Promise<CommandStore> {
  const target = dbTarget(path);
  const flags = { ...(opts.mustExist ? { mustExist: true } : {}), ...(opts.readonly ? { readonly: true } : {}) };
  if (isPostgresUrl(target)) {
    try {
      return await PostgresStore.open(target, { ...flags, retryForMs: retryForMs() });
    } catch (err) {
      if (err instanceof StoreError) throw err.kind === 'unreachable' ? new CliError(err.message, 1) : new BadInputError(err.message);
      throw err;
    }
  }
  if (opts.mustExist && !existsSync(target)) throw new BadInputError(`${target}: no such database (run a crawl first, or pass --db)`);
  try {
    return SqliteStore.open(target, flags);
  } catch (err) {
    if (err instanceof StoreError) throw new BadInputError(err.message);
    throw err;
  }
}

/** How long a lost database connection is retried before a write fails: 30 s, or BITSCRAPE_DB_RETRY_MS. */
function retryForMs(): number {
  const n = Number(process.env.BITSCRAPE_DB_RETRY_MS);
  return Number.isFinite(n) && n >= 0 ? n : 30_000;
}
