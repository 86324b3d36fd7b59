import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { BadInputError, NothingFoundError } from '../cli/errors.js';
import { parseInfohashArgs } from '../cli/infohash-args.js';
import { mapConcurrent } from '../core/util/pool.js';
import { toHex } from '../core/wire/hex.js';
import { lookupNodeRecord, lookupStats, statsLine } from '../output/lookup-records.js';
import { replyToJson } from '../output/krpc-json.js';
import { address, jsonLine } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderTable } from '../output/table.js';

export default class GetPeers extends BaseCommand {
  static override description = 'Iterative get_peers: peers of an infohash, the nodes that gave them, and write tokens';
  static override examples = ['<%= config.bin %> get-peers 0123456789abcdef0123456789abcdef01234567', '<%= config.bin %> get-peers "magnet:?xt=urn:btih:…" --json', 'cat infohashes.txt | <%= config.bin %> get-peers - --json'];
  static override strict = false;
  static override args = { infohash: Args.string({ description: '40-hex infohash or magnet link (btih: 40 hex or 32 base32); - reads one per line from stdin', required: true }) };
  static override flags = {
    ...dhtFlags,
    alpha: Flags.integer({ description: 'queries in flight per lookup (at most 16)', default: 4, min: 1, max: 16 }),
    concurrency: Flags.integer({ description: 'infohashes looked up at once (at most 64)', default: 4, min: 1, max: 64 }),
    noseed: Flags.boolean({ description: 'ask for non-seeds only (BEP 33 noseed=1)' }),
    raw: Flags.boolean({ description: 'include every reply received' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(GetPeers);
    const { infohashes, problems } = parseInfohashArgs(await this.collectInputs(argv as string[]));
    for (const p of problems) this.badLines.add(`get-peers: ${p}`);
    if (infohashes.length === 0) {
      if (problems.length > 0) this.exit(2);
      throw new BadInputError('no infohash given');
    }
    const session = await openSession(flags, { readOnly: true });
    const progress = startProgress(`get_peers for ${infohashes.length} infohash(es)`, flags.json ? false : undefined);
    let withPeers = 0;
    let answered = 0;
    let droppedPeers = 0;
    try {
      const lookups = mapConcurrent(infohashes, flags.concurrency, async (ih: Uint8Array) => {
        const replies: unknown[] = [];
        const result = await session.node.getPeers(ih, {
          alpha: flags.alpha,
          noseed: flags.noseed,
          ...(flags.raw ? { onReply: (msg, from) => replies.push({ from: toHex(from.id), reply: replyToJson(msg.rawBody) }) } : {}),
        });
        return { ih, result, replies };
      });
      for await (const { ih, result, replies } of this.untilOutputGone(lookups)) {
        if (result.closest.length > 0) answered++;
        if (result.peers.length > 0) withPeers++;
        droppedPeers += result.stats.droppedPeers;
        const rec = {
          infohash: toHex(ih),
          peers_count: result.peers.length,
          dropped_peers: result.stats.droppedPeers,
          peers: result.peers.map((p) => ({ address: address(p.peer), sources: p.from.map(toHex) })),
          nodes: result.closest.map((n) => {
            const tok = result.tokens.get(toHex(n.id));
            return { ...lookupNodeRecord(n, ih), token: tok ? toHex(tok.token) : null };
          }),
          ...lookupStats(result),
          ...(flags.raw ? { replies } : {}),
        };
        if (flags.json) {
          await this.stdout.recordAndWait(rec);
          continue;
        }
        const dropped = rec.dropped_peers > 0 ? ` (${rec.dropped_peers} dropped: port 0 or bogon)` : '';
        progress.log(fitLine(`infohash ${rec.infohash}: ${rec.peers_count} peers${dropped} from ${result.closest.length} closest nodes; ${statsLine(result)}`));
        if (rec.peers.length > 0) {
          this.stdout.text(renderTable([{ header: 'peer' }, { header: 'given by (node ids)', hex: true, wrap: true }], rec.peers.map((p) => [p.address, p.sources.join(' ')])) + '\n');
        }
        this.stdout.text(
          renderTable(
            [{ header: 'node id', hex: true }, { header: 'address' }, { header: 'shared bits', align: 'right' }, { header: 'token', hex: true, drop: 2 }, { header: 'client', drop: 1 }],
            rec.nodes.map((n) => [n.id, n.address, n.distance_bits, n.token, n.client]),
          ) + '\n',
        );
        if (flags.raw) for (const r of replies) this.stdout.text(jsonLine(r) + '\n');
      }
    } finally {
      progress.stop();
      await session.close();
    }
    if (flags.json) this.note(jsonLine({ summary: 'get-peers', infohashes: infohashes.length, answered, with_peers: withPeers, dropped_peers: droppedPeers, bad_inputs: problems.length }));
    if (problems.length > 0) this.exit(2);
    if (this.stdout.closed) return;
    if (answered === 0) throw new NothingFoundError('no node answered');
    // nodes answering without peers is still "nothing found" (docs/output.md, exit codes)
    if (withPeers === 0) throw new NothingFoundError(`no peers found (${answered} of ${infohashes.length} infohash lookup(s) answered)`);
  }
}
