import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { BadInputError, NothingFoundError } from '../../cli/errors.js';
import { parseInfohashInput } from '../../cli/infohash-input.js';
import { dbFlag, openStore } from '../../cli/store.js';
import { iso } from '../../output/db-records.js';
import { renderKeyValues, renderTable } from '../../output/table.js';
import { humanSize } from '../../output/text.js';

export default class DbShow extends BaseCommand {
  static override description = 'Show a torrent of the crawl database: name, sizes and its files (fetched with metadata --db)';
  static override examples = ['<%= config.bin %> db show 0123456789abcdef0123456789abcdef01234567', '<%= config.bin %> db show 0123456789abcdef0123456789abcdef01234567 --json'];
  static override args = {
    infohash: Args.string({ description: '40-hex infohash or magnet link', required: true }),
  };
  static override flags = { db: dbFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DbShow);
    const input = parseInfohashInput(args.infohash);
    if (!input.ok) throw new BadInputError(input.skip ? 'no infohash in that record' : input.error);
    const store = await openStore(flags.db, { mustExist: true, readonly: true });
    let t;
    try {
      t = await store.showTorrent(input.infohash);
    } finally {
      await store.close();
    }
    if (!t) throw new NothingFoundError('no metadata for that infohash in the database (fetch it with metadata --db)');
    if (flags.json) {
      await this.stdout.recordAndWait({
        infohash: t.infohash,
        name: t.name,
        total_size: t.total_size,
        files: t.files,
        piece_length: t.piece_length,
        pieces: t.pieces,
        private: t.private,
        version: t.version === 'hybrid' ? 'hybrid' : Number(t.version),
        fetched_at: iso(t.fetched_at),
        peer: { address: t.source_addr, client: t.source_client },
      });
      return;
    }
    this.stdout.text(
      renderKeyValues([
        ['infohash', t.infohash],
        ['name', t.name],
        ['size', `${humanSize(t.total_size)} (${t.total_size} bytes)`],
        ['files', t.file_count],
        ['pieces', `${t.pieces} of ${humanSize(t.piece_length)}`],
        ['private', t.private ? 'yes' : 'no'],
        ['fetched', iso(t.fetched_at)],
        ['from', [t.source_addr, t.source_client].filter(Boolean).join(' ')],
      ]) +
        '\n\n' +
        renderTable([{ header: 'path', wrap: true }, { header: 'size', align: 'right' }], t.files.map((f) => [f.path, humanSize(f.length)])) +
        '\n',
    );
  }
}
