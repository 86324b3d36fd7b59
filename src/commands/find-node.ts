import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { BadInputError, NothingFoundError } from '../cli/errors.js';
import { idFromHex, randomId } from '../core/dht/node-id.js';
import { toHex } from '../core/wire/hex.js';
import { lookupNodeRecord, lookupStats, statsLine } from '../output/lookup-records.js';
import { replyToJson } from '../output/krpc-json.js';
import { jsonLine, roundMs } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderTable } from '../output/table.js';

export default class FindNode extends BaseCommand {
  static override description = 'Iterative find_node: the k closest nodes to a target id';
  static override examples = ['<%= config.bin %> find-node 0123456789abcdef0123456789abcdef01234567 --bootstrap 127.0.0.1:6881', '<%= config.bin %> find-node random --json'];
  static override args = { target: Args.string({ description: '40-hex target id, or "random"', required: true }) };
  static override flags = {
    ...dhtFlags,
    alpha: Flags.integer({ description: 'queries in flight during the lookup (at most 16)', default: 4, min: 1, max: 16 }),
    raw: Flags.boolean({ description: 'also print every reply received (NDJSON records with "reply")' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(FindNode);
    let target: Uint8Array;
    if (args.target === 'random') target = randomId();
    else {
      const parsed = idFromHex(args.target);
      if (!parsed.ok) throw new BadInputError(`target: ${parsed.error}`);
      target = parsed.value;
    }
    const session = await openSession(flags, { readOnly: true });
    const progress = startProgress(`find_node ${toHex(target)}`, flags.json ? false : undefined);
    const replies: Array<Record<string, unknown>> = [];
    try {
      const result = await session.node.findNode(target, {
        alpha: flags.alpha,
        ...(flags.raw ? { onReply: (msg, from) => replies.push({ from: toHex(from.id), reply: replyToJson(msg.rawBody) }) } : {}),
      });
      progress.stop();
      const records = result.closest.map((n) => ({ target: toHex(target), ...lookupNodeRecord(n, target) }));
      if (flags.json) {
        for (const r of records) this.stdout.record(r);
        for (const r of replies) this.stdout.record({ target: toHex(target), ...r });
        this.note(jsonLine({ summary: 'find-node', target: toHex(target), found: records.length, ...lookupStats(result) }));
      } else {
        this.stdout.text(
          renderTable(
            [{ header: 'id', hex: true }, { header: 'address' }, { header: 'shared bits', align: 'right' }, { header: 'rtt ms', align: 'right' }, { header: 'client', drop: 1 }],
            records.map((r) => [r.id, r.address, r.distance_bits, roundMs(r.rtt_ms), r.client]),
          ) + '\n',
        );
        for (const r of replies) this.stdout.text(jsonLine(r) + '\n');
        this.note(fitLine(`target ${toHex(target)}: ${records.length} nodes; ${statsLine(result)}`));
      }
      if (records.length === 0) throw new NothingFoundError(`no node answered (${statsLine(result)})`);
    } finally {
      progress.stop();
      await session.close();
    }
  }
}
