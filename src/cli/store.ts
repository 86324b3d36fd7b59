// Opening the crawl database for a command: --db PATH or the default file; problems with the
// file are one-line errors with exit 2.
import { Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import { SqliteStore, StoreError } from '../core/crawl/store/index.js';
import { defaultDbPath } from '../core/paths.js';
import { BadInputError } from './errors.js';

export const dbFlag = Flags.string({ description: 'crawl database file (default: crawl.db in the data directory)' });

export function openStore(path: string | undefined, opts: { mustExist?: boolean; readonly?: boolean } = {}): SqliteStore {
  const file = path ?? defaultDbPath();
  if (opts.mustExist && !existsSync(file)) throw new BadInputError(`${file}: no such database (run a crawl first, or pass --db)`);
  try {
    return SqliteStore.open(file, { ...(opts.mustExist ? { mustExist: true } : {}), ...(opts.readonly ? { readonly: true } : {}) });
  } catch (err) {
    if (err instanceof StoreError) throw new BadInputError(err.message);
    throw err;
  }
}
