// The PostgreSQL schema, by version. bitscrape_schema holds the version; MIGRATIONS[i] takes a
// database from version i to i + 1. Migrations run under an advisory lock, so
// crawlers that start at once against a new database migrate it once: the others wait for the
// lock, then find the work done. Append only: a released migration never changes.
//
// Times are Unix ms (bigint) as in SQLite; `seq` keeps arrival order, the role SQLite's rowid plays.

export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE infohashes (
     infohash bytea PRIMARY KEY CHECK (length(infohash) = 20),
     seq bigint GENERATED ALWAYS AS IDENTITY,
     first_seen bigint NOT NULL,
     last_seen bigint NOT NULL,
     times_seen bigint NOT NULL DEFAULT 1,
     source_id bytea,
     source_addr text,
     source_client text,
     source_version_hex text,
     seeders integer,
     leechers integer,
     peers integer,
     scraped_at bigint
   );
   CREATE INDEX infohashes_first_seen ON infohashes (first_seen, seq);
   CREATE INDEX infohashes_scraped_at ON infohashes (scraped_at);
   CREATE TABLE nodes (
     addr text PRIMARY KEY,
     id bytea,
     version_hex text,
     client text,
     bep51 boolean,
     first_seen bigint NOT NULL,
     last_seen bigint NOT NULL,
     last_sampled bigint,
     sample_interval_s integer,
     num bigint
   );
   CREATE TABLE crawl_state (
     key text PRIMARY KEY,
     value text NOT NULL,
     updated_at bigint NOT NULL
   );
   CREATE TABLE runs (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     started_at bigint NOT NULL,
     ended_at bigint,
     strategy text NOT NULL,
     summary text
   );`,
  `CREATE TABLE passes (
     pass integer PRIMARY KEY,
     ranges integer NOT NULL,
     started_at bigint NOT NULL,
     finished_at bigint
   );
   CREATE TABLE leases (
     pass integer NOT NULL,
     range integer NOT NULL,
     state text NOT NULL CHECK (state IN ('pending', 'active', 'done')),
     owner text,
     expires_at bigint,
     done_at bigint,
     PRIMARY KEY (pass, range)
   );`,
  // Torrent metadata. Search matches words (search-words.ts) with a GIN index over the name's
  // and the paths' words: the same words SQLite's FTS5 unicode61 tokenizer indexes.
  `CREATE TABLE torrents (
     infohash bytea PRIMARY KEY CHECK (length(infohash) = 20),
     seq bigint GENERATED ALWAYS AS IDENTITY,
     name text NOT NULL,
     total_size bigint NOT NULL,
     piece_length bigint NOT NULL,
     pieces integer NOT NULL,
     private boolean NOT NULL,
     version text NOT NULL,
     file_count integer NOT NULL,
     fetched_at bigint NOT NULL,
     source_addr text,
     source_client text,
     name_words text[] NOT NULL,
     words text[] NOT NULL
   );
   CREATE INDEX torrents_words ON torrents USING gin (words);
   CREATE TABLE files (
     infohash bytea NOT NULL,
     idx integer NOT NULL,
     path text NOT NULL,
     length bigint NOT NULL,
     PRIMARY KEY (infohash, idx)
   );
   CREATE TABLE metadata_queue (
     infohash bytea PRIMARY KEY CHECK (length(infohash) = 20),
     state text NOT NULL CHECK (state IN ('pending', 'fetched', 'failed')),
     attempts integer NOT NULL,
     next_try bigint,
     last_error text,
     updated_at bigint NOT NULL
   );`,
  // Shared BEP 51 intervals: a range's crawl reads the nodes sampled in its part of the keyspace.
  `CREATE INDEX nodes_id ON nodes (id);`,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Key of the advisory lock that serialises migrations (any fixed 64-bit number). */
export const MIGRATION_LOCK = 0x62697473637261n; // "bitscra"
/** Key of the advisory lock taken while a pass is checked and, if due, started. */
export const PASS_LOCK = 0x62697473637262n;
