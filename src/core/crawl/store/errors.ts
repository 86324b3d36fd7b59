// One error type for everything that goes wrong opening the database, with a one-line message
// that names the file, so the CLI can print it as is and exit 2.

export type StoreErrorKind = 'not_a_database' | 'foreign_database' | 'schema_too_new' | 'schema_too_old' | 'missing' | 'cannot_open';

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
