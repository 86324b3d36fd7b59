import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { BadInputError, NothingFoundError } from '../cli/errors.js';
import { parseInfohashArgs } from '../cli/infohash-args.js';
import { mapConcurrent } from '../core/util/pool.js';
import { toHex } from '../core/wire/hex.js';
import { lookupStats, statsLine } from '../output/lookup-records.js';
import { address } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderTable } from '../output/table.js';

export default class Announce extends BaseCommand {
  static override description = 'Announce ourselves as a peer: get_peers lookup, then announce_peer to the k closest nodes with their tokens';
  static override examples = ['<%= config.bin %> announce 0123456789abcdef0123456789abcdef01234567 --peer-port 51413', '<%= config.bin %> announce 0123456789abcdef0123456789abcdef01234567 --implied-port --json'];
  static override strict = false;
  static override args = { infohash: Args.string({ description: '40-hex infohash or magnet link (btih: 40 hex or 32 base32); - reads one per line from stdin', required: true }) };
  static override flags = {
    ...dhtFlags,
    'peer-port': Flags.integer({ description: 'the TCP/uTP port peers should connect to', min: 1, max: 65535, exclusive: ['implied-port'] }),
    'implied-port': Flags.boolean({ description: 'let nodes use our UDP source port (implied_port=1)' }),
    seed: Flags.boolean({ description: 'announce as a seed (BEP 33 seed=1)' }),
    concurrency: Flags.integer({ description: 'infohashes announced at once (at most 64)', default: 4, min: 1, max: 64 }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Announce);
    if (flags['peer-port'] === undefined && !flags['implied-port']) throw new BadInputError('give --peer-port P or --implied-port');
    const { infohashes, problems } = parseInfohashArgs(await this.collectInputs(argv as string[]));
    for (const p of problems) this.badLines.add(`announce: ${p}`);
    if (infohashes.length === 0) {
      if (problems.length > 0) this.exit(2);
      throw new BadInputError('no infohash given');
    }
    const session = await openSession(flags, { readOnly: true });
    const progress = startProgress(`announcing ${infohashes.length} infohash(es)`, flags.json ? false : undefined);
    let accepted = 0;
    try {
      const announced = mapConcurrent(infohashes, flags.concurrency, async (ih: Uint8Array) => {
        const lookup = await session.node.getPeers(ih);
        const results = await session.node.announce(ih, lookup, {
          ...(flags['peer-port'] !== undefined ? { port: flags['peer-port'] } : {}),
          impliedPort: flags['implied-port'],
          ...(flags.seed ? { seed: true } : {}),
        });
        return { ih, lookup, results };
      });
      for await (const { ih, lookup, results } of this.untilOutputGone(announced)) {
        const ok = results.filter((r) => r.ok).length;
        accepted += ok;
        const rec = {
          infohash: toHex(ih),
          port: flags['peer-port'] ?? null,
          implied_port: flags['implied-port'],
          accepted: ok,
          nodes: results.map((r) => ({ id: toHex(r.node.id), address: address(r.node), accepted: r.ok, ...(r.rttMs !== undefined ? { rtt_ms: r.rttMs } : {}), ...(r.error ? { error: r.error } : {}) })),
          lookup: lookupStats(lookup),
        };
        if (flags.json) {
          await this.stdout.recordAndWait(rec);
          continue;
        }
        progress.log(fitLine(`infohash ${rec.infohash}: accepted by ${ok} of ${results.length} nodes; lookup ${statsLine(lookup)}`));
        this.stdout.text(
          renderTable([{ header: 'node id', hex: true }, { header: 'address' }, { header: 'accepted' }, { header: 'detail', wrap: true }], rec.nodes.map((n) => [n.id, n.address, n.accepted ? 'yes' : 'no', n.error])) + '\n',
        );
      }
    } finally {
      progress.stop();
      await session.close();
    }
    if (problems.length > 0) this.exit(2);
    if (accepted === 0 && !this.stdout.closed) throw new NothingFoundError('no node accepted the announce');
  }
}
