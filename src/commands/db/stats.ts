import { BaseCommand } from '../../cli/base-command.js';
import { dbFlag, openStore } from '../../cli/store.js';
import { iso } from '../../output/db-records.js';
import { percent } from '../../output/records.js';
import { renderKeyValues, renderTable } from '../../output/table.js';

export default class DbStats extends BaseCommand {
  static override description = 'What the crawl database holds: counts, BEP 51 support, and a client-version table';
  static override examples = ['<%= config.bin %> db stats', '<%= config.bin %> db stats --json | jq .bep51_rate'];
  static override flags = { db: dbFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(DbStats);
    const store = await openStore(flags.db, { mustExist: true, readonly: true });
    try {
      const s = await store.stats();
      const rec = { ...s, first_seen: iso(s.first_seen), last_seen: iso(s.last_seen) };
      if (flags.json) {
        // An empty database has no rate and no times: those fields are left out, not null.
        this.stdout.record(Object.fromEntries(Object.entries(rec).filter(([, v]) => v !== null)));
        return;
      }
      this.stdout.text(
        renderKeyValues([
          ['infohashes', s.infohashes],
          ['scraped', s.scraped],
          ['nodes', s.nodes],
          ['BEP 51 nodes', s.bep51_nodes],
          ['BEP 51 support rate', s.bep51_rate === null ? null : percent(s.bep51_rate)],
          ['first seen', rec.first_seen],
          ['last seen', rec.last_seen],
        ]) + '\n',
      );
      this.stdout.text(
        renderTable(
          [{ header: 'client', wrap: true }, { header: 'nodes', align: 'right' }, { header: 'BEP 51 nodes', align: 'right' }, { header: 'infohashes sourced', align: 'right' }],
          s.clients.map((c) => [c.client ?? 'unknown', c.nodes, c.bep51_nodes, c.infohashes_sourced]),
        ) + '\n',
      );
    } finally {
      await store.close();
    }
  }
}
