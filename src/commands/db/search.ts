import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { MAX_COUNT, atMost } from '../../cli/ceilings.js';
import { BadInputError, NothingFoundError } from '../../cli/errors.js';
import { dbFlag, openStore } from '../../cli/store.js';
import { ftsQuery } from '../../core/store/index.js';
import { renderTable } from '../../output/table.js';
import { humanSize } from '../../output/text.js';

export default class DbSearch extends BaseCommand {
  static override description = 'Find torrents in the crawl database by words of their name and file paths (fetched with metadata --db)';
  static override examples = ['<%= config.bin %> db search ubuntu desktop', '<%= config.bin %> db search rp000005 --json --limit 5'];
  static override strict = false;
  static override args = {
    text: Args.string({ description: 'words to find (all of them, case-insensitive; split on anything that is not a letter or digit)', required: true }),
  };
  static override flags = {
    db: dbFlag,
    limit: Flags.integer({ description: `at most this many results ${atMost(MAX_COUNT)}`, default: 20, min: 1, max: MAX_COUNT }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(DbSearch);
    const text = (argv as string[]).join(' ');
    if (ftsQuery(text) === null) throw new BadInputError('nothing to search for: give at least one word (letters or digits)');
    const store = await openStore(flags.db, { mustExist: true, readonly: true });
    let hits;
    try {
      hits = await store.searchTorrents(text, flags.limit);
    } finally {
      await store.close();
    }
    if (flags.json) {
      for (const h of hits) await this.stdout.recordAndWait({ infohash: h.infohash, name: h.name, total_size: h.total_size, files: h.file_count });
    } else if (hits.length > 0) {
      this.stdout.text(
        renderTable(
          [{ header: 'infohash', hex: true }, { header: 'name', wrap: true }, { header: 'size', align: 'right' }, { header: 'files', align: 'right', drop: 1 }],
          hits.map((h) => [h.infohash, h.name, humanSize(h.total_size), h.file_count]),
        ) + '\n',
      );
    }
    if (hits.length === 0) throw new NothingFoundError('no torrent matches');
  }
}
