// The crawl database: interface, SQLite and PostgreSQL implementations, batching.
export type * from './types.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { PostgresStore, isPostgresUrl, redactUrl, type PostgresStoreOptions } from './postgres-store.js';
export { BatchWriter, type BatchWriterOptions } from './batch-writer.js';
export { StoreError, StoreWriteError, type StoreErrorKind } from './errors.js';
export { SCHEMA_VERSION, MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations.js';
export { ftsQuery, type QueueCounts, type SearchHit, type TorrentDetails, type TorrentRecord, type TorrentRow } from './torrents.js';
