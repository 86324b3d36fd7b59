import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { BadInputError, CliError } from '../../cli/errors.js';
import { dbTarget, openStore } from '../../cli/store.js';
import { StoreWriteError } from '../../core/store/errors.js';
import { redactUrl, isPostgresUrl } from '../../core/store/index.js';
import { copyStore } from '../../core/store/copy.js';
import { jsonLine } from '../../output/records.js';
import { startProgress } from '../../output/progress.js';
import { renderKeyValues } from '../../output/table.js';

export default class DbCopy extends BaseCommand {
  static override description =
    'Copy a crawl database into another: infohashes with their scrape results, nodes and crawl runs (for example an SQLite index into a shared PostgreSQL). Idempotent: an interrupted copy is run again.';
  static override examples = [
    '<%= config.bin %> db copy --from crawl.db --to postgres://bitscrape@db.example/index',
    'PGPASSWORD=… <%= config.bin %> db copy --to postgres://bitscrape@127.0.0.1/index',
  ];
  static override flags = {
    from: Flags.string({ description: 'the database to read (default: $BITSCRAPE_DB, else crawl.db in the data directory)', helpValue: 'FILE|URL' }),
    to: Flags.string({ description: 'the database to write into (created or upgraded as needed)', helpValue: 'FILE|URL', required: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(DbCopy);
    if (dbTarget(flags.from) === flags.to) throw new BadInputError('--from and --to are the same database');
    const source = await openStore(flags.from, { mustExist: true, readonly: true });
    const progress = startProgress('copying', flags.json ? false : undefined);
    const signal = this.stopSignal();
    let counts;
    try {
      const target = await openStore(flags.to);
      try {
        counts = await copyStore(source, target, {
          signal,
          onProgress: (c) => progress.update(`copied ${c.infohashes} infohashes, ${c.nodes} nodes`),
        });
      } catch (err) {
        // a write that fails mid-copy (full disk, lost server): what is copied stays; run it again
        if (err instanceof StoreWriteError) throw new CliError(`${err.message}; what was copied before it stays, and running the copy again finishes it`, 1);
        throw err;
      } finally {
        await target.close();
      }
    } finally {
      progress.stop();
      await source.close();
    }
    const summary = { summary: 'db copy', from: source.path, to: isPostgresUrl(flags.to) ? redactUrl(flags.to) : flags.to, ...counts, interrupted: signal.aborted };
    if (flags.json) this.note(jsonLine(summary));
    else
      this.note(
        renderKeyValues([
          ['copied infohashes', `${counts.infohashes} (${counts.newInfohashes} new there)`],
          ['copied nodes', `${counts.nodes} (${counts.newNodes} new there)`],
          ['copied torrents', counts.torrents],
          ['copied runs', counts.runs],
          ['time', `${counts.ms} ms`],
          ...(signal.aborted ? [['interrupted', 'yes: run it again to finish'] as [string, string]] : []),
        ]),
      );
  }
}
