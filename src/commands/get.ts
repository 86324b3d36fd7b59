import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { where } from '../cli/endpoint-input.js';
import { BadInputError, NothingFoundError, quote } from '../cli/errors.js';
import { parseIdInput } from '../cli/id-input.js';
import { MAX_SALT_BYTES, MAX_SEQ, mutableTarget } from '../core/dht/item-rules.js';
import { getItem, type GetItemResult } from '../core/dht/items-client.js';
import { decode } from '../core/wire/bencode.js';
import { fromHex, toHex } from '../core/wire/hex.js';
import { lookupStats, statsLine } from '../output/lookup-records.js';
import { address } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderKeyValues, type KeyValue } from '../output/table.js';

/** A seq for JSON: a number while it is exact, a decimal string beyond 2^53. */
function seqJson(seq: bigint): number | string {
  return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : seq.toString();
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * How a value is shown: a bencoded byte string by its content, any other bencoded value by its
 * bencoding; as UTF-8 text when the bytes are valid UTF-8, else hex.
 */
function describeValue(vRaw: Uint8Array): { value: string; value_encoding: 'utf8' | 'hex'; value_type: 'string' | 'bencoded' } {
  const decoded = decode(vRaw);
  const isString = decoded.ok && decoded.value instanceof Uint8Array;
  const bytes = isString ? (decoded.value as Uint8Array) : vRaw;
  const value_type = isString ? 'string' : 'bencoded';
  try {
    return { value: strictUtf8.decode(bytes), value_encoding: 'utf8', value_type };
  } catch {
    return { value: toHex(bytes), value_encoding: 'hex', value_type };
  }
}

export default class Get extends BaseCommand {
  static override description = 'Read a BEP 44 item from the DHT: immutable by its target, mutable by public key (and salt); every copy is verified';
  static override examples = [
    '<%= config.bin %> get e5f96f6f38320f0f33959cb4d3d656452117aadb',
    '<%= config.bin %> get --pubkey 77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548 --salt foobar --json',
  ];
  static override strict = false;
  static override args = {
    target: Args.string({ description: 'the item target (40 hex); - reads one per line from stdin (hex, or NDJSON with "target"); or use --pubkey' }),
  };
  static override flags = {
    ...dhtFlags,
    pubkey: Flags.string({ description: 'public key of a mutable item (64 hex)' }),
    salt: Flags.string({ description: `salt of a mutable item (UTF-8, at most ${MAX_SALT_BYTES} bytes)` }),
    seq: Flags.string({ description: 'only want a mutable item newer than this seq' }),
    alpha: Flags.integer({ description: 'queries in flight (at most 16)', default: 4, min: 1, max: 16 }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Get);
    const salt = flags.salt === undefined ? undefined : new Uint8Array(Buffer.from(flags.salt, 'utf8'));
    if (salt && salt.length > MAX_SALT_BYTES) throw new BadInputError(`--salt is ${salt.length} bytes; BEP 44 allows at most ${MAX_SALT_BYTES}`);
    let seq: bigint | undefined;
    if (flags.seq !== undefined) {
      if (!/^\d{1,19}$/.test(flags.seq) || BigInt(flags.seq) > MAX_SEQ) throw new BadInputError(`--seq must be an integer from 0 to 2^63-1, got ${quote(flags.seq)}`);
      seq = BigInt(flags.seq);
    }
    const targets: Uint8Array[] = [];
    let pubkey: Uint8Array | undefined;
    const args = argv as string[];
    if (flags.pubkey !== undefined) {
      if (args.length > 0) throw new BadInputError('give either TARGET or --pubkey, not both');
      const k = fromHex(flags.pubkey, 32);
      if (!k) throw new BadInputError(`--pubkey must be 64 hex digits, got ${quote(flags.pubkey)}`);
      pubkey = k;
      targets.push(mutableTarget(k, salt));
    } else {
      if (args.length === 0) throw new BadInputError('give a TARGET (40 hex), - for stdin, or --pubkey HEX');
      const seen = new Set<string>();
      for (const input of await this.collectInputs(args)) {
        const r = parseIdInput(input.value);
        if (!r.ok) {
          if (!r.skip) this.badLines.add(`get: ${where(input)}${r.error}`);
        } else if (!seen.has(toHex(r.id))) {
          seen.add(toHex(r.id));
          targets.push(r.id);
        }
      }
      if (targets.length === 0) {
        if (this.badLines.count > 0) this.exit(2);
        throw new BadInputError('no target given');
      }
    }

    const session = await openSession(flags, { readOnly: true });
    const progress = startProgress(`BEP 44 get ${toHex(targets[0])}`, flags.json ? false : undefined);
    let replies = 0;
    let found = 0;
    let last: GetItemResult | null = null;
    try {
      for (const target of targets) {
        if (this.stdout.closed) break;
        progress.update(`BEP 44 get ${toHex(target)}`);
        const result = await getItem(session.node, target, {
          ...(salt ? { salt } : {}),
          ...(pubkey ? { pubkey } : {}),
          ...(seq !== undefined ? { seq } : {}),
          lookup: { alpha: flags.alpha, signal: this.outputGone },
        });
        if (this.stdout.closed) break;
        progress.stop();
        last = result;
        replies += result.lookup.stats.replies;
        if (result.item) found++;
        const rec = record(result, salt);
        if (flags.json) await this.stdout.recordAndWait(rec);
        else this.human(rec, result);
      }
    } finally {
      progress.stop();
      await session.close();
    }
    if (this.badLines.count > 0) this.exit(2);
    if (this.stdout.closed || last === null || found > 0) return;
    if (replies === 0) throw new NothingFoundError('no node answered');
    if (targets.length > 1) throw new NothingFoundError(`no valid item found for any of ${targets.length} targets`);
    const bad = last.bad.length > 0 ? `, ${last.bad.length} bad item(s) ignored` : '';
    const newer = last.seqOnly !== undefined ? `; nodes hold seq ${last.seqOnly}, not newer than --seq` : '';
    throw new NothingFoundError(`no valid item found (${last.lookup.stats.replies} nodes answered${bad})${newer}`);
  }

  private human(rec: Record<string, unknown>, r: GetItemResult): void {
    const lines: KeyValue[] = [['target', rec.target as string, { keep: true }]];
    if (r.item) {
      const shown = rec.value_encoding === 'hex' ? `${rec.value} (hex)` : String(rec.value);
      lines.push(
        ['kind', `${r.item.kind}${r.item.seq !== undefined ? ` (seq ${r.item.seq})` : ''}`],
        ['key', rec.k as string | undefined, { keep: true }],
        ['salt', rec.salt as string | undefined, { keep: true }],
        ['sig', rec.sig as string | undefined],
        ['value', rec.value_type === 'bencoded' ? `${shown} (bencoded)` : shown, { keep: true }],
      );
    }
    this.stdout.text(renderKeyValues(lines) + '\n');
    this.note(fitLine(`${r.holders} of ${r.lookup.stats.replies} answering nodes hold it; ${r.bad.length} bad item(s); lookup ${statsLine(r.lookup)}`));
    for (const b of r.bad) this.note(`bad item from ${toHex(b.node.id)} ${address(b.node)}: ${b.reason}`);
  }
}

function record(r: GetItemResult, salt: Uint8Array | undefined): Record<string, unknown> {
  const item = r.item;
  return {
    target: toHex(r.target),
    found: item !== null,
    ...(item
      ? {
          kind: item.kind,
          ...describeValue(item.vRaw),
          v_hex: toHex(item.vRaw),
          ...(item.kind === 'mutable'
            ? {
                seq: seqJson(item.seq!),
                k: toHex(item.k!),
                sig: toHex(item.sig!),
                ...(salt && salt.length > 0 ? { salt: Buffer.from(salt).toString('utf8'), salt_hex: toHex(salt) } : {}),
              }
            : {}),
          sources: item.from.map((n) => ({ id: toHex(n.id), address: address(n) })),
        }
      : {}),
    ...(r.seqOnly !== undefined ? { seq_only: seqJson(r.seqOnly) } : {}),
    holders: r.holders,
    nodes_answered: r.lookup.stats.replies,
    bad_items: r.bad.length,
    bad: r.bad.map((b) => ({ id: toHex(b.node.id), address: address(b.node), reason: b.reason })),
    lookup: lookupStats(r.lookup),
  };
}
