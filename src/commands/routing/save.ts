import { Args, Flags } from '@oclif/core';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BaseCommand, durationFlag } from '../../cli/base-command.js';
import { formatDuration } from '../../cli/duration.js';
import { dhtFlags, openSession } from '../../cli/dht-session.js';
import { CliError, NothingFoundError } from '../../cli/errors.js';
import { ID_BITS, idToHex } from '../../core/dht/node-id.js';
import { K } from '../../core/dht/routing-table.js';
import { saveRoutingFile } from '../../core/dht/routing-persistence.js';
import { fillTable } from '../../core/dht/table-fill.js';
import { startProgress } from '../../output/progress.js';
import { renderKeyValues } from '../../output/table.js';
import { fanOutSignal } from '../../core/util/fan-out-abort.js';

/** The most live nodes a routing table can hold: a larger --min-nodes could never be reached. */
const TABLE_CAPACITY = ID_BITS * K;

export default class RoutingSave extends BaseCommand {
  static override summary = 'Bootstrap, fill a routing table and save it to FILE';
  static override description =
    'Joins the DHT (read-only: ro=1, nobody adds us to their table), looks up our own id and then random ids in every bucket that still has room until the table stops growing, --min-nodes is reached or --duration runs out, and writes the table to FILE atomically. FILE is left untouched when nothing answered.';
  static override examples = [
    '<%= config.bin %> routing save routing.json',
    '<%= config.bin %> routing save routing.json --bootstrap 127.0.0.1:6881 --duration 5s',
  ];
  static override args = {
    file: Args.string({ description: 'routing file to write', required: true }),
  };
  static override flags = {
    ...dhtFlags,
    duration: durationFlag({ description: 'longest time to spend filling the table (at most 36525d)', default: 20_000 }),
    'min-nodes': Flags.integer({ description: `stop once the table holds this many nodes (0: fill until it stops growing; at most ${TABLE_CAPACITY}, what ${ID_BITS} buckets of ${K} hold)`, default: 0, min: 0, max: TABLE_CAPACITY }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RoutingSave);
    const session = await openSession(flags, { readOnly: true });
    const progress = flags.json ? startProgress('', false) : startProgress('bootstrapping');
    // A closed stdout or Ctrl-C / SIGTERM ends the filling early; what was learnt is still written.
    const abort = new AbortController();
    const onClosed = (): void => abort.abort();
    this.stdout.on('closed', onClosed);
    const signal = fanOutSignal(abort.signal, this.stopSignal());
    try {
      const { node } = session;
      const fill = await fillTable(node, {
        durationMs: flags.duration,
        minNodes: flags['min-nodes'],
        signal,
        onLookup: (n, size) => progress.update(`${size} nodes after ${n} lookups`),
      });
      progress.stop();
      const table = node.table;
      if (table.size === 0) {
        throw new NothingFoundError(`no node answered (${fill.queries} queries); ${args.file} left unchanged`);
      }
      await mkdir(dirname(args.file), { recursive: true }).catch(() => undefined);
      const saved = await saveRoutingFile(args.file, table);
      if (!saved.ok) throw new CliError(saved.error, 2);
      const stats = table.stats();
      const record = {
        file: args.file,
        id: idToHex(table.id),
        nodes: saved.value.nodes,
        buckets: stats.buckets,
        good: stats.good,
        questionable: stats.questionable,
        replacements: stats.replacements,
        lookups: fill.lookups,
        queries: fill.queries,
        replies: fill.replies,
        end: fill.end,
        elapsed_ms: Math.round(fill.ms),
      };
      if (flags.json) {
        this.stdout.record(record);
        return;
      }
      this.stdout.text(
        renderKeyValues([
          ['file', record.file, { keep: true }],
          ['id', record.id],
          ['nodes', record.nodes],
          ['buckets', record.buckets],
          ['good / questionable', `${record.good} / ${record.questionable}`],
          ['replacements', record.replacements],
          ['lookups / queries / replies', `${record.lookups} / ${record.queries} / ${record.replies}`],
          ['stopped', `${describeEnd(record.end)} after ${formatDuration(record.elapsed_ms)}`],
        ]) + '\n',
      );
    } finally {
      progress.stop();
      this.stdout.off('closed', onClosed);
      // What we learnt also goes to the session's own routing file (unless --fresh).
      await session.close();
    }
  }
}

function describeEnd(end: string): string {
  switch (end) {
    case 'min_nodes':
      return 'reached --min-nodes';
    case 'converged':
      return 'table stopped growing';
    case 'deadline':
      return '--duration ran out';
    case 'max_lookups':
      return 'lookup cap reached';
    case 'aborted':
      return 'interrupted';
    default:
      return 'nobody answered';
  }
}
