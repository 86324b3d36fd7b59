import { Args, Flags } from '@oclif/core';
import { BaseCommand, type BaseFlags } from '../../cli/base-command.js';
import { BadInputError } from '../../cli/errors.js';
import { formatDuration } from '../../cli/duration.js';
import type { Clock } from '../../core/net/clock.js';
import { idToHex } from '../../core/dht/node-id.js';
import { loadRoutingFile, restoreRoutingTable } from '../../core/dht/routing-persistence.js';
import { NodeFlag, type RoutingEntry, type RoutingTable } from '../../core/dht/routing-table.js';
import { address, jsonLine, versionFields } from '../../output/records.js';
import { renderKeyValues, renderTable, type Cell, type Column } from '../../output/table.js';

const BUCKET_COLUMNS: Column[] = [
  { header: 'bucket', align: 'right' },
  { header: 'prefix bits', align: 'right' },
  { header: 'nodes', align: 'right' },
  { header: 'good', align: 'right' },
  { header: 'questionable', align: 'right', drop: 2 },
  { header: 'replacements', align: 'right', drop: 3 },
  { header: 'newest seen', drop: 1 },
];
const NODE_COLUMNS: Column[] = [
  { header: 'bucket', align: 'right' },
  { header: 'address' },
  { header: 'id', hex: true },
  { header: 'state' },
  { header: 'last seen', drop: 1 },
  { header: 'flags', wrap: true, drop: 2 },
];

/** No timers are needed here: only now(), in wall-clock milliseconds. */
const WALL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: () => {
    throw new Error('routing show sets no timers');
  },
  clearTimeout: () => undefined,
};

interface ShowSummary {
  summary: 'routing show';
  file: string;
  id: string;
  saved_at: string;
  file_nodes: number;
  nodes: number;
  buckets: number;
  good: number;
  questionable: number;
  replacements: number;
}

export default class RoutingShow extends BaseCommand {
  static override summary = 'Show a saved routing table (no network)';
  static override description =
    'Reads a routing file and shows its buckets as a table, or one NDJSON record per node with --json. Nothing is sent on the network.';
  static override examples = ['<%= config.bin %> routing show routing.json', '<%= config.bin %> routing show routing.json --json | jq -r .address'];
  static override args = {
    file: Args.string({ description: 'routing file to read', required: true }),
  };
  static override flags = {
    nodes: Flags.boolean({ description: 'also list every node (human mode)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RoutingShow);
    const loaded = await loadRoutingFile(args.file);
    if (!loaded.ok) throw new BadInputError(loaded.error);
    const file = loaded.value;
    const wallNow = Date.now();
    // Restored with the file's own id, as a node would restore it: buckets are as saved. The
    // clock reads wall time so that saved times stay positive however young the process is
    // (the table treats lastReplied > 0 as "has answered").
    const { table } = restoreRoutingTable(file, { clock: WALL_CLOCK, wallNow, oneNodePerIp: false });
    const stats = table.stats();
    const summary: ShowSummary = {
      summary: 'routing show',
      file: args.file,
      id: file.id,
      saved_at: file.saved_at,
      file_nodes: file.nodes.length,
      nodes: stats.nodes,
      buckets: stats.buckets,
      good: stats.good,
      questionable: stats.questionable,
      replacements: stats.replacements,
    };
    if (flags.json) {
      this.showJson(table);
      this.note(jsonLine(summary));
      return;
    }
    this.showHuman(table, summary, flags, wallNow);
  }

  private showJson(table: RoutingTable): void {
    for (const view of table.bucketViews()) {
      const emit = (e: RoutingEntry, live: boolean): boolean => this.stdout.record(nodeRecord(table, e, view.index, live));
      for (const e of view.entries) if (!emit(e, true)) return;
      for (const e of view.replacements) if (!emit(e, false)) return;
    }
  }

  private showHuman(table: RoutingTable, s: ShowSummary, flags: BaseFlags<typeof RoutingShow>, wallNow: number): void {
    const age = wallNow - Date.parse(s.saved_at);
    const dropped = s.file_nodes - s.nodes - s.replacements;
    const head = renderKeyValues([
      ['routing file', s.file, { keep: true }],
      ['id', s.id],
      ['saved', `${s.saved_at} (${age >= 0 ? formatDuration(age) + ' ago' : 'in the future'})`],
      ['nodes', `${s.nodes} in ${s.buckets} buckets: ${s.good} good, ${s.questionable} questionable`],
      ['replacement caches', s.replacements],
      ['not kept', dropped > 0 ? `${dropped} duplicates or overflow` : null],
    ]);
    const now = table.clock.now();
    const rows = table.bucketViews().map((b) => {
      let good = 0;
      let newest = -Infinity;
      for (const e of b.entries) {
        if (table.stateOf(e) === 'good') good++;
        newest = Math.max(newest, e.lastSeen);
      }
      return [b.index, b.prefixBits, b.entries.length, good, b.entries.length - good, b.replacements.length, newest === -Infinity ? '' : formatDuration(Math.max(0, now - newest)) + ' ago'];
    });
    let out = head + '\n' + renderTable(BUCKET_COLUMNS, rows) + '\n';
    if (flags.nodes) {
      const nodeRows: Cell[][] = [];
      for (const view of table.bucketViews()) {
        for (const [list, live] of [[view.entries, true], [view.replacements, false]] as const) {
          for (const e of list) {
            const r = nodeRecord(table, e, view.index, live);
            nodeRows.push([view.index, r.address, r.id, live ? r.state : 'replacement', formatDuration(Math.max(0, now - e.lastSeen)) + ' ago', flagText(e.flags)]);
          }
        }
      }
      out += renderTable(NODE_COLUMNS, nodeRows) + '\n';
    }
    this.stdout.text(out);
  }
}

/** One node of a routing file as an NDJSON record (docs/output.md, `routing show`). */
function nodeRecord(table: RoutingTable, e: RoutingEntry, bucket: number, live: boolean) {
  const lastSeenWall = Date.now() - Math.max(0, table.clock.now() - e.lastSeen);
  return {
    id: idToHex(e.id),
    address: address(e),
    bucket,
    live,
    state: table.stateOf(e),
    last_seen: new Date(lastSeenWall).toISOString(),
    verified: (e.flags & NodeFlag.VERIFIED) !== 0,
    supports_sample: (e.flags & NodeFlag.SUPPORTS_SAMPLE) !== 0,
    bep42_valid: (e.flags & NodeFlag.BEP42_VALID) !== 0,
    ...(e.version ? versionFields(e.version) : {}),
  };
}

function flagText(flags: number): string {
  const names: string[] = [];
  if (flags & NodeFlag.VERIFIED) names.push('verified');
  if (flags & NodeFlag.SUPPORTS_SAMPLE) names.push('sample');
  if (flags & NodeFlag.BEP42_VALID) names.push('bep42');
  return names.join(', ');
}
