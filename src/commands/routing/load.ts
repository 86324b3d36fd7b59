import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { openSession, dhtFlags, type DhtSession } from '../../cli/dht-session.js';
import { BadInputError, NothingFoundError } from '../../cli/errors.js';
import { describeFailure } from '../../core/dht/dht-client.js';
import { idFromHex, idToHex, randomId } from '../../core/dht/node-id.js';
import { loadRoutingFile, saveRoutingFile, type RoutingFileNode } from '../../core/dht/routing-persistence.js';
import { mapConcurrent } from '../../core/util/pool.js';
import { address, jsonLine, roundMs, versionFields } from '../../output/records.js';
import { renderKeyValues, renderTable } from '../../output/table.js';

type PingStatus = 'alive' | 'timeout' | 'id_changed' | 'error' | 'refused';

/** One pinged node (docs/output.md, `routing load`). */
export interface LoadRecord {
  id: string;
  address: string;
  status: PingStatus;
  rtt_ms: number | null;
  client: string | null;
  version_hex: string | null;
  /** The id it answered with, when it differs from the saved one. */
  replied_id?: string;
  error?: string;
}

export default class RoutingLoad extends BaseCommand {
  static override summary = 'Load a routing file and ping its nodes';
  static override description =
    'Loads a saved routing table (keeping its id, or with --new-id re-inserting every node into a table for a fresh id), pings every node and reports how many are alive. Exit 1 when none answers.';
  static override examples = [
    '<%= config.bin %> routing load routing.json',
    '<%= config.bin %> routing load routing.json --new-id --save',
    '<%= config.bin %> routing load routing.json --json | jq -c "select(.status == \\"alive\\")"',
  ];
  static override args = {
    file: Args.string({ description: 'routing file to load', required: true }),
  };
  static override flags = {
    ...dhtFlags,
    'new-id': Flags.boolean({ description: 'generate a new node id and re-insert the saved nodes (default: keep the saved id)' }),
    save: Flags.boolean({ description: 'write the table back to FILE afterwards, with only the nodes that answered' }),
    concurrency: Flags.integer({ description: 'pings in flight at once (at most 1024)', default: 32, min: 1, max: 1024 }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RoutingLoad);
    const loaded = await loadRoutingFile(args.file);
    if (!loaded.ok) throw new BadInputError(loaded.error);
    const fileNodes = loaded.value.nodes;
    const started = Date.now();

    const session = await openSession(
      { ...flags, 'routing-file': args.file, fresh: false },
      {
        readOnly: true,
        ...(flags['new-id'] ? { id: randomId() } : {}),
        contacts: fileNodes.map((n) => n.host),
        needsBootstrap: false,
      },
    );
    try {
      const pinged = await this.pingAll(session, fileNodes, flags.concurrency, flags.json);
      const records = pinged.map((p) => p.record);
      const alive = records.filter((r) => r.status === 'alive');
      const table = session.node.table;
      // Whatever did not answer leaves the table, so --save writes back live nodes only.
      for (const p of pinged) if (p.record.status !== 'alive') table.remove({ host: p.node.host, port: p.node.port });
      let saved: string | null = null;
      if (flags.save && alive.length > 0) {
        const res = await saveRoutingFile(args.file, table);
        if (!res.ok) throw new BadInputError(res.error);
        saved = args.file;
      }
      const stats = table.stats();
      const keptId = idToHex(table.id) === loaded.value.id;
      const summary = {
        summary: 'routing load',
        file: args.file,
        id: idToHex(table.id),
        kept_id: keptId,
        nodes: fileNodes.length,
        pinged: records.length,
        alive: alive.length,
        dead: records.length - alive.length,
        table_nodes: stats.nodes,
        buckets: stats.buckets,
        saved,
        elapsed_ms: Date.now() - started,
      };
      if (flags.json) this.note(jsonLine(summary));
      else this.printHuman(records, summary);
      if (alive.length === 0) {
        throw new NothingFoundError(fileNodes.length === 0 ? `${args.file} holds no nodes` : `none of the ${records.length} nodes answered`);
      }
    } finally {
      await session.close({ save: false });
    }
  }

  /** Pings every saved node, `concurrency` at a time, streaming NDJSON records as they come. */
  private async pingAll(session: DhtSession, nodes: RoutingFileNode[], concurrency: number, json: boolean): Promise<Array<{ node: RoutingFileNode; record: LoadRecord }>> {
    const out: Array<{ node: RoutingFileNode; record: LoadRecord } | undefined> = new Array(nodes.length);
    const stdout = this.stdout;
    // the pool pulls an index only when a slot is free, so a closed stdout stops further pings
    const untilClosed = function* () {
      for (let i = 0; i < nodes.length && !stdout.closed; i++) yield i;
    };
    const pings = mapConcurrent(untilClosed(), concurrency, async (i) => ({ i, record: await pingOne(session, nodes[i]) }));
    for await (const { i, record } of pings) {
      out[i] = { node: nodes[i], record };
      if (json) stdout.record({ ...record });
    }
    // Unfilled slots: stdout closed before they were pinged.
    return out.filter((p) => p !== undefined);
  }

  private printHuman(records: LoadRecord[], s: { file: string; id: string; kept_id: boolean; nodes: number; alive: number; table_nodes: number; buckets: number; saved: string | null }): void {
    const rows = records.map((r) => [r.address, r.id, r.status === 'id_changed' ? `id changed (${r.replied_id})` : r.error ? `${r.status}: ${r.error}` : r.status, r.rtt_ms === null ? null : roundMs(r.rtt_ms), r.client ?? r.version_hex]);
    const lines = [
      renderTable(
        [{ header: 'address' }, { header: 'id', hex: true }, { header: 'status', hex: true, wrap: true }, { header: 'rtt ms', align: 'right' }, { header: 'client', drop: 1 }],
        rows,
      ),
      renderKeyValues([
        ['nodes alive', `${s.alive} of ${s.nodes}`],
        [s.kept_id ? 'kept id' : 'new id', s.id],
        ['table now', `${s.table_nodes} nodes in ${s.buckets} buckets`],
        ['saved to', s.saved, { keep: true }],
      ]),
    ];
    this.stdout.text(lines.join('\n') + '\n');
  }
}

async function pingOne(session: DhtSession, n: RoutingFileNode): Promise<LoadRecord> {
  const to = { host: n.host, port: n.port };
  const base = { id: n.id, address: address(to) };
  const expect = idFromHex(n.id);
  const out = await session.engine.query(to, 'ping', {}, expect.ok ? { expectId: expect.value } : {});
  if (out.ok) {
    session.node.noteReply(out.msg.r.id, to, out.rttMs, out.msg.v);
    return { ...base, status: 'alive', rtt_ms: out.rttMs, ...versionFields(out.msg.v) };
  }
  const none = { rtt_ms: null, client: null, version_hex: null };
  switch (out.kind) {
    case 'timeout':
      session.node.table.onTimeout(to);
      return { ...base, status: 'timeout', ...none };
    case 'id_mismatch':
      // Someone else lives at that address now: the saved node is gone.
      return { ...base, status: 'id_changed', ...none, rtt_ms: out.rttMs, ...versionFields(out.msg.v), replied_id: idToHex(out.msg.r.id) };
    case 'refused':
      return { ...base, status: 'refused', ...none, error: describeFailure(out) };
    default:
      return { ...base, status: 'error', ...none, error: describeFailure(out) };
  }
}
