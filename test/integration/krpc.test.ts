// Two Krpc engines over real UDP sockets on loopback: queries, replies, timeouts, retries,
// unmatched and malformed datagrams, and the rate limiter, with short timeouts.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { hasIPv6Loopback } from '../support/ipv6.js';
import { Krpc, type KrpcOptions } from '../../src/core/net/krpc-engine.js';
import { RealClock } from '../../src/core/net/real-clock.js';
import { UdpTransport } from '../../src/core/net/udp-transport.js';
import { decode } from '../../src/core/wire/bencode.js';
import { encodeNodes } from '../../src/core/wire/compact.js';
import { encodeResponse } from '../../src/core/wire/krpc-codec.js';
import type { NodeInfo } from '../../src/core/wire/types.js';
import { F } from '../../src/core/wire/krpc-view.js';

const v6 = await hasIPv6Loopback();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const idOf = (b: number) => new Uint8Array(20).fill(b);
const KNOWN: NodeInfo = { id: idOf(7), host: '127.0.0.7', port: 7777, family: 4 };

async function engine(host: string, id: Uint8Array, opts: Partial<KrpcOptions> = {}): Promise<{ krpc: Krpc; transport: UdpTransport; port: number }> {
  const transport = await UdpTransport.open({ bind: [{ host, port: 0 }] });
  const krpc = new Krpc({ transport, clock: new RealClock(), id, timeoutMs: 1000, retries: 0, closeTransport: true, ...opts });
  cleanups.push(() => krpc.close());
  return { krpc, transport, port: transport.endpoints[0].port };
}

/** A trivial responder: ping → id, find_node → one known node. */
function respondTrivially(krpc: Krpc): void {
  krpc.onQuery((view, host, port) => {
    const from = { host, port };
    const t = view.bytes(F.t)!;
    if (view.method === 'ping') krpc.respond(from, t, {});
    else if (view.method === 'find_node') krpc.respond(from, t, { nodes: encodeNodes([KNOWN]) });
    else krpc.respondError(from, t, 204, 'Method Unknown');
  });
}

/** A raw socket that records what it receives and never answers. */
async function silentSocket(type: 'udp4' | 'udp6' = 'udp4'): Promise<{ socket: dgram.Socket; port: number; received: Buffer[] }> {
  const socket = dgram.createSocket(type);
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((r) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  return { socket, port: socket.address().port, received };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  ['IPv4', '127.0.0.1', true],
  ['IPv6', '::1', v6],
] as const)('Krpc over UDP (%s)', (_name, host, available) => {
  it.runIf(available)('ping and find_node round-trip between two engines', async () => {
    const a = await engine(host, idOf(1));
    const b = await engine(host, idOf(2));
    respondTrivially(b.krpc);
    const seen: string[] = [];
    a.krpc.onResponse((_m, from, method) => seen.push(`${method}@${from.port}`));

    const ping = await a.krpc.query({ host, port: b.port }, 'ping', {}, { expectId: idOf(2) });
    expect(ping.ok).toBe(true);
    if (ping.ok) {
      expect([...ping.msg.r.id]).toEqual([...idOf(2)]);
      expect(ping.msg.ip).toEqual({ host, port: a.port, family: host.includes(':') ? 6 : 4 });
      expect(ping.rttMs).toBeGreaterThanOrEqual(0);
      expect(ping.rttMs).toBeLessThan(1000);
    }

    const fn = await a.krpc.query({ host, port: b.port }, 'find_node', { target: idOf(9) });
    expect(fn.ok).toBe(true);
    if (fn.ok) expect(fn.msg.r.nodes).toEqual([KNOWN]);

    const unknown = await a.krpc.query({ host, port: b.port }, 'frobnicate', { target: idOf(9) });
    expect(unknown).toMatchObject({ ok: false, kind: 'error', code: 204 });

    expect(seen).toEqual([`ping@${b.port}`, `find_node@${b.port}`]);
    expect(b.krpc.counters.queriesReceived).toBe(3);
    expect(a.krpc.counters.byVersion).toEqual({ '42530010': 3 });
    expect(a.krpc.counters.byMethod.ping).toEqual({ sent: 1, ok: 1, timeout: 0, error: 0 });
    expect(a.krpc.inFlight).toBe(0);
  });

  it.runIf(available)('times out against a silent socket after the configured retries', async () => {
    const a = await engine(host, idOf(1), { timeoutMs: 80, retries: 2 });
    const silent = await silentSocket(host.includes(':') ? 'udp6' : 'udp4');
    const t0 = performance.now();
    const out = await a.krpc.query({ host, port: silent.port }, 'ping', {});
    const elapsed = performance.now() - t0;
    expect(out).toEqual({ ok: false, kind: 'timeout', attempts: 3 });
    expect(elapsed).toBeGreaterThanOrEqual(3 * 80 - 5);
    expect(elapsed).toBeLessThan(3 * 80 + 500);
    expect(silent.received).toHaveLength(3);
    expect(a.krpc.counters.timeouts).toBe(1);
  });
});

describe('Krpc over UDP: hostile and odd input', () => {
  it('drops a reply from another port and one with an unknown t as unmatched (then times out)', async () => {
    const a = await engine('127.0.0.1', idOf(1), { timeoutMs: 200 });
    const silent = await silentSocket();
    const other = await silentSocket();
    const pending = a.krpc.query({ host: '127.0.0.1', port: silent.port }, 'ping', {});
    while (silent.received.length === 0) await sleep(5);
    const t = (decode(silent.received[0]) as { ok: true; value: { t: Uint8Array } }).value.t;
    const reply = encodeResponse(t, { id: idOf(2) });
    other.socket.send(reply, a.port, '127.0.0.1'); // right t, wrong port
    silent.socket.send(encodeResponse(Uint8Array.of(0, 0, 0, 0), { id: idOf(2) }), a.port, '127.0.0.1'); // wrong t
    const out = await pending;
    expect(out).toMatchObject({ ok: false, kind: 'timeout' });
    expect(a.krpc.counters.unmatched).toBe(2);
    await sleep(20);
    expect(other.received).toHaveLength(0); // never answered
    expect(silent.received).toHaveLength(1);
  });

  it('counts malformed datagrams, never answers them, and keeps working', async () => {
    const a = await engine('127.0.0.1', idOf(1));
    const b = await engine('127.0.0.1', idOf(2));
    respondTrivially(b.krpc);
    const hooked: number[] = [];
    const c = await engine('127.0.0.1', idOf(3), { onMalformedQuery: (err) => hooked.push(err.t!.length) });
    respondTrivially(c.krpc);
    const attacker = await silentSocket();
    const junk = [
      Buffer.from('garbage'),
      Buffer.alloc(0),
      Buffer.from('d1:ad2:id3:abce1:q4:ping1:t2:xy1:y1:qe'), // query with a short id: a 203 candidate
      Buffer.from('d1:rd2:id20:' + 'x'.repeat(20) + 'e1:t4:zzzz1:y1:r'), // truncated response
      Buffer.from('i42e'),
      Buffer.alloc(3000, 0x64),
    ];
    for (const j of junk) attacker.socket.send(j, c.port, '127.0.0.1');
    await sleep(50);
    // Every datagram that arrived was malformed (an empty one may or may not be delivered by the OS).
    expect(c.krpc.counters.malformed).toBe(c.krpc.counters.received);
    expect(c.krpc.counters.malformed).toBeGreaterThanOrEqual(junk.length - 1);
    expect(hooked).toEqual([2]);
    expect(attacker.received).toHaveLength(0);
    const ping = await a.krpc.query({ host: '127.0.0.1', port: c.port }, 'ping', {});
    expect(ping.ok).toBe(true);
    const ping2 = await c.krpc.query({ host: '127.0.0.1', port: b.port }, 'ping', {});
    expect(ping2.ok).toBe(true);
  });

  // 127.0.0.1 is a local destination, so the local per-ip:port limit applies.
  it('the rate limiter delays queries to one destination instead of dropping them', async () => {
    const a = await engine('127.0.0.1', idOf(1), { rateLimit: { localPerKeyMax: 1, localPerKeyWindowMs: 50 } });
    const b = await engine('127.0.0.1', idOf(2));
    respondTrivially(b.krpc);
    const t0 = performance.now();
    const outs = await Promise.all([0, 1, 2, 3].map(() => a.krpc.query({ host: '127.0.0.1', port: b.port }, 'ping', {})));
    const elapsed = performance.now() - t0;
    expect(outs.every((o) => o.ok)).toBe(true);
    // one in any 50 ms: the fourth goes out after ~150 ms
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(a.krpc.limiter!.stats).toMatchObject({ immediate: 1, delayed: 3, refused: 0 });
  });

  it('close() resolves in-flight queries as refused and closes the transport it owns', async () => {
    const a = await engine('127.0.0.1', idOf(1), { timeoutMs: 5000 });
    const silent = await silentSocket();
    const pending = a.krpc.query({ host: '127.0.0.1', port: silent.port }, 'ping', {});
    await sleep(10);
    await a.krpc.close();
    expect(await pending).toEqual({ ok: false, kind: 'refused', message: 'engine closed' });
    a.transport.send(Uint8Array.of(1), '127.0.0.1', silent.port);
    expect(a.transport.counters.sendErrors).toBe(1);
  });
});
