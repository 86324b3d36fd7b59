import { Flags } from '@oclif/core';
import { basename } from 'node:path';
import { BaseCommand } from '../cli/base-command.js';
import { BadInputError, CliError, oneLine, quote } from '../cli/errors.js';
import { parseSince } from '../cli/db-query.js';
import { dbFlag, openStore } from '../cli/store.js';
import { writeFileAtomic } from '../core/util/atomic-file.js';
import { isPostgresUrl } from '../core/store/index.js';
import { renderReport } from '../output/report/html-report.js';
import { jsonLine } from '../output/records.js';

export default class Report extends BaseCommand {
  static override description =
    'Write an HTML report of the crawl database: discovery over time, keyspace coverage, clients and BEP 51 support, swarm sizes (one self-contained file, opens offline)';
  static override examples = [
    '<%= config.bin %> report -o report.html',
    '<%= config.bin %> report --db crawl.db --since 7d -o week.html',
    '<%= config.bin %> report -o - > report.html',
  ];
  static override flags = {
    db: dbFlag,
    output: Flags.string({ char: 'o', description: 'the HTML file to write (written atomically), or - for stdout', default: 'report.html' }),
    since: Flags.string({ description: 'only what was first seen since then: a duration ago (7d, 6h) or an ISO date' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Report);
    const since = flags.since === undefined ? undefined : parseSince(flags.since);
    const store = await openStore(flags.db, { mustExist: true, readonly: true });
    let html: string;
    let data;
    try {
      data = await store.reportData(since === undefined ? {} : { since });
      html = renderReport(data, { source: isPostgresUrl(store.path) ? store.path : basename(store.path) });
    } finally {
      await store.close();
    }
    if (flags.output === '-') this.stdout.text(html);
    else await writeReport(flags.output, html);
    const summary = { summary: 'report', file: flags.output === '-' ? null : flags.output, bytes: Buffer.byteLength(html), infohashes: data.infohashes, nodes: data.nodes, scraped: data.swarms.scraped, runs: data.runs.length };
    if (flags.json) this.note(jsonLine(summary));
    else if (flags.output !== '-') this.note(`wrote ${flags.output}: ${data.infohashes} infohashes, ${data.nodes} nodes, ${data.swarms.scraped} scraped, ${data.runs.length} crawl runs`);
  }
}

/** A path the user can fix (no such directory, a directory, no permission) is bad input; the rest (full disk) exit 1. */
async function writeReport(path: string, html: string): Promise<void> {
  try {
    await writeFileAtomic(path, html);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such directory' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : oneLine(err);
    const message = `cannot write ${quote(path)}: ${why}`;
    throw why === oneLine(err) ? new CliError(message, 1) : new BadInputError(message);
  }
}
