import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { parseEndpointInputs } from '../cli/endpoint-input.js';
import { BadInputError, NothingFoundError, quote } from '../cli/errors.js';
import { parseQueryArg } from '../cli/query-args.js';
import { describeFailure } from '../core/dht/dht-node.js';
import { toHex } from '../core/wire/hex.js';
import type { BEncodable } from '../core/wire/types.js';
import { address, bvalueToJson, ms, versionFields } from '../output/records.js';

export default class Query extends BaseCommand {
  static override description = 'Send any KRPC query to one node and print the whole reply (unknown keys included, binary as hex)';
  static override examples = [
    '<%= config.bin %> query 127.0.0.1:6881 ping',
    '<%= config.bin %> query 127.0.0.1:6881 sample_infohashes --arg target=0123456789abcdef0123456789abcdef01234567',
    '<%= config.bin %> query 127.0.0.1:6881 get_peers --arg info_hash=… --arg scrape=i:1 --arg want=l:n4,n6',
  ];
  static override args = {
    address: Args.string({ description: 'host:port of the node', required: true }),
    method: Args.string({ description: 'KRPC method (ping, find_node, get_peers, announce_peer, sample_infohashes, get, put, or any other)', required: true }),
  };
  static override flags = {
    ...dhtFlags,
    arg: Flags.string({ char: 'a', multiple: true, description: 'query argument key=value (i:42 integer, hex:… bytes, l:a,b list, 40 hex = 20 bytes, else text); `id` is ours unless given' }),
    'read-write': Flags.boolean({ description: 'do not mark the query read-only (BEP 43 ro=1 is sent by default)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Query);
    const { endpoints, problems } = await parseEndpointInputs([{ value: args.address, line: 0 }]);
    if (endpoints.length === 0) throw new BadInputError(problems[0] ?? 'no address');
    if (!/^[\x21-\x7e]{1,64}$/.test(args.method)) throw new BadInputError(`method ${quote(args.method)} must be 1-64 printable ASCII characters`);
    const queryArgs: { [key: string]: BEncodable } = {};
    for (const a of flags.arg ?? []) {
      const parsed = parseQueryArg(a);
      if ('error' in parsed) throw new BadInputError(parsed.error);
      queryArgs[parsed.key] = parsed.value;
    }
    const to = endpoints[0].endpoint;
    const session = await openSession(flags, { readOnly: !flags['read-write'], needsBootstrap: false, contacts: [to.host] });
    try {
      const out = await session.engine.query(to, args.method, queryArgs, { retries: 0 });
      let rec: Record<string, unknown>;
      if (out.ok) {
        rec = { address: address(to), method: args.method, ok: true, y: 'r', rtt_ms: ms(out.rttMs), ...versionFields(out.msg.v), ip: out.msg.ip ? address(out.msg.ip) : null, id: toHex(out.msg.r.id), reply: bvalueToJson(out.msg.rawBody) };
      } else if (out.kind === 'error') {
        rec = { address: address(to), method: args.method, ok: false, y: 'e', rtt_ms: ms(out.rttMs), ...versionFields(out.msg.v), error_code: out.code, error_message: out.message };
      } else if (out.kind === 'bad_reply' || out.kind === 'id_mismatch') {
        // The raw probe shows what came back even when it breaks the method's rules.
        rec = { address: address(to), method: args.method, ok: false, y: 'r', rtt_ms: ms(out.rttMs), error: describeFailure(out), ...('msg' in out && out.msg ? { reply: bvalueToJson(out.msg.rawBody) } : {}) };
      } else {
        rec = { address: address(to), method: args.method, ok: false, error: describeFailure(out) };
      }
      if (flags.json) this.stdout.record(rec);
      else this.stdout.text(JSON.stringify(rec, null, 2) + '\n');
      if (!out.ok && out.kind !== 'error' && out.kind !== 'bad_reply' && out.kind !== 'id_mismatch') throw new NothingFoundError(describeFailure(out));
    } finally {
      await session.close();
    }
  }
}
