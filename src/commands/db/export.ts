import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { buildQuery, dbQueryFlags } from '../../cli/db-query.js';
import { dbFlag, openStore } from '../../cli/store.js';
import { MAX_COUNT, atMost } from '../../cli/ceilings.js';
import { infohashRecord } from '../../output/db-records.js';
import { jsonLine } from '../../output/records.js';

export default class DbExport extends BaseCommand {
  static override description = 'Export infohashes from the crawl database as NDJSON (all of them unless filtered)';
  static override examples = ['<%= config.bin %> db export > infohashes.ndjson', '<%= config.bin %> db export --since 1d | <%= config.bin %> scrape - --json'];
  static override flags = {
    db: dbFlag,
    ...dbQueryFlags,
    limit: Flags.integer({ description: `at most this many rows ${atMost(MAX_COUNT)}`, min: 1, max: MAX_COUNT }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(DbExport);
    const query = buildQuery(flags, flags.limit);
    const store = await openStore(flags.db, { mustExist: true, readonly: true });
    let n = 0;
    try {
      for await (const row of store.listInfohashes(query)) {
        if (!this.stdout.record(infohashRecord(row))) break;
        n++;
        if (this.stdout.backlogged) await this.stdout.drained(); // a slow reader: wait, never buffer the database
      }
    } finally {
      await store.close();
    }
    this.note(jsonLine({ summary: 'db export', infohashes: n }));
  }
}
