import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { parseEndpointInputs } from '../cli/endpoint-input.js';
import { BadInputError, NothingFoundError } from '../cli/errors.js';
import { describeFailure } from '../core/dht/dht-client.js';
import { idFromHex, randomId } from '../core/dht/node-id.js';
import type { QueryOutcome } from '../core/net/krpc-types.js';
import { mapConcurrent } from '../core/util/pool.js';
import { toHex } from '../core/wire/hex.js';
import { lookupStats, statsLine } from '../output/lookup-records.js';
import { address, jsonLine, versionFields } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderTable, type Cell, type Column } from '../output/table.js';

interface SampleTarget {
  host: string;
  port: number;
  id?: Uint8Array;
}

/** Whether a failed sample_infohashes means "this node does not do BEP 51" rather than a fault. */
function unsupported(out: Exclude<QueryOutcome, { ok: true }>): boolean {
  if (out.kind === 'error') return out.code === 204;
  return out.kind === 'bad_reply' && out.message.includes('not supported');
}

const SAMPLE_COLUMNS: Column[] = [
  { header: 'address' },
  { header: 'samples', align: 'right' },
  { header: 'num', align: 'right' },
  { header: 'interval', align: 'right', drop: 2 },
  { header: 'nodes', align: 'right', drop: 3 },
  { header: 'client', drop: 1 },
  { header: 'status', wrap: true },
];

export default class Sample extends BaseCommand {
  static override description = 'BEP 51 sample_infohashes: ask nodes for samples of the infohashes they store';
  static override examples = [
    '<%= config.bin %> sample 127.0.0.1:6881',
    '<%= config.bin %> sample --target 0123456789abcdef0123456789abcdef01234567 --json',
    'cat nodes.txt | <%= config.bin %> sample - --json',
  ];
  static override strict = false;
  static override args = { address: Args.string({ description: 'host:port of a node; - reads one per line from stdin' }) };
  static override flags = {
    ...dhtFlags,
    target: Flags.string({ description: 'look up the k closest nodes to this id (40 hex, or "random") and sample them' }),
    concurrency: Flags.integer({ description: 'queries in flight (at most 64)', default: 8, min: 1, max: 64 }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Sample);
    const args = argv as string[];
    if (args.length > 0 && flags.target) throw new BadInputError('give node addresses or --target, not both');
    if (args.length === 0 && !flags.target) throw new BadInputError('give node addresses (or -) or --target ID');
    let target: Uint8Array = randomId();
    if (flags.target && flags.target !== 'random') {
      const parsed = idFromHex(flags.target);
      if (!parsed.ok) throw new BadInputError(`--target: ${parsed.error}`);
      target = parsed.value;
    }
    const { endpoints, problems } = await parseEndpointInputs(await this.collectInputs(args));
    for (const p of problems) this.badLines.add(`sample: ${p}`);
    if (args.length > 0 && endpoints.length === 0) this.exit(2);

    const session = await openSession(flags, { readOnly: true, needsBootstrap: Boolean(flags.target), contacts: endpoints.map((e) => e.endpoint.host) });
    const progress = startProgress('sample_infohashes', flags.json ? false : undefined);
    const rows: Cell[][] = [];
    let answered = 0;
    try {
      let targets: SampleTarget[] = endpoints.map((e) => e.endpoint);
      if (flags.target) {
        progress.update(`looking up the nodes closest to ${toHex(target)}`);
        const lookup = await session.node.findNode(target);
        targets = lookup.closest;
        if (flags.json) this.note(jsonLine({ summary: 'sample-lookup', target: toHex(target), nodes: lookup.closest.length, ...lookupStats(lookup) }));
        else progress.log(fitLine(`lookup ${toHex(target)}: ${lookup.closest.length} nodes; ${statsLine(lookup)}`));
      }
      progress.update(`sampling ${targets.length} node(s)`);
      for await (const { to, out } of this.untilOutputGone(mapConcurrent(targets, flags.concurrency, async (to: SampleTarget) => ({ to, out: await session.node.sample(to, target) })))) {
        if (this.stdout.closed) break;
        const base = { address: address(to), ...(to.id ? { id: toHex(to.id) } : {}) };
        let rec: Record<string, unknown>;
        if (out.ok) {
          answered++;
          const r = out.msg.r;
          const samples = (r.samples ?? []).map(toHex);
          rec = {
            ...base,
            id: toHex(r.id),
            ok: true,
            supported: true,
            ...versionFields(out.msg.v),
            rtt_ms: out.rttMs,
            num: r.num ?? null,
            interval: r.interval ?? null,
            samples_count: samples.length,
            samples,
            nodes_count: (r.nodes?.length ?? 0) + (r.nodes6?.length ?? 0),
          };
          rows.push([rec.address as string, samples.length, r.num, r.interval, rec.nodes_count as number, rec.client as string | null, 'ok']);
        } else {
          const notSupported = unsupported(out);
          if (notSupported || out.kind === 'error') answered++;
          rec = {
            ...base,
            ok: false,
            supported: notSupported ? false : null,
            ...('msg' in out && out.msg ? versionFields(out.msg.v) : {}),
            error: describeFailure(out),
          };
          rows.push([rec.address as string, null, null, null, null, rec.client as string | null | undefined, notSupported ? `not supported (${rec.error})` : (rec.error as string)]);
        }
        if (flags.json) await this.stdout.recordAndWait(rec);
      }
    } finally {
      progress.stop();
      await session.close();
    }
    if (!flags.json) this.stdout.text(renderTable(SAMPLE_COLUMNS, rows) + '\n');
    if (problems.length > 0) this.exit(2);
    if (answered === 0 && !this.stdout.closed) throw new NothingFoundError('no node answered');
  }
}
