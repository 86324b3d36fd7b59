// The testnet: real bitscrape nodes on loopback that answer like DHT nodes and hold known
// infohashes. In-process (src/core/dht/udp-testnet.ts) and as the `bitscrape testnet` command,
// probed with our own Krpc client.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DhtClient } from '../../src/core/dht/dht-client.js';
import { idFromHex, idToHex, randomId } from '../../src/core/dht/node-id.js';
import { RoutingTable } from '../../src/core/dht/routing-table.js';
import { Testnet, type TestnetState } from '../../src/core/dht/udp-testnet.js';
import { AddressPolicy } from '../../src/core/net/address.js';
import { Krpc } from '../../src/core/net/krpc-engine.js';
import { RealClock } from '../../src/core/net/real-clock.js';
import { UdpTransport } from '../../src/core/net/udp-transport.js';
import { ROOT, runCli, tempHome } from '../support/cli.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Our own client: a read-only engine on a fresh loopback socket. */
async function client(bootstrap?: { host: string; port: number }): Promise<DhtClient> {
  const transport = await UdpTransport.open({ bind: [{ host: '127.0.0.1', port: 0 }] });
  const clock = new RealClock();
  const policy = new AddressPolicy({ localAddresses: ['127.0.0.1'] });
  const engine = new Krpc({ transport, clock, id: randomId(), readOnly: true, timeoutMs: 1000, policy, rateLimit: false });
  cleanups.push(async () => {
    await engine.close();
    await transport.close();
  });
  const table = new RoutingTable({ id: engine.id, clock });
  return new DhtClient({ engine, clock, table, bootstrap: bootstrap ? [bootstrap] : [], lookupDefaults: { queryTimeoutMs: 1000 } });
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

describe('Testnet (in process)', () => {
  it('is decided by its seed: ids, infohashes and announcers', async () => {
    const a = await Testnet.start({ nodes: 6, infohashes: 3, seed: 42, fillMsPerNode: 1000 });
    cleanups.push(() => a.close());
    const b = await Testnet.start({ nodes: 6, infohashes: 3, seed: 42, fillMsPerNode: 1000 });
    cleanups.push(() => b.close());
    const c = await Testnet.start({ nodes: 6, infohashes: 3, seed: 43, fillMsPerNode: 1000 });
    cleanups.push(() => c.close());
    const sa = a.state();
    const sb = b.state();
    expect(sb.nodes.map((n) => n.id)).toEqual(sa.nodes.map((n) => n.id));
    expect(sb.infohashes.map((i) => i.infohash)).toEqual(sa.infohashes.map((i) => i.infohash));
    const index = (s: TestnetState, addr: string): number => s.nodes.findIndex((n) => n.address === addr);
    expect(sb.infohashes.map((i) => i.announcers.map((x) => index(sb, x)))).toEqual(sa.infohashes.map((i) => i.announcers.map((x) => index(sa, x))));
    expect(c.state().nodes.map((n) => n.id)).not.toEqual(sa.nodes.map((n) => n.id));
  });

  it('stores announced infohashes on the nodes closest to them, and a lookup from outside finds the announcers', async () => {
    const net = await Testnet.start({ nodes: 16, infohashes: 4, seed: 3, fillMsPerNode: 2000 });
    cleanups.push(() => net.close());
    const state = net.state();
    expect(state.nodes).toHaveLength(16);
    expect(new Set(state.nodes.map((n) => n.address)).size).toBe(16);
    const me = await client(hostPort(state.bootstrap));
    for (const ih of state.infohashes) {
      expect(ih.announcers).toHaveLength(2);
      expect(ih.holders.length).toBeGreaterThanOrEqual(1);
      const target = idFromHex(ih.infohash);
      if (!target.ok) throw new Error(target.error);
      const found = await me.getPeers(target.value);
      const peers = found.peers.map((p) => `${p.peer.host}:${p.peer.port}`);
      // Announced with implied_port from each announcer's own socket.
      expect(new Set(peers)).toEqual(new Set(ih.announcers));
      // The holders are among the nodes nearest the infohash.
      const nearest = new Set(found.closest.map((n) => `${n.host}:${n.port}`));
      expect(ih.holders.some((h) => nearest.has(h))).toBe(true);
    }
    // Every node knows others, and everybody answers.
    for (const n of net.nodes) expect(n.table.size).toBeGreaterThanOrEqual(5);
    const pings = await Promise.all(net.nodes.map((n) => me.ping({ host: n.host, port: n.port })));
    expect(pings.filter((p) => p.ok)).toHaveLength(16);
  });

  it('takes consecutive ports from basePort and reports a bind failure', async () => {
    const probe = await UdpTransport.open({ bind: [{ host: '127.0.0.1', port: 0 }] });
    const base = probe.endpoints[0].port;
    await probe.close();
    let net: Testnet;
    try {
      net = await Testnet.start({ nodes: 3, infohashes: 0, basePort: base, fillMsPerNode: 500 });
    } catch (err) {
      // Someone took one of the ports in the meantime: rare, and not what this test is about.
      if (/EADDRINUSE|already in use/.test(String(err))) return;
      throw err;
    }
    cleanups.push(() => net.close());
    expect(net.nodes.map((n) => n.port)).toEqual([base, base + 1, base + 2]);
    await expect(Testnet.start({ nodes: 2, infohashes: 0, basePort: base })).rejects.toThrow(/in use/);
  });
});

describe('bitscrape testnet', () => {
  it('starts, writes its state, answers our ping and get_peers, and stops on SIGTERM with exit 0', async () => {
    const home = tempHome();
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-testnet-'));
    const stateFile = join(dir, 'state.json');
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), 'testnet', '--nodes', '10', '--infohashes', '3', '--seed', '5', '--state-file', stateFile, '--json'], {
      cwd: ROOT,
      env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    const deadline = Date.now() + 60_000;
    while (!existsSync(stateFile) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(stateFile), stderr).toBe(true);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as TestnetState & { pid: number };
    expect(state.pid).toBe(child.pid);
    expect(state.nodes).toHaveLength(10);
    expect(state.infohashes).toHaveLength(3);
    expect(state.bootstrap).toBe(state.nodes[0].address);
    // stdout: the same state, as one NDJSON line.
    await new Promise((r) => setTimeout(r, 200));
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual(state);

    const me = await client(hostPort(state.bootstrap));
    const pong = await me.ping(hostPort(state.bootstrap));
    expect(pong.ok).toBe(true);
    if (pong.ok) expect(idToHex(pong.msg.r.id)).toBe(state.nodes[0].id);
    const ih = state.infohashes[0];
    const target = idFromHex(ih.infohash);
    if (!target.ok) throw new Error(target.error);
    const found = await me.getPeers(target.value);
    expect(new Set(found.peers.map((p) => `${p.peer.host}:${p.peer.port}`))).toEqual(new Set(ih.announcers));

    child.kill('SIGTERM');
    const end = await exited;
    expect(end.code, stderr).toBe(0);
    const summary = JSON.parse(stderr.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ reason: 'SIGTERM', nodes: 10 });
    expect(summary.queries_received).toBeGreaterThan(0);
  }, 90_000);

  it('stops by itself after --duration, and refuses a non-loopback --host', async () => {
    const [timed, bad] = await Promise.all([
      runCli(['testnet', '--nodes', '3', '--infohashes', '1', '--duration', '1s', '--json']),
      runCli(['testnet', '--host', '192.0.2.1']),
    ]);
    expect(timed.code, timed.stderr).toBe(0);
    const lines = timed.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).nodes).toHaveLength(3);
    expect(JSON.parse(timed.stderr.trim().split('\n').pop()!)).toMatchObject({ reason: 'duration' });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/not a loopback/);
  }, 90_000);

  it('fills 30 tables at once without Node warnings on stderr (dozens of lookups share one stop signal)', async () => {
    // runCli fails on Node's MaxListenersExceededWarning; this start-up has more than 10 lookups in flight
    const r = await runCli(['testnet', '--nodes', '30', '--infohashes', '10', '--duration', '2s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/\(node:\d+\)/);
  }, 90_000);
});
