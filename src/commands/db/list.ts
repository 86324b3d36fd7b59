import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { buildQuery, dbQueryFlags } from '../../cli/db-query.js';
import { dbFlag, openStore } from '../../cli/store.js';
import { MAX_COUNT, atMost } from '../../cli/ceilings.js';
import { infohashRecord } from '../../output/db-records.js';
import { renderTable, type Cell, type Column } from '../../output/table.js';

const LIST_COLUMNS: Column[] = [
  { header: 'infohash', hex: true },
  { header: 'first seen', drop: 1 },
  { header: 'seen', align: 'right' },
  { header: 'source client', drop: 2 },
  { header: 'seeders', align: 'right' },
  { header: 'leechers', align: 'right' },
];
/** Shown only when some row has a name (its metadata was fetched): an empty column would push others out. */
const NAME_COLUMN: Column = { header: 'name', wrap: true };

export default class DbList extends BaseCommand {
  static override description = 'List infohashes in the crawl database (a table, or NDJSON with --json)';
  static override examples = ['<%= config.bin %> db list --since 6h --limit 20', '<%= config.bin %> db list --client LT --json'];
  static override flags = {
    db: dbFlag,
    ...dbQueryFlags,
    limit: Flags.integer({ description: `at most this many rows ${atMost(MAX_COUNT)}`, default: 50, min: 1, max: MAX_COUNT }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(DbList);
    const query = buildQuery(flags, flags.limit);
    const store = await openStore(flags.db, { mustExist: true, readonly: true });
    try {
      const rows: Cell[][] = [];
      for await (const row of store.listInfohashes(query)) {
        if (flags.json) {
          if (!this.stdout.record(infohashRecord(row))) break;
          if (this.stdout.backlogged) await this.stdout.drained();
        } else {
          const r = infohashRecord(row);
          rows.push([row.infohash, r.first_seen as string, row.times_seen, row.source_client, row.seeders, row.leechers, row.name]);
        }
      }
      if (!flags.json) {
        const named = rows.some((r) => r[6] !== null);
        this.stdout.text(renderTable(named ? [...LIST_COLUMNS, NAME_COLUMN] : LIST_COLUMNS, named ? rows : rows.map((r) => r.slice(0, 6))) + '\n');
      }
    } finally {
      await store.close();
    }
  }
}
