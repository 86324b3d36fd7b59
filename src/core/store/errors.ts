// One error type for everything that goes wrong opening the database, with a one-line message
// that names the file, so the CLI can print it as is and exit 2; and one for a write that fails
// later (full disk, I/O error), which the CLI reports with what was saved.

export type StoreErrorKind =
  | 'not_a_database'
  | 'foreign_database'
  | 'schema_too_new'
  | 'schema_too_old'
  | 'missing'
  | 'is_directory'
  | 'read_only'
  | 'cannot_open'
  // PostgreSQL
  | 'bad_url'
  | 'auth_failed'
  | 'unreachable';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`.replace(/\s*\n\s*/g, ' '));
    this.name = 'StoreError';
  }
}

/** A write to an open database failed; `code` is SQLite's (`SQLITE_FULL`, `SQLITE_IOERR_WRITE`, ...). */
export class StoreWriteError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`${path}: database write failed: ${detail}`.replace(/\s*\n\s*/g, ' '));
    this.name = 'StoreWriteError';
  }
}
