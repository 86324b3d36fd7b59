// `bitscrape node` as a child process on 127.0.0.1, queried by our own Krpc client over UDP:
// every method answers, info-hashes are reported, SIGTERM saves the table and exits 0.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Krpc } from '../../src/core/net/krpc-engine.js';
import { RealClock } from '../../src/core/net/real-clock.js';
import { UdpTransport } from '../../src/core/net/udp-transport.js';
import { AddressPolicy } from '../../src/core/net/address.js';
import { encodeNodes } from '../../src/core/wire/compact.js';
import { encode } from '../../src/core/wire/bencode.js';
import { immutableTarget } from '../../src/core/dht/item-rules.js';
import { isSecureId } from '../../src/core/dht/secure-id.js';
import { F } from '../../src/core/wire/krpc-view.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Running {
  child: ChildProcessWithoutNullStreams;
  records: Array<Record<string, unknown>>;
  stderr: () => string;
  waitFor(pred: (r: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function startNode(args: string[], home: string): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), 'node', ...args], {
    cwd: ROOT,
    env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') },
  });
  children.push(child);
  const records: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
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
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  return {
    child,
    records,
    stderr: () => err,
    exited,
    async waitFor(pred, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = records.find(pred);
        if (found) return found;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no matching record; last: ${JSON.stringify(records.slice(-2))} stderr: ${err}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}

async function client(id: Uint8Array): Promise<{ krpc: Krpc; transport: UdpTransport; port: number }> {
  const transport = await UdpTransport.open({ bind: [{ host: '127.0.0.1', port: 0 }] });
  const krpc = new Krpc({
    transport,
    clock: new RealClock(),
    id,
    readOnly: false,
    rateLimit: false,
    policy: new AddressPolicy({ localAddresses: ['127.0.0.1'] }),
  });
  // Answer the node's bootstrap lookup and pings, so it has someone to put in its table.
  krpc.onQuery((q, host, port) => krpc.respond({ host, port }, q.bytes(F.t)!, q.method === 'find_node' || q.method === 'get_peers' ? { nodes: encodeNodes([]) } : {}));
  return { krpc, transport, port: transport.endpoints[0].port };
}

const hash = (n: number): Uint8Array => new Uint8Array(20).fill(n);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('bitscrape node', () => {
  it('answers our client, reports info-hashes, and saves its table on SIGTERM (exit 0)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bitscrape-node-'));
    const routing = join(home, 'routing.json');
    const me = await client(hash(0x31));
    try {
      const node = startNode(['--port', '0', '--json', '--bootstrap', `127.0.0.1:${me.port}`, '--routing-file', routing, '--stats-every', '500ms', '--inbound-rate', '50'], home);
      const started = await node.waitFor((r) => r.event === 'started');
      const [host, portText] = (started.addresses as string[])[0].split(':');
      const to = { host, port: Number(portText) };
      expect(host).toBe('127.0.0.1');
      const nodeId = started.id as string;

      const ping = await me.krpc.query(to, 'ping', {});
      expect(ping.ok && hex(ping.msg.r.id)).toBe(nodeId);
      expect(ping.ok && ping.msg.ip).toEqual({ host: '127.0.0.1', port: me.port, family: 4 });
      const fn = await me.krpc.query(to, 'find_node', { target: hash(1) });
      expect(fn.ok && Array.isArray(fn.msg.r.nodes)).toBe(true);
      const gp = await me.krpc.query(to, 'get_peers', { info_hash: hash(0x42) });
      if (!gp.ok) throw new Error('get_peers failed');
      expect(gp.msg.r.token).toHaveLength(4);
      const ann = await me.krpc.query(to, 'announce_peer', { info_hash: hash(0x42), port: 51413, token: gp.msg.r.token });
      expect(ann.ok).toBe(true);
      const gp2 = await me.krpc.query(to, 'get_peers', { info_hash: hash(0x42) });
      expect(gp2.ok && gp2.msg.r.values).toEqual([{ host: '127.0.0.1', port: 51413, family: 4 }]);
      const si = await me.krpc.query(to, 'sample_infohashes', { target: hash(2) });
      expect(si.ok && si.msg.r.samples?.map(hex)).toEqual([hex(hash(0x42))]);
      expect(si.ok && si.msg.r.interval).toBe(21600);
      // BEP 44 through the responder's method registry: get (token), put, get (the value).
      const target = immutableTarget(encode('hello dht'));
      const get1 = await me.krpc.query(to, 'get', { target });
      if (!get1.ok) throw new Error('get failed');
      expect(get1.msg.r.token).toBeDefined();
      const put = await me.krpc.query(to, 'put', { token: get1.msg.r.token, v: 'hello dht' });
      expect(put.ok).toBe(true);
      const get2 = await me.krpc.query(to, 'get', { target });
      expect(get2.ok && Buffer.from(get2.msg.r.v as Uint8Array).toString()).toBe('hello dht');

      const bad = await me.krpc.query(to, 'announce_peer', { info_hash: hash(0x42), port: 1, token: Uint8Array.of(0, 0, 0, 0) });
      expect(bad).toMatchObject({ ok: false, kind: 'error', code: 203 });

      await node.waitFor(() => node.records.filter((r) => r.event === 'infohash').length >= 4);
      const harvested = node.records.filter((r) => r.event === 'infohash');
      expect(harvested.map((r) => r.kind)).toEqual(['get_peers', 'announce_peer', 'get_peers', 'announce_peer']);
      expect(harvested[0]).toMatchObject({ infohash: hex(hash(0x42)), from: `127.0.0.1:${me.port}` });
      // The node knows us (bootstrap reply, or a ping back after our queries) by the next stats.
      await node.waitFor((r) => r.event === 'stats' && (r.nodes as number) >= 1 && (r.answered as number) >= 9 && (r.errors as number) >= 1);

      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
      const summary = JSON.parse(node.stderr().trim().split('\n').pop()!) as Record<string, unknown>;
      expect(summary).toMatchObject({ summary: 'node', reason: 'signal', infohashes_seen: 4, infohashes_distinct: 1, peers_stored: 1, items_stored: 1 });
      expect(existsSync(routing)).toBe(true);
      const saved = JSON.parse(readFileSync(routing, 'utf8')) as { id: string; nodes: Array<{ id: string; port: number }> };
      expect(saved.id).toBe(nodeId);
      expect(saved.nodes.map((n) => n.id)).toContain(hex(hash(0x31)));
    } finally {
      await me.krpc.close();
      await me.transport.close();
    }
  }, 60_000);

  it('starts fresh with a warning on a corrupt routing file, and stops after --duration', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bitscrape-node-'));
    const routing = join(home, 'routing.json');
    writeFileSync(routing, '{"version": 1, "id": "zz');
    const node = startNode(['--port', '0', '--routing-file', routing, '--duration', '1500ms', '--stats-every', '1h'], home);
    expect(await node.exited).toBe(0);
    const err = node.stderr();
    expect(err).toMatch(/warning: routing file .* starting with an empty table/);
    expect(err).toMatch(/node: stopped \(duration\)/);
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);

  it('--id-from-ip --external-ip starts under a BEP 42 id for that address', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bitscrape-node-'));
    const node = startNode(['--port', '0', '--json', '--id-from-ip', '--external-ip', '198.51.100.7', '--duration', '1s', '--stats-every', '1h'], home);
    const started = await node.waitFor((r) => r.event === 'started');
    expect(isSecureId(Buffer.from(started.id as string, 'hex'), '198.51.100.7')).toBe(true);
    expect(await node.exited).toBe(0);
  }, 60_000);

  it('rejects a bad --id with exit 2 and one line', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bitscrape-node-'));
    const node = startNode(['--port', '0', '--id', 'abc'], home);
    expect(await node.exited).toBe(2);
    expect(node.stderr().trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
