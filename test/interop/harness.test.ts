// Sanity checks of the interop harness itself: the shared libtorrent network answers, with
// bytes written by hand (independent of bitscrape's wire code) and with our Python probe.
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { krpcProbe } from './harness/krpc-probe.js';
import { startLibtorrentNetwork, SYSTEM_PYTHON } from './harness/libtorrent-network.js';
import { SHARED_NETWORK } from './harness/provided.js';
import { nodesOf, sharedLibtorrent, useLibtorrentNetwork } from './harness/shared.js';

const LT_VERSION = Buffer.from('LT\x02\x08', 'latin1');

/** Sends one datagram from 127.0.0.1 and resolves with the first reply (or rejects). */
function exchange(data: Buffer, host: string, port: number, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no reply from ${host}:${port}`));
    }, timeoutMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.bind(0, '127.0.0.1', () => sock.send(data, port, host));
  });
}

/** Reads the byte string that follows `key` (a bencoded dict key) in `msg`. */
function stringAfterKey(msg: Buffer, key: string): Buffer | undefined {
  const needle = Buffer.from(`${key.length}:${key}`, 'latin1');
  const at = msg.indexOf(needle);
  if (at < 0) return undefined;
  let i = at + needle.length;
  let len = 0;
  while (msg[i] >= 0x30 && msg[i] <= 0x39) len = len * 10 + (msg[i++] - 0x30);
  if (msg[i] !== 0x3a) return undefined;
  return msg.subarray(i + 1, i + 1 + len);
}

describe('libtorrent interop harness', () => {
  it('starts the shared network with every node and info-hash described', () => {
    const state = sharedLibtorrent();
    const nodes = nodesOf(state);
    expect(nodes).toHaveLength(SHARED_NETWORK.nodes);
    expect(nodes.every((n) => n.host === '127.0.0.1' && /^[0-9a-f]{40}$/.test(n.id ?? ''))).toBe(true);
    expect(new Set(nodes.map((n) => n.port)).size).toBe(SHARED_NETWORK.nodes);
    expect(state.version_hex).toEqual([LT_VERSION.toString('hex')]);
    expect(state.infohashes).toHaveLength(SHARED_NETWORK.infohashes);
    for (const ih of state.infohashes) {
      expect(ih.seeders).toHaveLength(1);
      expect(ih.leechers).toHaveLength(1);
      expect(ih.holders?.v4?.length ?? 0).toBeGreaterThanOrEqual(state.min_holders);
    }
    expect(state.min_holders).toBe(8);
    expect(state.bootstrap).toEqual([`127.0.0.1:${nodes[0].port}`]);
  });

  it('a node answers a hand-written ping with its id and v = LT\\x02\\x08', async () => {
    const node = nodesOf(sharedLibtorrent())[3];
    const ourId = Buffer.alloc(20, 0x42);
    const ping = Buffer.concat([
      Buffer.from('d1:ad2:id20:', 'latin1'),
      ourId,
      Buffer.from('e1:q4:ping1:t2:hs1:y1:qe', 'latin1'),
    ]);
    const reply = await exchange(ping, node.host, node.port);
    expect(stringAfterKey(reply, 't')?.toString('latin1')).toBe('hs');
    expect(stringAfterKey(reply, 'y')?.toString('latin1')).toBe('r');
    expect(stringAfterKey(reply, 'id')?.toString('hex')).toBe(node.id);
    expect(stringAfterKey(reply, 'v')).toEqual(LT_VERSION);
  });

  it('the Python probe reads stored peers of an announced info-hash', async () => {
    const state = sharedLibtorrent();
    const ih = state.infohashes[7];
    const holder = nodesOf(state)[ih.holders!.v4![0]];
    const { status, reply } = await krpcProbe(holder.host, holder.port, 'get_peers', ['--info-hash', ih.info_hash]);
    expect(status).toBe(0);
    const body = reply.r as { id: string; values?: string[] };
    expect(body.id).toBe(holder.id);
    const announced = [...ih.seeders, ...ih.leechers].flatMap((a) => a.peers);
    expect(body.values).toEqual(expect.arrayContaining(announced));
  });

  it('starts a separate network with distinct loopback IPs and stops it', async () => {
    const net = await startLibtorrentNetwork({ nodes: 4, infohashes: 3, distinctIps: true });
    try {
      const hosts = nodesOf(net.state).map((n) => n.host);
      expect(hosts).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
      const last = nodesOf(net.state)[3];
      const { status, reply } = await krpcProbe(last.host, last.port, 'ping');
      expect(status).toBe(0);
      expect((reply.r as { id: string }).id).toBe(last.id);
    } finally {
      await net.stop();
    }
    const gone = nodesOf(net.state)[0];
    const after = await krpcProbe(gone.host, gone.port, 'ping', ['--timeout', '0.5']);
    expect(after.status).toBe(3);
  }, 90_000);

  it('fails with a clear error when the interpreter cannot import libtorrent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-nolt-'));
    try {
      // -S leaves out site-packages/dist-packages, where python3-libtorrent lives
      const python = join(dir, 'python-without-libtorrent');
      writeFileSync(python, `#!/bin/sh\nexec ${SYSTEM_PYTHON} -S "$@"\n`);
      chmodSync(python, 0o755);
      await expect(startLibtorrentNetwork({ nodes: 2, infohashes: 1, python })).rejects.toThrow(
        /libtorrent is not importable.*apt-get install -y python3-libtorrent/s,
      );
      await expect(startLibtorrentNetwork({ nodes: 2, infohashes: 1, python: join(dir, 'missing') })).rejects.toThrow(
        /not found.*python3-libtorrent/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a suite with its own IPv6-only network', () => {
  const net = useLibtorrentNetwork({ nodes: 3, infohashes: 2, ipv6: true, ipv4: false });

  it('runs every node on [::1] with nodes6 in find_node replies', async () => {
    const { state, bootstrap } = net();
    expect(state.families).toEqual(['v6']);
    expect(bootstrap).toEqual([`[::1]:${state.base_port}`]);
    const node = nodesOf(state, 'v6')[1];
    const { status, reply } = await krpcProbe(node.host, node.port, 'find_node', ['--want', 'n6']);
    expect(status).toBe(0);
    const ids = (reply.r as { nodes6?: Array<{ id: string }> }).nodes6?.map((n) => n.id) ?? [];
    expect(ids).toEqual(expect.arrayContaining([state.nodes[0].id]));
  });
});
