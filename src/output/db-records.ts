// Stored infohash rows as records: Unix-ms columns become ISO 8601 times.
import type { InfohashRow } from '../core/store/types.js';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function infohashRecord(row: InfohashRow): Record<string, unknown> {
  return {
    infohash: row.infohash,
    first_seen: iso(row.first_seen),
    last_seen: iso(row.last_seen),
    times_seen: row.times_seen,
    source_id: row.source_id,
    source_addr: row.source_addr,
    source_client: row.source_client,
    source_version_hex: row.source_version_hex,
    seeders: row.seeders,
    leechers: row.leechers,
    peers: row.peers,
    scraped_at: iso(row.scraped_at),
    name: row.name,
  };
}

export { iso };
