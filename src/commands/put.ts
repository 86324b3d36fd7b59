import { Args, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { BadInputError, CliError, quote } from '../cli/errors.js';
import { immutableTarget, MAX_SALT_BYTES, MAX_SEQ, MAX_VALUE_BYTES, signMutableItem } from '../core/dht/item-rules.js';
import { putItem, valueProblem, type PutItemResult, type PutPayload } from '../core/dht/items-client.js';
import { KeyFileError, readKeyFile } from '../core/dht/keyfile.js';
import { encode } from '../core/wire/bencode.js';
import { toHex } from '../core/wire/hex.js';
import { lookupStats, statsLine } from '../output/lookup-records.js';
import { address, versionFields } from '../output/records.js';
import { startProgress } from '../output/progress.js';
import { fitLine, renderKeyValues, renderTable } from '../output/table.js';

/** A seq for JSON: a number while it is exact, a decimal string beyond 2^53. */
function seqJson(seq: bigint): number | string {
  return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : seq.toString();
}

function parseSeqFlag(name: string, text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > MAX_SEQ) throw new BadInputError(`--${name} must be an integer from 0 to 2^63-1, got ${quote(text)}`);
  return BigInt(text);
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    // Anything this long cannot be a BEP 44 value; stop reading rather than buffer it all.
    if (size > 64 * 1024) break;
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export default class Put extends BaseCommand {
  static override description = 'Store a BEP 44 item in the DHT: immutable (keyed by its hash) or, with --key, mutable (signed, with a sequence number)';
  static override examples = [
    '<%= config.bin %> put "Hello World!"',
    '<%= config.bin %> put --key my.key --salt profile "new status"',
    '<%= config.bin %> put --bencoded "d4:name3:bobe" --json',
    'echo -n payload | <%= config.bin %> put -',
  ];
  static override args = {
    value: Args.string({ description: 'the value (stored as a bencoded byte string unless --bencoded); - reads it from stdin' }),
  };
  static override flags = {
    ...dhtFlags,
    'value-file': Flags.string({ description: 'read the value from this file (raw bytes) instead of VALUE' }),
    bencoded: Flags.boolean({ description: 'the value is already bencoded (must be canonical); stored as it is' }),
    key: Flags.string({ description: 'ed25519 key file (from `keygen`): store a mutable item signed with it' }),
    salt: Flags.string({ description: `salt of a mutable item (UTF-8, at most ${MAX_SALT_BYTES} bytes)`, dependsOn: ['key'] }),
    seq: Flags.string({ description: 'sequence number of a mutable item (default: one more than the DHT holds, 1 if none)', dependsOn: ['key'] }),
    cas: Flags.string({ description: 'only replace the item if its current seq is this (compare-and-swap)', dependsOn: ['key'] }),
    alpha: Flags.integer({ description: 'queries in flight during the lookup (at most 16)', default: 4, min: 1, max: 16 }),
    'dry-run': Flags.boolean({ description: 'print the target (and signature) without touching the network' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Put);
    const vRaw = await this.readValue(args.value, flags['value-file'], flags.bencoded);
    const salt = flags.salt === undefined ? undefined : new Uint8Array(Buffer.from(flags.salt, 'utf8'));
    if (salt && salt.length > MAX_SALT_BYTES) throw new BadInputError(`--salt is ${salt.length} bytes; BEP 44 allows at most ${MAX_SALT_BYTES}`);
    const seq = parseSeqFlag('seq', flags.seq);
    const cas = parseSeqFlag('cas', flags.cas);
    let seed: Uint8Array | undefined;
    if (flags.key !== undefined) {
      try {
        seed = (await readKeyFile(flags.key)).seed;
      } catch (err) {
        if (err instanceof KeyFileError) throw new BadInputError(err.message);
        throw err;
      }
    }

    if (flags['dry-run']) {
      this.print(this.dryRun(vRaw, seed, salt, seq, cas), flags.json);
      return;
    }

    const session = await openSession(flags, { readOnly: true });
    const progress = startProgress('BEP 44 get lookup, then put', flags.json ? false : undefined);
    let result: PutItemResult;
    try {
      const lookup = { alpha: flags.alpha };
      result = await putItem(
        session.node,
        seed
          ? { kind: 'mutable', seed, vRaw, ...(salt ? { salt } : {}), ...(seq !== undefined ? { seq } : {}), ...(cas !== undefined ? { cas } : {}) }
          : { kind: 'immutable', vRaw },
        { lookup },
      );
    } finally {
      progress.stop();
      await session.close();
    }
    const rec = this.record(result);
    this.print(rec, flags.json, result);
    if (result.refused) throw new CliError(`${result.refused.message} (${result.before.lookup.stats.replies} nodes answered)`, 1);
    if (rec.stored === 0) {
      const why = [...new Set(result.results.map((r) => r.error ?? 'refused'))].join('; ');
      throw new CliError(`no node stored the item: ${why}`, 1);
    }
  }

  private async readValue(arg: string | undefined, file: string | undefined, bencoded: boolean): Promise<Uint8Array> {
    let bytes: Uint8Array;
    if (file !== undefined && arg !== undefined) throw new BadInputError('give either VALUE or --value-file, not both');
    if (file !== undefined) {
      try {
        bytes = new Uint8Array(await readFile(file));
      } catch (err) {
        throw new BadInputError(`cannot read --value-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    } else if (arg === '-') {
      bytes = await readStdin();
    } else if (arg !== undefined) {
      bytes = new Uint8Array(Buffer.from(arg, 'utf8'));
    } else {
      throw new BadInputError('give a VALUE, - for stdin, or --value-file PATH');
    }
    // Refuse oversized input before encoding it.
    if (bytes.length > 64 * 1024) throw new BadInputError(`the value is too big: BEP 44 allows at most ${MAX_VALUE_BYTES} bytes bencoded`);
    const vRaw = bencoded ? bytes : encode(bytes);
    if (vRaw.length > MAX_VALUE_BYTES) {
      throw new BadInputError(`the value is ${vRaw.length} bytes bencoded; BEP 44 allows at most ${MAX_VALUE_BYTES}`);
    }
    const problem = valueProblem(vRaw);
    if (problem) throw new BadInputError(bencoded ? `--bencoded: the value is not one canonical bencoded value (${problem})` : problem);
    return vRaw;
  }

  private dryRun(vRaw: Uint8Array, seed?: Uint8Array, salt?: Uint8Array, seq?: bigint, cas?: bigint): PutRecord {
    const base = { dry_run: true, value_bytes: vRaw.length, v_hex: toHex(vRaw) };
    if (!seed) return { target: toHex(immutableTarget(vRaw)), kind: 'immutable', ...base };
    const signed = signMutableItem(seed, vRaw, seq ?? 1n, salt);
    return { target: toHex(signed.target), kind: 'mutable', ...base, ...mutableFields({ ...signed, ...(cas !== undefined ? { cas } : {}) }) };
  }

  private record(r: PutItemResult): PutRecord & { stored: number } {
    const stored = r.results.filter((x) => x.ok).length;
    const previous = r.before.item?.seq;
    return {
      target: toHex(r.target),
      kind: r.kind,
      value_bytes: r.payload.vRaw.length,
      v_hex: toHex(r.payload.vRaw),
      ...(r.kind === 'mutable' ? mutableFields(r.payload) : {}),
      ...(r.kind === 'mutable' ? { previous_seq: previous === undefined ? null : seqJson(previous) } : {}),
      stored,
      failed: r.results.length - stored,
      refused: r.refused?.reason ?? null,
      ...(r.refused?.reason === 'cas_mismatch' || r.refused?.reason === 'seq_conflict' ? { current_seq: seqJson(r.refused.currentSeq) } : {}),
      nodes: r.results.map((x) => ({
        id: toHex(x.node.id),
        address: address(x.node),
        stored: x.ok,
        ...(x.rttMs !== undefined ? { rtt_ms: x.rttMs } : {}),
        ...(x.code !== undefined ? { code: x.code } : {}),
        ...(x.error ? { error: x.error } : {}),
        ...versionFields(x.node.version),
      })),
      nodes_answered: r.before.lookup.stats.replies,
      bad_items: r.before.bad.length,
      lookup: lookupStats(r.before.lookup),
    };
  }

  private print(rec: PutRecord, json: boolean, r?: PutItemResult): void {
    if (json) {
      this.stdout.record(rec);
      return;
    }
    this.stdout.text(
      renderKeyValues([
        ['target', rec.target, { keep: true }],
        ['kind', `${rec.kind}${rec.seq !== undefined ? ` (seq ${rec.seq})` : ''}`],
        ['key', rec.k, { keep: true }],
        ['salt', rec.salt, { keep: true }],
        ['sig', rec.sig],
      ]) + '\n',
    );
    if (!r) return;
    const nodes = (rec.nodes ?? []) as Array<{ id: string; address: string; stored: boolean; error?: string }>;
    this.note(fitLine(`stored on ${rec.stored} of ${nodes.length} nodes; lookup ${statsLine(r.before.lookup)}`));
    if (nodes.length > 0) {
      this.stdout.text(
        renderTable([{ header: 'node id', hex: true }, { header: 'address' }, { header: 'stored' }, { header: 'detail', wrap: true }], nodes.map((n) => [n.id, n.address, n.stored ? 'yes' : 'no', n.error])) + '\n',
      );
    }
  }
}

type PutRecord = Record<string, unknown> & { target: string; kind: string; k?: string; salt?: string; sig?: string; seq?: number | string };

function mutableFields(p: Pick<PutPayload, 'k' | 'salt' | 'seq' | 'sig' | 'cas'>): Record<string, unknown> {
  return {
    k: toHex(p.k!),
    ...(p.salt ? { salt: Buffer.from(p.salt).toString('utf8'), salt_hex: toHex(p.salt) } : {}),
    ...(p.seq !== undefined ? { seq: seqJson(p.seq) } : {}),
    ...(p.sig ? { sig: toHex(p.sig) } : {}),
    ...(p.cas !== undefined ? { cas: seqJson(p.cas) } : {}),
  };
}
