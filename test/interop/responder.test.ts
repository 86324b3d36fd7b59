// `bitscrape node` inside a libtorrent network: the independent Python client and a
// real libtorrent session query it; a libtorrent session that knows only our node reaches the
// rest of the network through it; our own lookups work through the mixed network.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli } from '../support/cli.js';
import { krpcProbe } from './harness/krpc-probe.js';
import { HARNESS_DIR, SYSTEM_PYTHON } from './harness/libtorrent-network.js';
import { nodesOf, useLibtorrentNetwork } from './harness/shared.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

function xorCompare(a: string, b: string, target: string): number {
  const t = Buffer.from(target, 'hex');
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  for (let i = 0; i < 20; i++) {
    const d = (x[i] ^ t[i]) - (y[i] ^ t[i]);
    if (d !== 0) return d;
  }
  return 0;
}

interface OurNode {
  child: ChildProcessWithoutNullStreams;
  records: Array<Record<string, unknown>>;
  host: string;
  port: number;
  id: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function startOurNode(bootstrap: string): Promise<OurNode> {
  const home = mkdtempSync(join(tmpdir(), 'bitscrape-interop-node-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), 'node', '--port', '0', '--json', '--bootstrap', bootstrap, '--stats-every', '1s', '--routing-file', join(home, 'routing.json')],
    { cwd: ROOT, env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') } },
  );
  const records: Array<Record<string, unknown>> = [];
  let buf = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) records.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const deadline = Date.now() + 30_000;
  while (!records.some((r) => r.event === 'bootstrapped')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`our node did not bootstrap: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const started = records.find((r) => r.event === 'started')!;
  const [host, port] = (started.addresses as string[])[0].split(':');
  return { child, records, host, port: Number(port), id: started.id as string, stderr: () => err, exited };
}

/** Runs lt_via_node.py: a libtorrent session bootstrapped from our node only. */
function ltViaNode(node: string, lookup: string, announce: string): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    execFile(
      SYSTEM_PYTHON,
      ['-B', join(HARNESS_DIR, 'lt_via_node.py'), '--node', node, '--lookup', lookup, '--announce', announce, '--seconds', '60'],
      { timeout: 90_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          res(JSON.parse(line) as Record<string, unknown>);
        } catch {
          rej(new Error(`lt_via_node.py failed (${error?.message ?? 'no output'}): ${stderr}`));
        }
      },
    );
  });
}

describe('bitscrape node in a libtorrent network', () => {
  // A network of its own: our node joins it, and must not show up in other suites' lookups.
  const net = useLibtorrentNetwork({ nodes: 12, infohashes: 10 });
  let ours: OurNode;

  beforeAll(async () => {
    const lt = net().state;
    ours = await startOurNode(lt.bootstrap[0]);
  }, 60_000);

  afterAll(async () => {
    if (!ours) return;
    ours.child.kill('SIGTERM');
    expect(await ours.exited).toBe(0);
  }, 30_000);

  it('bootstraps into the libtorrent network', () => {
    const boot = ours.records.find((r) => r.event === 'bootstrapped')!;
    expect(boot.nodes as number).toBeGreaterThanOrEqual(8);
  });

  it('answers the independent Python client: ping, find_node with want, get_peers, announce_peer, sample_infohashes, 204', async () => {
    const lt = net().state;
    const ltIds = new Set(nodesOf(lt).map((n) => n.id));
    const ping = await krpcProbe(ours.host, ours.port, 'ping');
    expect(ping.status).toBe(0);
    expect((ping.reply.r as { id: string }).id).toBe(ours.id);
    expect(ping.reply.ip).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((ping.reply.v as { hex: string }).hex.slice(0, 4)).toBe('4253'); // "BS"

    const target = 'a5'.repeat(20);
    const fn = await krpcProbe(ours.host, ours.port, 'find_node', ['--target', target, '--want', 'n4,n6']);
    const nodes = (fn.reply.r as { nodes: Array<{ id: string }>; nodes6: unknown[] }).nodes;
    expect(nodes).toHaveLength(8);
    expect(nodes.every((n) => ltIds.has(n.id))).toBe(true);
    expect((fn.reply.r as { nodes6: unknown[] }).nodes6).toEqual([]);

    const ih = 'c3'.repeat(20);
    // (krpc_probe.py's --port collides with its positional PORT, so announces use implied_port.)
    const seed = await krpcProbe(ours.host, ours.port, 'announce_peer', ['--info-hash', ih, '--implied-port', '--seed', '1']);
    expect(seed.status).toBe(0);
    const leech = await krpcProbe(ours.host, ours.port, 'announce_peer', ['--info-hash', ih, '--implied-port', '--seed', '0']);
    expect(leech.status).toBe(0);
    const gp = await krpcProbe(ours.host, ours.port, 'get_peers', ['--info-hash', ih, '--scrape']);
    const r = gp.reply.r as { token: string; values: string[]; BFsd: { estimate: number }; BFpe: { estimate: number } };
    expect(r.token).toMatch(/^[0-9a-f]{8}$/);
    // implied_port: each announce is stored under the probe's own UDP source port.
    expect(r.values).toHaveLength(2);
    expect(r.values.every((v) => /^127\.0\.0\.1:\d+$/.test(v))).toBe(true);
    expect(r.BFsd.estimate).toBeGreaterThan(0.5);
    expect(r.BFpe.estimate).toBeGreaterThan(0.5);
    const badToken = await krpcProbe(ours.host, ours.port, 'announce_peer', ['--info-hash', ih, '--token', '00000000']);
    expect(badToken.status).toBe(2);
    expect(badToken.reply.e).toEqual([203, 'bad token']);

    const si = await krpcProbe(ours.host, ours.port, 'sample_infohashes', ['--target', target]);
    const s = si.reply.r as { interval: number; num: number; samples: string[]; nodes: unknown[] };
    expect(s.interval).toBe(21600);
    expect(s.samples).toContain(ih);
    expect(s.num).toBeGreaterThanOrEqual(1);
    expect(s.nodes).toHaveLength(8);

    const unknown = await krpcProbe(ours.host, ours.port, 'raw', ['--method', 'frobnicate', '--args', '{}']);
    expect(unknown.reply.e).toEqual([204, 'Method Unknown']);
  }, 60_000);

  it('a libtorrent session that knows only our node reaches the network through it, and queries and announces to it', async () => {
    const lt = net().state;
    const stored = lt.infohashes[4];
    // An info-hash next to our id: our node is among its 8 closest, so it gets the announce.
    const near = ours.id.slice(0, 36) + (parseInt(ours.id.slice(36), 16) ^ 0x5a5a).toString(16).padStart(4, '0');
    const report = await ltViaNode(`${ours.host}:${ours.port}`, stored.info_hash, near);
    expect(report.error, JSON.stringify(report)).toBeUndefined();
    // It learnt the network from our find_node / get_peers replies ...
    expect(report.table_size as number).toBeGreaterThanOrEqual(8);
    // ... found the peers libtorrent nodes store ...
    expect([...(report.lookup_peers as string[])].sort()).toEqual([...(stored.stored_peers?.v4 ?? [])].sort());
    // ... and every query it sent us was answered, none with an error.
    const sent = report.sent_to_node as Record<string, number>;
    expect(sent.get_peers).toBeGreaterThan(0);
    expect(sent.announce_peer).toBeGreaterThan(0);
    expect(report.replies_from_node).toEqual(sent);
    expect(report.errors_from_node).toEqual({});
    // libtorrent's own reading of our BEP 51 reply.
    const sample = report.sample as { interval_s: number; num_infohashes: number; samples: string[]; num_nodes: number };
    expect(sample.interval_s).toBe(21600);
    expect(sample.samples).toContain(near);
    expect(sample.num_infohashes).toBe(sample.samples.length);
    expect(sample.num_nodes).toBeGreaterThan(0);
    // Our node reported libtorrent's announce as a harvested info-hash.
    const deadline = Date.now() + 5000;
    while (!ours.records.some((r) => r.event === 'infohash' && r.kind === 'announce_peer' && r.infohash === near) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ours.records.some((r) => r.event === 'infohash' && r.kind === 'announce_peer' && r.infohash === near)).toBe(true);
  }, 120_000);

  it('our lookups work through the mixed network, started from our node alone', async () => {
    const lt = net().state;
    const stored = lt.infohashes[9];
    const gp = await runCli(['get-peers', stored.info_hash, '--bootstrap', `${ours.host}:${ours.port}`, '--json', '--fresh']);
    expect(gp.code, gp.stderr).toBe(0);
    const [rec] = ndjson(gp.stdout);
    expect((rec.peers as Array<{ address: string }>).map((p) => p.address).sort()).toEqual([...(stored.stored_peers?.v4 ?? [])].sort());

    const target = '5c'.repeat(20);
    const fn = await runCli(['find-node', target, '--bootstrap', `${ours.host}:${ours.port}`, '--json', '--fresh']);
    expect(fn.code, fn.stderr).toBe(0);
    const got = ndjson(fn.stdout).map((x) => x.id as string);
    const truth = [...nodesOf(lt).map((n) => n.id!), ours.id].sort((a, b) => xorCompare(a, b, target)).slice(0, 8);
    expect(got).toEqual(truth);
  }, 60_000);
});
