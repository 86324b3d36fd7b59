import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { parseEndpointInputs } from '../cli/endpoint-input.js';
import { BadInputError, NothingFoundError } from '../cli/errors.js';
import { bep42Ok, isBep42Exempt } from '../core/dht/secure-id.js';
import { describeFailure } from '../core/dht/dht-client.js';
import { mapConcurrent } from '../core/util/pool.js';
import { toHex } from '../core/wire/hex.js';
import { replyToJson } from '../output/krpc-json.js';
import { address, roundMs, versionFields } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { renderTable, type Cell, type Column } from '../output/table.js';

const PING_COLUMNS: Column[] = [
  { header: 'address' },
  { header: 'id', hex: true },
  { header: 'client', drop: 1 },
  { header: 'rtt ms', align: 'right' },
  { header: 'our address', drop: 3 },
  { header: 'BEP 42', drop: 2 },
  { header: 'status', wrap: true },
];

export default class Ping extends BaseCommand {
  static override description = 'Ping DHT nodes: id, client version, round trip, our address as they see it, BEP 42 validity';
  static override examples = ['<%= config.bin %> ping 127.0.0.1:6881', 'cat nodes.txt | <%= config.bin %> ping - --json'];
  static override strict = false;
  static override args = { address: Args.string({ description: 'host:port or [v6]:port; - reads one per line from stdin', required: true }) };
  static override flags = {
    ...dhtFlags,
    concurrency: Flags.integer({ description: 'pings in flight (at most 256)', default: 16, min: 1, max: 256 }),
    raw: Flags.boolean({ description: 'include the whole reply' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Ping);
    const inputs = await this.collectInputs(argv as string[]);
    const { endpoints, problems } = await parseEndpointInputs(inputs);
    for (const p of problems) this.badLines.add(`ping: ${p}`);
    if (endpoints.length === 0) {
      if (problems.length > 0) this.exit(2);
      throw new BadInputError('no address given');
    }

    const session = await openSession(flags, { readOnly: true, needsBootstrap: false, contacts: endpoints.map((e) => e.endpoint.host) });
    const progress = flags.json ? startProgress('', false) : startProgress(`pinging ${endpoints.length} node(s)`);
    const rows: Cell[][] = [];
    let answered = 0;
    try {
      for await (const { e, out } of this.untilOutputGone(mapConcurrent(endpoints, flags.concurrency, async (e) => ({ e, out: await session.node.ping(e.endpoint) })))) {
        if (this.stdout.closed) break;
        const base = { address: address(e.endpoint) };
        let rec: Record<string, unknown>;
        if (out.ok) {
          answered++;
          const id = out.msg.r.id;
          rec = {
            ...base,
            ok: true,
            id: toHex(id),
            ...versionFields(out.msg.v),
            rtt_ms: out.rttMs,
            ip: out.msg.ip ? address(out.msg.ip) : null,
            bep42_valid: bep42Ok(id, e.endpoint.host),
            bep42_exempt: isBep42Exempt(e.endpoint.host),
            ...(flags.raw ? { reply: replyToJson(out.msg.rawBody) } : {}),
          };
          rows.push([rec.address as string, rec.id as string, rec.client as string | null, roundMs(out.rttMs), rec.ip as string | null, rec.bep42_exempt ? 'exempt' : rec.bep42_valid ? 'yes' : 'no', 'ok']);
        } else {
          rec = { ...base, ok: false, error: describeFailure(out) };
          rows.push([rec.address as string, '', '', '', '', '', rec.error as string]);
        }
        if (flags.json) await this.stdout.recordAndWait(rec);
      }
    } finally {
      progress.stop();
      await session.close();
    }
    if (!flags.json) this.stdout.text(renderTable(PING_COLUMNS, rows) + '\n');
    if (problems.length > 0) this.exit(2);
    if (answered === 0 && !this.stdout.closed) throw new NothingFoundError(`no node answered (${endpoints.length} pinged)`);
  }
}
