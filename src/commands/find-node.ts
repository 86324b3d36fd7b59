import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { BadInputError, NothingFoundError } from '../cli/errors.js';
import { where } from '../cli/endpoint-input.js';
import { parseIdInput } from '../cli/id-input.js';
import { toHex } from '../core/wire/hex.js';
import { lookupNodeRecord, lookupStats, statsLine } from '../output/lookup-records.js';
import { replyToJson } from '../output/krpc-json.js';
import { jsonLine, roundMs } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderTable } from '../output/table.js';

export default class FindNode extends BaseCommand {
  static override description = 'Iterative find_node: the k closest nodes to a target id';
  static override examples = [
    '<%= config.bin %> find-node 0123456789abcdef0123456789abcdef01234567 --bootstrap 127.0.0.1:6881',
    '<%= config.bin %> find-node random --json',
    'cat targets.txt | <%= config.bin %> find-node - --json',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: '40-hex target id, or "random"; - reads one per line from stdin (hex, or NDJSON with "target"/"id")', required: true }) };
  static override flags = {
    ...dhtFlags,
    alpha: Flags.integer({ description: 'queries in flight during the lookup (at most 16)', default: 4, min: 1, max: 16 }),
    raw: Flags.boolean({ description: 'also print every reply received (NDJSON records with "reply")' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(FindNode);
    const targets: Uint8Array[] = [];
    const seen = new Set<string>();
    for (const input of await this.collectInputs(argv as string[])) {
      const r = parseIdInput(input.value, { random: true });
      if (r.ok) {
        // k records of one lookup all carry its target: look it up once
        if (!seen.has(toHex(r.id))) targets.push(r.id);
        seen.add(toHex(r.id));
      } else if (!r.skip) this.badLines.add(`find-node: ${where(input)}${r.error}`);
    }
    if (targets.length === 0) {
      if (this.badLines.count > 0) this.exit(2);
      throw new BadInputError('no target given');
    }
    const session = await openSession(flags, { readOnly: true });
    const progress = startProgress(`find_node ${toHex(targets[0])}`, flags.json ? false : undefined);
    let found = 0;
    let last = '';
    try {
      for (const target of targets) {
        if (this.stdout.closed) break;
        progress.update(`find_node ${toHex(target)}`);
        const replies: Array<Record<string, unknown>> = [];
        const result = await session.node.findNode(target, {
          alpha: flags.alpha,
          signal: this.outputGone,
          ...(flags.raw ? { onReply: (msg, from) => replies.push({ from: toHex(from.id), reply: replyToJson(msg.rawBody) }) } : {}),
        });
        if (this.stdout.closed) break;
        progress.stop();
        const records = result.closest.map((n) => ({ target: toHex(target), ...lookupNodeRecord(n, target) }));
        found += records.length;
        last = statsLine(result);
        if (flags.json) {
          for (const r of records) await this.stdout.recordAndWait(r);
          for (const r of replies) await this.stdout.recordAndWait({ target: toHex(target), ...r });
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
      }
    } finally {
      progress.stop();
      await session.close();
    }
    if (this.badLines.count > 0) this.exit(2);
    if (found === 0 && !this.stdout.closed) throw new NothingFoundError(`no node answered (${last})`);
  }
}
