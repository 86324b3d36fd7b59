import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dhtFlags, openSession } from '../cli/dht-session.js';
import { parseEndpointInputs, type EndpointInput } from '../cli/endpoint-input.js';
import { mapConcurrent } from '../core/util/pool.js';
import { BadInputError, NothingFoundError, quote } from '../cli/errors.js';
import { parseQueryArg } from '../cli/query-args.js';
import { describeFailure } from '../core/dht/dht-client.js';
import { toHex } from '../core/wire/hex.js';
import type { BEncodable } from '../core/wire/types.js';
import { replyToJson } from '../output/krpc-json.js';
import { address, jsonPretty, versionFields } from '../output/records.js';

/** Queries in flight when the addresses come from stdin. */
const QUERY_CONCURRENCY = 16;

export default class Query extends BaseCommand {
  static override description =
    'Send any KRPC query to one node and print the whole reply: known keys decoded (ids as hex, nodes, peers, samples, BEP 33 filters), unknown ones as text or hex. Exit 1 on an error reply or no reply';
  static override examples = [
    '<%= config.bin %> query 127.0.0.1:6881 ping',
    '<%= config.bin %> query 127.0.0.1:6881 sample_infohashes --arg target=0123456789abcdef0123456789abcdef01234567',
    '<%= config.bin %> query 127.0.0.1:6881 get_peers --arg info_hash=… --arg scrape=i:1 --arg want=l:n4,n6',
  ];
  static override args = {
    address: Args.string({ description: 'host:port of the node; - reads one per line from stdin (host:port, or NDJSON with "address")', required: true }),
    method: Args.string({ description: 'KRPC method (ping, find_node, get_peers, announce_peer, sample_infohashes, get, put, or any other)', required: true }),
  };
  static override flags = {
    ...dhtFlags,
    arg: Flags.string({ char: 'a', multiple: true, description: 'query argument key=value (i:42 integer, hex:… bytes, l:a,b list, 40 hex = 20 bytes, else text); `id` is ours unless given' }),
    'read-write': Flags.boolean({ description: 'do not mark the query read-only (BEP 43 ro=1 is sent by default)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Query);
    const { endpoints, problems } = await parseEndpointInputs(await this.collectInputs([args.address]));
    if (args.address !== '-' && endpoints.length === 0) throw new BadInputError(problems[0] ?? 'no address');
    for (const p of problems) this.badLines.add(`query: ${p}`);
    if (endpoints.length === 0) {
      if (problems.length > 0) this.exit(2);
      throw new BadInputError('no address given');
    }
    if (!/^[\x21-\x7e]{1,64}$/.test(args.method)) throw new BadInputError(`method ${quote(args.method)} must be 1-64 printable ASCII characters`);
    const queryArgs: { [key: string]: BEncodable } = {};
    for (const a of flags.arg ?? []) {
      const parsed = parseQueryArg(a);
      if ('error' in parsed) throw new BadInputError(parsed.error);
      queryArgs[parsed.key] = parsed.value;
    }
    const session = await openSession(flags, { readOnly: !flags['read-write'], needsBootstrap: false, contacts: endpoints.map((e) => e.endpoint.host) });
    let succeeded = 0;
    let lastFailure = '';
    try {
      const ask = async (e: EndpointInput) => ({ to: e.endpoint, out: await session.engine.query(e.endpoint, args.method, queryArgs, { retries: 0 }) });
      for await (const { to, out } of this.untilOutputGone(mapConcurrent(endpoints, QUERY_CONCURRENCY, ask))) {
        if (this.stdout.closed) break;
        let rec: Record<string, unknown>;
        if (out.ok) {
          rec = { address: address(to), method: args.method, ok: true, y: 'r', rtt_ms: out.rttMs, ...versionFields(out.msg.v), ip: out.msg.ip ? address(out.msg.ip) : null, id: toHex(out.msg.r.id), reply: replyToJson(out.msg.rawBody) };
        } else if (out.kind === 'error') {
          rec = { address: address(to), method: args.method, ok: false, y: 'e', rtt_ms: out.rttMs, ...versionFields(out.msg.v), error_code: out.code, error_message: out.message };
        } else if (out.kind === 'bad_reply' || out.kind === 'id_mismatch') {
          // The raw probe shows what came back even when it breaks the method's rules.
          rec = { address: address(to), method: args.method, ok: false, y: 'r', rtt_ms: out.rttMs, error: describeFailure(out), ...('msg' in out && out.msg ? { reply: replyToJson(out.msg.rawBody) } : {}) };
        } else {
          rec = { address: address(to), method: args.method, ok: false, error: describeFailure(out) };
        }
        if (flags.json) await this.stdout.recordAndWait(rec);
        else this.stdout.text(jsonPretty(rec) + '\n');
        // An error reply is an answer, but a failed query.
        if (out.ok || out.kind === 'bad_reply' || out.kind === 'id_mismatch') succeeded++;
        else lastFailure = describeFailure(out);
      }
    } finally {
      await session.close();
    }
    if (problems.length > 0) this.exit(2);
    if (succeeded === 0 && !this.stdout.closed) throw new NothingFoundError(endpoints.length === 1 ? lastFailure : `no query succeeded (${endpoints.length} nodes queried)`);
  }
}
