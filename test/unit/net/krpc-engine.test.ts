// Krpc engine over an in-memory transport and a manual clock: pure, deterministic, fast.
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { BITSCRAPE_CLIENT_TAG, Krpc, type KrpcOptions } from '../../../src/core/net/krpc-engine.js';
import type { LocalEndpoint, MessageHandler, Transport } from '../../../src/core/net/transport.js';
import { decode, encode } from '../../../src/core/wire/bencode.js';
import { decodeMessage, encodeError, encodeResponse } from '../../../src/core/wire/krpc-codec.js';
import type { KrpcQuery } from '../../../src/core/wire/types.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { F } from '../../../src/core/wire/krpc-view.js';

interface Sent {
  data: Uint8Array;
  host: string;
  port: number;
}

class FakeTransport implements Transport {
  readonly sent: Sent[] = [];
  handler: MessageHandler | null = null;
  readonly endpoints: LocalEndpoint[];
  constructor(host = '127.0.0.1', port = 1000) {
    this.endpoints = [{ host, port, family: 4 }];
  }
  send(data: Uint8Array, host: string, port: number): void {
    this.sent.push({ data, host, port });
  }
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }
  deliver(data: Uint8Array, host: string, port: number): void {
    this.handler?.(data, host, port);
  }
  async close(): Promise<void> {}
}

const ID = new Uint8Array(20).fill(1);
const REMOTE_ID = new Uint8Array(20).fill(2);
const PEER = { host: '127.0.0.2', port: 2000 };

function setup(opts: Partial<KrpcOptions> = {}) {
  const clock = new VirtualClock();
  const transport = new FakeTransport();
  const krpc = new Krpc({ transport, clock, id: ID, timeoutMs: 1000, retries: 0, ...opts });
  const lastQuery = (): KrpcQuery => {
    const m = decodeMessage(transport.sent[transport.sent.length - 1].data);
    if (!m.ok || m.value.y !== 'q') throw new Error('last datagram is not a query');
    return m.value;
  };
  // The t of the last datagram sent, read leniently (some tests send queries a strict decoder rejects).
  const lastT = (): Uint8Array => {
    const m = decode(transport.sent[transport.sent.length - 1].data);
    if (!m.ok) throw new Error('last datagram is not bencode');
    return (m.value as { t: Uint8Array }).t;
  };
  const reply = (body: object, from = PEER, v?: Uint8Array) =>
    transport.deliver(encodeResponse(lastT(), { id: REMOTE_ID, ...body }, { v }), from.host, from.port);
  return { clock, transport, krpc, lastQuery, reply };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('Krpc (in-memory)', () => {
  it('sends a query with a 4-byte t, our id, v and ro=1, and resolves with the matching reply', async () => {
    const { clock, transport, krpc, lastQuery, reply } = setup();
    const p = krpc.query(PEER, 'ping', {});
    expect(transport.sent).toHaveLength(1);
    expect(transport.sent[0]).toMatchObject(PEER);
    const q = lastQuery();
    expect(q.q).toBe('ping');
    expect(q.t.length).toBe(4);
    expect([...q.a.id]).toEqual([...ID]);
    expect([...q.v!]).toEqual([0x42, 0x53, 0x00, 0x10]);
    expect(q.ro).toBe(true);
    expect(krpc.inFlight).toBe(1);
    clock.advance(25);
    reply({}, PEER, Uint8Array.of(0x4c, 0x54, 0x01, 0x02));
    const out = await p;
    expect(out.ok).toBe(true);
    if (out.ok) {
      expect(out.rttMs).toBe(25);
      expect(out.from).toEqual(PEER);
      expect([...out.msg.r.id]).toEqual([...REMOTE_ID]);
    }
    expect(krpc.inFlight).toBe(0);
    expect(krpc.counters).toMatchObject({ sent: 1, queriesSent: 1, queriesSentV6: 0, received: 1, responses: 1, timeouts: 0 });
    expect(krpc.counters.byMethod.ping).toEqual({ sent: 1, ok: 1, timeout: 0, error: 0 });
    expect(krpc.counters.byVersion).toEqual({ '4c540102': 1 });
  });

  it('omits ro when not read-only and v when v is null', () => {
    const { krpc, lastQuery } = setup({ readOnly: false, v: null });
    void krpc.query(PEER, 'ping', {});
    expect(lastQuery().ro).toBeUndefined();
    expect(lastQuery().v).toBeUndefined();
  });

  it('uses distinct transaction ids', () => {
    const { krpc, transport } = setup({ rateLimit: false });
    for (let i = 0; i < 500; i++) void krpc.query(PEER, 'ping', {});
    const ts = new Set(transport.sent.map((s) => Buffer.from((decodeMessage(s.data) as { value: KrpcQuery }).value.t).toString('hex')));
    expect(ts.size).toBe(500);
  });

  it('times out, retries with the same t, then resolves timeout with the attempt count', async () => {
    const { clock, transport, krpc } = setup({ retries: 2 });
    const p = krpc.query(PEER, 'find_node', { target: REMOTE_ID });
    clock.advance(999);
    expect(transport.sent).toHaveLength(1);
    clock.advance(1);
    expect(transport.sent).toHaveLength(2);
    expect(Buffer.compare(transport.sent[0].data, transport.sent[1].data)).toBe(0);
    clock.advance(2000);
    expect(transport.sent).toHaveLength(3);
    expect(await p).toEqual({ ok: false, kind: 'timeout', attempts: 3 });
    expect(krpc.counters.timeouts).toBe(1);
    expect(krpc.counters.byMethod.find_node).toEqual({ sent: 3, ok: 0, timeout: 1, error: 0 });
    expect(krpc.inFlight).toBe(0);
  });

  it('accepts a late reply to the first attempt after a retry went out', async () => {
    const { clock, krpc, reply } = setup({ retries: 1 });
    const p = krpc.query(PEER, 'ping', {});
    clock.advance(1200);
    reply({});
    const out = await p;
    expect(out.ok).toBe(true);
    if (out.ok) expect(out.rttMs).toBe(200);
  });

  it('per-query timeoutMs and retries override the defaults', async () => {
    const { clock, transport, krpc } = setup({ retries: 5 });
    const p = krpc.query(PEER, 'ping', {}, { timeoutMs: 50, retries: 0 });
    clock.advance(50);
    expect(await p).toEqual({ ok: false, kind: 'timeout', attempts: 1 });
    expect(transport.sent).toHaveLength(1);
  });

  it('drops replies from another port or with an unknown t as unmatched, and never answers them', async () => {
    const { clock, transport, krpc, lastQuery } = setup();
    const p = krpc.query(PEER, 'ping', {});
    const t = lastQuery().t;
    transport.deliver(encodeResponse(t, { id: REMOTE_ID }), PEER.host, PEER.port + 1);
    transport.deliver(encodeResponse(t, { id: REMOTE_ID }), '127.0.0.3', PEER.port);
    transport.deliver(encodeResponse(Uint8Array.of(1, 2, 3, 4), { id: REMOTE_ID }), PEER.host, PEER.port);
    transport.deliver(encodeResponse(Uint8Array.of(1, 2), { id: REMOTE_ID }), PEER.host, PEER.port);
    transport.deliver(encodeError(t, 201, 'x'), PEER.host, PEER.port + 1);
    expect(krpc.counters.unmatched).toBe(5);
    expect(transport.sent).toHaveLength(1); // nothing sent in reply
    clock.advance(1000);
    expect((await p).ok).toBe(false);
  });

  it('reports an error reply with its code, message and rtt', async () => {
    const { clock, transport, krpc, lastQuery } = setup();
    const p = krpc.query(PEER, 'get_peers', { info_hash: REMOTE_ID });
    clock.advance(7);
    transport.deliver(encodeError(lastQuery().t, 203, 'bad token'), PEER.host, PEER.port);
    const out = await p;
    expect(out).toMatchObject({ ok: false, kind: 'error', code: 203, message: 'bad token', rttMs: 7 });
    expect(krpc.counters.errors).toBe(1);
    expect(krpc.counters.byMethod.get_peers.error).toBe(1);
  });

  it('reports id_mismatch when expectId differs', async () => {
    const { krpc, reply } = setup();
    const p = krpc.query(PEER, 'ping', {}, { expectId: new Uint8Array(20).fill(9) });
    reply({});
    const out = await p;
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.kind).toBe('id_mismatch');
    expect(krpc.counters.idMismatches).toBe(1);
    const p2 = krpc.query(PEER, 'ping', {}, { expectId: REMOTE_ID });
    reply({});
    expect((await p2).ok).toBe(true);
  });

  it.each([
    ['find_node', {}, /without nodes/],
    ['get_peers', {}, /without token, values or nodes/],
    ['sample_infohashes', { nodes: new Uint8Array(0) }, /not supported/],
    ['sample_infohashes', { samples: new Uint8Array(20), num: 1 }, /without interval/],
    ['sample_infohashes', { samples: new Uint8Array(20), num: 1, interval: 30000 }, /interval 30000 out of range/],
    ['sample_infohashes', { samples: new Uint8Array(20), interval: 60 }, /without num/],
    ['sample_infohashes', { samples: new Uint8Array(20), interval: 60, num: -1 }, /negative/],
    ['sample_infohashes', { samples: new Uint8Array(30), interval: 60, num: 1 }, /multiple of 20/],
    ['get', {}, /without token, v or nodes/],
  ])('%s reply %j is a bad_reply', async (method, body, message) => {
    const { krpc, reply } = setup();
    const p = krpc.query(PEER, method, { target: REMOTE_ID, info_hash: REMOTE_ID });
    reply(body);
    const out = await p;
    expect(out).toMatchObject({ ok: false, kind: 'bad_reply' });
    if (!out.ok && out.kind === 'bad_reply') expect(out.message).toMatch(message);
    expect(krpc.counters.badReplies).toBe(1);
  });

  it.each([
    ['find_node', { nodes: new Uint8Array(0) }],
    ['find_node', { nodes6: new Uint8Array(0) }],
    ['get_peers', { token: Uint8Array.of(1, 2, 3, 4) }],
    ['sample_infohashes', { samples: new Uint8Array(40), interval: 21600, num: 0 }],
    ['get', { token: Uint8Array.of(1) }],
    ['announce_peer', {}],
    ['put', {}],
  ])('%s reply %j is accepted', async (method, body) => {
    const { krpc, reply } = setup();
    const p = krpc.query(PEER, method, {});
    reply(body);
    expect((await p).ok).toBe(true);
  });

  it('passes incoming queries to onQuery as the scanned datagram; respond() adds id, ip and v', () => {
    const { transport, krpc } = setup();
    const seen: Array<[string, string, number]> = [];
    krpc.onQuery((view, host, port) => {
      seen.push([view.method, host, view.buf.length]);
      krpc.respond({ host, port }, view.bytes(F.t)!, {});
    });
    const q = encode({ a: { id: REMOTE_ID }, q: 'ping', t: 'xy', y: 'q' });
    transport.deliver(q, '127.0.0.9', 4242);
    expect(seen).toEqual([['ping', '127.0.0.9', q.length]]);
    expect(krpc.counters.queriesReceived).toBe(1);
    const out = decodeMessage(transport.sent[0].data);
    expect(out.ok).toBe(true);
    if (out.ok && out.value.y === 'r') {
      expect(Buffer.from(out.value.t).toString()).toBe('xy');
      expect([...out.value.r.id]).toEqual([...ID]);
      expect(out.value.ip).toEqual({ host: '127.0.0.9', port: 4242, family: 4 });
      expect([...out.value.v!]).toEqual([...BITSCRAPE_CLIENT_TAG]);
    }
    expect(transport.sent[0]).toMatchObject({ host: '127.0.0.9', port: 4242 });
  });

  it('counts malformed datagrams, calls the malformed-query hook only for queries with a t', () => {
    const hooked: string[] = [];
    const { transport, krpc } = setup({ onMalformedQuery: (err, from) => hooked.push(`${err.code}@${from.port}`) });
    transport.deliver(new Uint8Array([1, 2, 3]), '127.0.0.2', 1);
    transport.deliver(encode({ a: { id: Uint8Array.of(1) }, q: 'ping', t: 'ab', y: 'q' }), '127.0.0.2', 2);
    transport.deliver(encode({ r: { id: Uint8Array.of(1) }, t: 'ab', y: 'r' }), '127.0.0.2', 3);
    expect(krpc.counters.malformed).toBe(3);
    expect(hooked).toHaveLength(1);
    expect(hooked[0]).toMatch(/@2$/);
    expect(transport.sent).toHaveLength(0);
  });

  it('survives throwing handlers and observers, counting them', async () => {
    const { transport, krpc, reply } = setup();
    krpc.onQuery(() => {
      throw new Error('handler bug');
    });
    const observed: string[] = [];
    krpc.onResponse(() => {
      throw new Error('observer bug');
    });
    krpc.onResponse((_m, _f, method) => observed.push(method));
    transport.deliver(encode({ a: { id: REMOTE_ID }, q: 'ping', t: 'xy', y: 'q' }), '127.0.0.9', 1);
    const p = krpc.query(PEER, 'ping', {});
    reply({});
    expect((await p).ok).toBe(true);
    expect(observed).toEqual(['ping']);
    expect(krpc.counters.handlerErrors).toBe(2);
  });

  it('refuses by policy without sending: loopback-only, bogons, bad ports', async () => {
    const { transport, krpc } = setup();
    expect(await krpc.query({ host: '8.8.8.8', port: 6881 }, 'ping', {})).toMatchObject({ ok: false, kind: 'refused', message: expect.stringMatching(/LOOPBACK_ONLY/) });
    const open = setup({ policy: new AddressPolicy({ loopbackOnly: false, localAddresses: ['127.0.0.1'] }) });
    expect(await open.krpc.query({ host: '0.0.0.0', port: 6881 }, 'ping', {})).toMatchObject({ kind: 'refused', message: expect.stringMatching(/bogon/) });
    expect(await open.krpc.query({ host: '127.0.0.1', port: 0 }, 'ping', {})).toMatchObject({ kind: 'refused' });
    expect(await open.krpc.query({ host: '::1', port: 1 }, 'ping', {})).toMatchObject({ kind: 'refused', message: expect.stringMatching(/no IPv6 socket/) });
    expect(transport.sent).toHaveLength(0);
    expect(open.transport.sent).toHaveLength(0);
    expect(krpc.counters.refused).toBe(1);
  });

  it('refuses a query whose arguments cannot be encoded instead of throwing', async () => {
    const { krpc } = setup();
    const out = await krpc.query(PEER, 'ping', { bad: 1.5 as unknown as number });
    expect(out).toMatchObject({ ok: false, kind: 'refused' });
  });

  it('rate-limits per destination (ip:port on loopback) and queues instead of dropping', async () => {
    const { clock, transport, krpc, reply } = setup({ rateLimit: { localPerKeyMax: 2, localPerKeyWindowMs: 1000, maxWaitMs: 5000 } });
    const results = [0, 1, 2, 3, 4].map(() => krpc.query(PEER, 'ping', {}));
    void krpc.query({ host: PEER.host, port: PEER.port + 1 }, 'ping', {}); // another key on loopback
    expect(transport.sent).toHaveLength(3); // 2 in the window, 1 to the other key
    clock.advance(999);
    expect(transport.sent).toHaveLength(3);
    clock.advance(1);
    expect(transport.sent).toHaveLength(5); // a second on: the next 2
    reply({}); // answers the query just sent
    clock.advance(1000);
    expect(transport.sent).toHaveLength(6);
    await flush();
    const done = await Promise.race([results[3], Promise.resolve('pending')]);
    expect(done).toMatchObject({ ok: true });
    expect(krpc.limiter!.stats.delayed).toBe(3);
  });

  it('limits a public IP at the polite default and a local ip:port at the local default', () => {
    // A fake transport: nothing leaves the process, so a public address is safe to name here.
    const policy = new AddressPolicy({ loopbackOnly: false, localAddresses: ['127.0.0.1'] });
    const { clock, transport, krpc } = setup({ policy, rateLimit: { maxWaitMs: 60_000 } });
    for (let i = 0; i < 8; i++) void krpc.query({ host: '1.2.3.4', port: 6881 + i }, 'ping', {}); // one IP, several ports
    for (let i = 0; i < 60; i++) void krpc.query(PEER, 'ping', {});
    const to = (host: string) => transport.sent.filter((s) => s.host === host).length;
    expect([to('1.2.3.4'), to(PEER.host)]).toEqual([5, 50]); // the bursts: 5 per public IP, 50 per local ip:port
    clock.advance(999);
    expect([to('1.2.3.4'), to(PEER.host)]).toEqual([5, 50]); // at most 50 in any second locally
    clock.advance(1);
    expect([to('1.2.3.4'), to(PEER.host)]).toEqual([5, 60]);
    clock.advance(1000);
    expect(to('1.2.3.4')).toBe(6); // 0.5/s per public IP, whatever the port
  });

  it('rate limiter refusal resolves as refused and counts rateLimited', async () => {
    const { krpc } = setup({ rateLimit: { localPerKeyMax: 1, localPerKeyWindowMs: 1000, maxWaitMs: 500 } });
    void krpc.query(PEER, 'ping', {});
    const out = await krpc.query(PEER, 'ping', {});
    expect(out).toMatchObject({ ok: false, kind: 'refused', message: expect.stringMatching(/rate limited/) });
    expect(krpc.counters.rateLimited).toBe(1);
  });

  it('a retry the limiter refuses ends as a timeout, not as refused', async () => {
    const { clock, transport, krpc } = setup({ retries: 1, rateLimit: { localPerKeyMax: 1, localPerKeyWindowMs: 10_000, maxWaitMs: 500 } });
    const p = krpc.query(PEER, 'ping', {});
    clock.advance(1000);
    expect(await p).toEqual({ ok: false, kind: 'timeout', attempts: 1 });
    expect(transport.sent).toHaveLength(1);
    expect(krpc.counters).toMatchObject({ timeouts: 1, rateLimited: 1 });
  });

  it('the malformed-query hook can be set after construction', () => {
    const { transport, krpc } = setup();
    const hooked: number[] = [];
    krpc.onMalformedQuery((err) => hooked.push(err.t!.length));
    transport.deliver(encode({ a: { id: Uint8Array.of(1) }, q: 'ping', t: 'abc', y: 'q' }), '127.0.0.2', 2);
    krpc.onMalformedQuery(null);
    transport.deliver(encode({ a: { id: Uint8Array.of(1) }, q: 'ping', t: 'abc', y: 'q' }), '127.0.0.2', 2);
    expect(hooked).toEqual([3]);
  });

  it('respond() to an address the ip field cannot carry still answers, without ip', () => {
    const { transport, krpc } = setup();
    krpc.respond({ host: 'fe80::1%eth0', port: 9 }, Uint8Array.of(1), {});
    expect(transport.sent).toHaveLength(1);
    const m = decodeMessage(transport.sent[0].data);
    expect(m.ok && m.value.y === 'r').toBe(true);
  });

  it('noRateLimit skips the limiter', () => {
    const { transport, krpc } = setup({ rateLimit: { localPerKeyMax: 1, localPerKeyWindowMs: 1000 } });
    for (let i = 0; i < 5; i++) void krpc.query(PEER, 'ping', {}, { noRateLimit: true });
    expect(transport.sent).toHaveLength(5);
  });

  it('uses one clock timer for all query timeouts', () => {
    const { clock, krpc } = setup({ rateLimit: false });
    for (let i = 0; i < 200; i++) void krpc.query({ host: '127.0.0.2', port: 3000 + i }, 'ping', {});
    expect(clock.pending).toBe(1);
  });

  it('close() resolves pending and queued queries as refused, and refuses later ones', async () => {
    const { krpc } = setup({ rateLimit: { perKeyRatePerSec: 1, perKeyBurst: 1 } });
    const a = krpc.query(PEER, 'ping', {});
    const b = krpc.query(PEER, 'ping', {}); // waiting in the limiter
    await krpc.close();
    expect(await a).toMatchObject({ ok: false, kind: 'refused', message: 'engine closed' });
    expect(await b).toMatchObject({ ok: false, kind: 'refused' });
    expect(await krpc.query(PEER, 'ping', {})).toMatchObject({ ok: false, kind: 'refused' });
    expect(krpc.inFlight).toBe(0);
  });
});
