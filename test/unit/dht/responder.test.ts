// The responder, method by method, on a real Krpc engine over a capture transport.
import { describe, expect, it } from 'vitest';
import { bloomEstimate } from '../../../src/core/dht/bloom.js';
import { compareDistance } from '../../../src/core/dht/node-id.js';
import { MAX_REPLY_BYTES } from '../../../src/core/dht/responder-reply.js';
import { encode } from '../../../src/core/wire/bencode.js';
import { encodeError, encodeResponse } from '../../../src/core/wire/krpc-codec.js';
import type { KrpcErrorMessage, KrpcMessage, KrpcResponse, NodeInfo } from '../../../src/core/wire/types.js';
import { BITSCRAPE_CLIENT_TAG } from '../../../src/core/net/krpc-engine.js';
import { makeHarness, OUR_ID } from './responder-harness.js';

const hash = (n: number): Uint8Array => new Uint8Array(20).fill(n);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const MIN = 60_000;

function r(msg: KrpcMessage | undefined): KrpcResponse {
  if (!msg || msg.y !== 'r') throw new Error(`expected a reply, got ${msg ? JSON.stringify({ y: msg.y, ...(msg.y === 'e' ? { code: msg.code, message: msg.message } : {}) }) : 'nothing'}`);
  return msg;
}
function e(msg: KrpcMessage | undefined): KrpcErrorMessage {
  if (!msg || msg.y !== 'e') throw new Error(`expected an error reply, got ${msg ? msg.y : 'nothing'}`);
  return msg;
}

/** The `count` good nodes of `family` closest to target, by brute force over the table. */
function bruteClosest(h: ReturnType<typeof makeHarness>, target: Uint8Array, family: 4 | 6, count = 8): string[] {
  return h.table
    .entries()
    .filter((n) => n.family === family)
    .sort((a, b) => compareDistance(a.id, b.id, target))
    .slice(0, count)
    .map((n) => hex(n.id));
}
const ids = (nodes: NodeInfo[] | undefined): string[] => (nodes ?? []).map((n) => hex(n.id));

describe('Responder', () => {
  it('answers ping with our id, the echoed t, the querier address (BEP 42 ip) and our v', () => {
    const h = makeHarness();
    const reply = r(h.query('1.2.3.4', 5555, 'ping', {}));
    expect(hex(reply.r.id)).toBe(hex(OUR_ID));
    expect(reply.ip).toEqual({ host: '1.2.3.4', port: 5555, family: 4 });
    expect(hex(reply.v!)).toBe(hex(BITSCRAPE_CLIENT_TAG));
    expect(h.lastReply()).toMatchObject({ host: '1.2.3.4', port: 5555 });
    // The bytes are canonical: re-encoding the decoded message gives the same datagram.
    const sent = h.lastReply()!.data;
    expect(Buffer.from(encodeResponse(reply.t, { id: OUR_ID }, { ip: reply.ip, v: BITSCRAPE_CLIENT_TAG })).equals(Buffer.from(sent))).toBe(true);
    const v6 = r(h.query('2a02::7', 6000, 'ping', {}));
    expect(v6.ip).toEqual({ host: '2a02::7', port: 6000, family: 6 });
    expect(h.responder.counters.byMethod.ping).toEqual({ received: 2, answered: 2, errors: 0 });
  });

  it('echoes transaction ids of any readable length unchanged', () => {
    const h = makeHarness();
    for (const t of [Uint8Array.of(), Uint8Array.of(1), new Uint8Array(12).fill(0x41)]) {
      const bytes = encode({ a: { id: hash(1) }, q: 'ping', t, y: 'q' });
      expect(hex(r(h.deliverRaw(bytes, '1.2.3.4', 1)).t)).toBe(hex(t));
    }
  });

  it('find_node: the 8 closest good nodes in the querier family, or as BEP 32 want asks', () => {
    const h = makeHarness();
    const target = hash(0x33);
    const plain = r(h.query('1.2.3.4', 1, 'find_node', { target }));
    expect(ids(plain.r.nodes)).toEqual(bruteClosest(h, target, 4));
    expect(plain.r.nodes6).toBeUndefined();

    const from6 = r(h.query('2a02::1', 1, 'find_node', { target }));
    expect(ids(from6.r.nodes6)).toEqual(bruteClosest(h, target, 6));
    expect(from6.r.nodes).toBeUndefined();

    const only6 = r(h.query('1.2.3.4', 1, 'find_node', { target, want: ['n6'] }));
    expect(only6.r.nodes).toBeUndefined();
    expect(ids(only6.r.nodes6)).toEqual(bruteClosest(h, target, 6));

    const both = r(h.query('1.2.3.4', 1, 'find_node', { target, want: ['n4', 'n6', 'xx'] }));
    expect(ids(both.r.nodes)).toEqual(bruteClosest(h, target, 4));
    expect(ids(both.r.nodes6)).toEqual(bruteClosest(h, target, 6));

    // A want list naming neither family is read as no want.
    const other = r(h.query('1.2.3.4', 1, 'find_node', { target, want: ['zz'] }));
    expect(ids(other.r.nodes)).toHaveLength(8);
    expect(other.r.nodes6).toBeUndefined();
  });

  it('find_node leaves out failing nodes and answers an empty table with an empty nodes string', () => {
    const h = makeHarness();
    const target = hash(0x99);
    const closest = h.table.closest(target, 1, (n) => n.family === 4)[0];
    h.table.onTimeout(closest);
    const reply = r(h.query('1.2.3.4', 1, 'find_node', { target }));
    expect(ids(reply.r.nodes)).not.toContain(hex(closest.id));
    expect(reply.r.nodes).toHaveLength(8);

    const empty = makeHarness({ tableNodes: 0 });
    const none = r(empty.query('1.2.3.4', 1, 'find_node', { target }));
    expect(none.r.nodes).toEqual([]);
  });

  it('get_peers: a token bound to the IP and hash, nodes, and values once peers are stored', () => {
    const h = makeHarness();
    const ih = hash(0x42);
    const first = r(h.query('1.2.3.4', 7000, 'get_peers', { info_hash: ih }));
    expect(first.r.token).toHaveLength(4);
    expect(h.tokens.verify(first.r.token!, '1.2.3.4', ih)).toBe(true);
    expect(h.tokens.verify(first.r.token!, '1.2.3.5', ih)).toBe(false);
    expect(ids(first.r.nodes)).toEqual(bruteClosest(h, ih, 4));
    expect(first.r.values).toBeUndefined();

    h.peers.announce(ih, { host: '5.6.7.8', port: 51413, family: 4 });
    h.peers.announce(ih, { host: '2a03::8', port: 51413, family: 6 });
    const second = r(h.query('1.2.3.4', 7000, 'get_peers', { info_hash: ih }));
    expect(second.r.values).toEqual([{ host: '5.6.7.8', port: 51413, family: 4 }]);
    const from6 = r(h.query('2a02::1', 7000, 'get_peers', { info_hash: ih }));
    expect(from6.r.values).toEqual([{ host: '2a03::8', port: 51413, family: 6 }]);
    expect(h.harvested.map((x) => x.kind)).toEqual(['get_peers', 'get_peers', 'get_peers']);
    expect(h.harvested[0]).toEqual({ infohash: hex(ih), kind: 'get_peers', from: '1.2.3.4:7000' });
  });

  it('get_peers honours noseed', () => {
    const h = makeHarness();
    const ih = hash(0x43);
    h.peers.announce(ih, { host: '5.6.7.8', port: 1, family: 4 }, true);
    h.peers.announce(ih, { host: '5.6.7.9', port: 2, family: 4 }, false);
    const all = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: ih }));
    expect(all.r.values).toHaveLength(2);
    const noseed = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: ih, noseed: 1 }));
    expect(noseed.r.values).toEqual([{ host: '5.6.7.9', port: 2, family: 4 }]);
  });

  it('get_peers keeps the reply within 1024 bytes however many peers are stored', () => {
    const h = makeHarness({ peerStore: { maxPeersPerIp: 1000 } });
    const ih = hash(0x44);
    for (let i = 0; i < 400; i++) h.peers.announce(ih, { host: `5.6.${i >> 8}.${i & 0xff}`, port: 1000 + i, family: 4 }, i % 3 === 0);
    for (let i = 0; i < 200; i++) h.peers.announce(ih, { host: `2a03::${(i + 1).toString(16)}`, port: 1000 + i, family: 6 });
    const v4 = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: ih, want: ['n4', 'n6'] }));
    expect(h.lastReply()!.data.length).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    expect(v4.r.values!.length).toBeGreaterThan(20);
    expect(v4.r.values!.length).toBeLessThanOrEqual(50);
    const v6 = r(h.query('2a02::1', 1, 'get_peers', { info_hash: ih, want: ['n4', 'n6'], scrape: 1 }));
    expect(h.lastReply()!.data.length).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    expect((v6.r.values ?? []).every((p) => p.family === 6)).toBe(true);
    expect(v6.r.nodes6).toHaveLength(8); // the querier's family keeps its 8 nodes
    expect(v6.r.BFsd).toHaveLength(256);
  });

  it('BEP 33: scrape=1 adds BFsd/BFpe for a hash we hold, estimating seeds and peers', () => {
    const h = makeHarness({ peerStore: { maxPeersPerIp: 1000, maxPeersPerInfohash: 1000 } });
    const ih = hash(0x45);
    for (let i = 0; i < 300; i++) h.peers.announce(ih, { host: `5.6.${i >> 8}.${i & 0xff}`, port: 1, family: 4 }, i < 100);
    const reply = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: ih, scrape: 1 }));
    expect(reply.r.BFsd).toHaveLength(256);
    expect(reply.r.BFpe).toHaveLength(256);
    expect(Math.abs(bloomEstimate(reply.r.BFsd!) - 100)).toBeLessThan(15);
    expect(Math.abs(bloomEstimate(reply.r.BFpe!) - 200)).toBeLessThan(25);
    expect(reply.r.token).toBeDefined();
    const unknown = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: hash(0x46), scrape: 1 }));
    expect(unknown.r.BFsd).toBeUndefined();
    expect(unknown.r.BFpe).toBeUndefined();
    const noScrape = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: ih }));
    expect(noScrape.r.BFsd).toBeUndefined();
  });

  it('withholds the token when the store would refuse the announce', () => {
    const h = makeHarness({ peerStore: { maxInfohashes: 1 } });
    h.peers.announce(hash(1), { host: '5.6.7.8', port: 1, family: 4 });
    const full = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: hash(2) }));
    expect(full.r.token).toBeUndefined();
    expect(full.r.nodes).toBeDefined();
    expect(h.responder.counters.tokensWithheld).toBe(1);
    expect(r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: hash(1) })).r.token).toBeDefined();
  });

  it('announce_peer: stores the peer with a good token, 203 "bad token" otherwise', () => {
    const h = makeHarness();
    const ih = hash(0x50);
    const token = r(h.query('1.2.3.4', 7000, 'get_peers', { info_hash: ih })).r.token!;
    const bad = e(h.query('1.2.3.4', 7000, 'announce_peer', { info_hash: ih, port: 6881, token: Uint8Array.of(1, 2, 3, 4) }));
    expect([bad.code, bad.message]).toEqual([203, 'bad token']);
    // A token is bound to the IP and to the info-hash.
    expect(e(h.query('1.2.3.5', 7000, 'announce_peer', { info_hash: ih, port: 6881, token })).code).toBe(203);
    expect(e(h.query('1.2.3.4', 7000, 'announce_peer', { info_hash: hash(0x51), port: 6881, token })).code).toBe(203);
    expect(h.peers.has(ih)).toBe(false);

    const ok = r(h.query('1.2.3.4', 7001, 'announce_peer', { info_hash: ih, port: 6881, token, seed: 1 }));
    expect(hex(ok.r.id)).toBe(hex(OUR_ID));
    expect(h.peers.getPeers(ih, 10)).toMatchObject([{ host: '1.2.3.4', port: 6881, seed: true }]);
    expect(h.responder.counters.badTokens).toBe(3);
    expect(h.responder.counters.byMethod.announce_peer).toEqual({ received: 4, answered: 1, errors: 3 });
    expect(h.events.filter((x) => x.type === 'announce')).toHaveLength(1);
    expect(h.harvested.filter((x) => x.kind === 'announce_peer')).toHaveLength(4);
  });

  it('announce_peer with implied_port stores the UDP source port; port 0 without it is refused', () => {
    const h = makeHarness();
    const ih = hash(0x52);
    const token = r(h.query('1.2.3.4', 7000, 'get_peers', { info_hash: ih })).r.token!;
    r(h.query('1.2.3.4', 40000, 'announce_peer', { info_hash: ih, port: 6881, implied_port: 1, token }));
    expect(h.peers.getPeers(ih, 10)).toMatchObject([{ host: '1.2.3.4', port: 40000, seed: false }]);
    const zero = e(h.query('1.2.3.4', 7000, 'announce_peer', { info_hash: ih, port: 0, token }));
    expect([zero.code, zero.message]).toEqual([203, 'invalid port']);
    // Out of range: the wire layer refuses it before the responder sees it.
    expect(e(h.query('1.2.3.4', 7000, 'announce_peer', { info_hash: ih, port: 70000, token })).code).toBe(203);
  });

  it('tokens rotate every 5 minutes and stay valid for 5 to 10', () => {
    const h = makeHarness();
    const ih = hash(0x53);
    const token = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: ih })).r.token!;
    h.clock.advance(6 * MIN);
    const rotated = r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: ih })).r.token!;
    expect(hex(rotated)).not.toBe(hex(token));
    expect(h.query('1.2.3.4', 1, 'announce_peer', { info_hash: ih, port: 1, token })!.y).toBe('r');
    h.clock.advance(5 * MIN);
    expect(e(h.query('1.2.3.4', 1, 'announce_peer', { info_hash: ih, port: 1, token })).code).toBe(203);
    expect(h.query('1.2.3.4', 1, 'announce_peer', { info_hash: ih, port: 1, token: rotated })!.y).toBe('r');
  });

  it('sample_infohashes: interval, num, at most 20 stored samples, nodes near the target, within 1024 bytes', () => {
    const h = makeHarness({ sampleIntervalS: 300 });
    const empty = r(h.query('1.2.3.4', 1, 'sample_infohashes', { target: hash(9) }));
    expect(empty.r).toMatchObject({ interval: 300, num: 0, samples: [] });
    expect(empty.rawBody.samples).toEqual(new Uint8Array(0));

    const stored = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const ih = new Uint8Array(20).fill(i + 1);
      h.peers.announce(ih, { host: '5.6.7.8', port: 1000 + i, family: 4 });
      stored.add(hex(ih));
    }
    const target = hash(0x77);
    const reply = r(h.query('1.2.3.4', 1, 'sample_infohashes', { target, want: ['n4', 'n6'] }));
    expect(h.lastReply()!.data.length).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    expect(reply.r.num).toBe(30);
    expect(reply.r.interval).toBe(300);
    expect(ids(reply.r.nodes)).toEqual(bruteClosest(h, target, 4));
    expect(ids(reply.r.nodes6)).toEqual(bruteClosest(h, target, 6));
    const samples = reply.r.samples!.map(hex);
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.length).toBeLessThanOrEqual(20);
    expect(new Set(samples).size).toBe(samples.length);
    for (const s of samples) expect(stored.has(s)).toBe(true);
    const one = r(h.query('1.2.3.4', 1, 'sample_infohashes', { target }));
    expect(one.r.samples).toHaveLength(20);
    expect(h.lastReply()!.data.length).toBeLessThanOrEqual(MAX_REPLY_BYTES);
  });

  it('unknown methods get 204, unless they carry a target or info_hash (answered like find_node)', () => {
    const h = makeHarness();
    const unknown = e(h.query('1.2.3.4', 1, 'frobnicate', {}));
    expect([unknown.code, unknown.message]).toEqual([204, 'Method Unknown']);
    const withTarget = r(h.query('1.2.3.4', 1, 'vote', { target: hash(0x21) }));
    expect(ids(withTarget.r.nodes)).toEqual(bruteClosest(h, hash(0x21), 4));
    const withHash = r(h.query('1.2.3.4', 1, 'whatever', { info_hash: hash(0x22), want: ['n6'] }));
    expect(ids(withHash.r.nodes6)).toEqual(bruteClosest(h, hash(0x22), 6));
    expect(h.responder.counters.byMethod.unknown).toEqual({ received: 3, answered: 2, errors: 1 });
    // BEP 44 get is not unknown on a full node: its registered handler answers it (with a token).
    expect(r(h.query('1.2.3.4', 1, 'get', { target: hash(0x23) })).r.token).toBeDefined();
    expect(h.responder.counters.byMethod.unknown.received).toBe(3);
    expect(h.responder.counters.byMethod.get).toEqual({ received: 1, answered: 1, errors: 0 });
  });

  it('malformed queries with a readable t get 203; unreadable ones are dropped', () => {
    const h = makeHarness();
    const noId = encode({ a: { target: hash(1) }, q: 'find_node', t: 'mm', y: 'q' });
    const err = e(h.deliverRaw(noId, '1.2.3.4', 1));
    expect(err.code).toBe(203);
    expect(Buffer.from(err.t).toString()).toBe('mm');
    const shortTarget = encode({ a: { id: hash(1), target: new Uint8Array(19) }, q: 'find_node', t: 'm2', y: 'q' });
    expect(e(h.deliverRaw(shortTarget, '1.2.3.4', 1)).code).toBe(203);
    // Not bencode, no t, a bare list: silence.
    expect(h.deliverRaw(Buffer.from('hello world'), '1.2.3.4', 1)).toBeUndefined();
    expect(h.deliverRaw(encode({ a: { id: hash(1) }, q: 'ping', y: 'q' }), '1.2.3.4', 1)).toBeUndefined();
    expect(h.deliverRaw(encode([1, 2]), '1.2.3.4', 1)).toBeUndefined();
    // A malformed query from a bogon source is not answered either.
    expect(h.deliverRaw(noId, '192.0.2.1', 1)).toBeUndefined();
    expect(h.responder.counters.malformedAnswered).toBe(2);
  });

  it('never answers responses or errors', () => {
    const h = makeHarness();
    expect(h.deliverRaw(encodeResponse(Uint8Array.of(1, 2), { id: hash(1) }), '1.2.3.4', 1)).toBeUndefined();
    expect(h.deliverRaw(encodeError(Uint8Array.of(1, 2), 201, 'x'), '1.2.3.4', 1)).toBeUndefined();
    expect(h.transport.sent).toHaveLength(0);
  });

  it('stays silent to bogon and port-0 sources', () => {
    const h = makeHarness();
    for (const [host, port] of [
      ['192.0.2.1', 5],
      ['0.1.2.3', 5],
      ['10.0.0.1', 5], // private space is not open to this node
      ['2001:db8::1', 5],
      ['1.2.3.4', 0],
    ] as const) {
      expect(h.query(host, port, 'ping', {})).toBeUndefined();
    }
    expect(h.responder.counters.refused).toBe(5);
    expect(h.table.getByEndpoint('10.0.0.1', 5)).toBeUndefined();
  });

  it('BEP 43: answers ro=1 queries but keeps the sender out of the table', () => {
    const h = makeHarness({ tableNodes: 0 });
    expect(r(h.query('1.2.3.4', 1, 'ping', {}, { ro: true, id: hash(0xa1) })).r.id).toBeDefined();
    expect(h.table.getByEndpoint('1.2.3.4', 1)).toBeUndefined();
    expect(h.responder.counters.readOnly).toBe(1);
    r(h.query('1.2.3.5', 1, 'ping', {}, { id: hash(0xa2) }));
    const entry = h.table.getByEndpoint('1.2.3.5', 1);
    expect(entry && hex(entry.id)).toBe(hex(hash(0xa2)));
    // An unverified querier that would fit is offered for a ping.
    expect(h.events).toContainEqual({ type: 'ping_candidate', entry });
  });

  it('drops queries over the per-source rate limit, and answers again once it refills', () => {
    const h = makeHarness({ inboundRate: { ratePerSec: 1, burst: 3 } });
    const answers = Array.from({ length: 5 }, () => h.query('1.2.3.4', 1, 'ping', {}));
    expect(answers.filter(Boolean)).toHaveLength(3);
    expect(h.responder.counters.rateLimited).toBe(2);
    // Another source has its own bucket.
    expect(h.query('1.2.3.5', 1, 'ping', {})).toBeDefined();
    h.clock.advance(1000);
    expect(h.query('1.2.3.4', 1, 'ping', {})).toBeDefined();
  });

  it('registered methods get the decoded query and a context (reply, tokens, closest nodes)', () => {
    const h = makeHarness();
    const seen: string[] = [];
    h.responder.registerMethod('put', (q, from, ctx) => {
      seen.push(`${q.q}:${from.host}:${from.port}`);
      if (!q.a.token || !ctx.checkToken(q.a.token, hash(0x60))) return ctx.error(203, 'bad token');
      ctx.reply({ ok: 1 });
    });
    h.responder.registerMethod('get', (q, _from, ctx) => {
      const token = ctx.issueToken(q.a.target!);
      ctx.reply({ token, ...ctx.closestNodes(q.a.target!, ['n4', 'n6']) });
    });
    const got = r(h.query('1.2.3.4', 9, 'get', { target: hash(0x60) }));
    expect(ids(got.r.nodes)).toEqual(bruteClosest(h, hash(0x60), 4));
    expect(ids(got.r.nodes6)).toEqual(bruteClosest(h, hash(0x60), 6));
    expect(got.ip).toEqual({ host: '1.2.3.4', port: 9, family: 4 });
    const token = got.r.token!;
    expect(r(h.query('1.2.3.4', 9, 'put', { token, v: 'x' })).rawBody.ok).toBe(1);
    expect(e(h.query('1.2.3.9', 9, 'put', { token, v: 'x' })).code).toBe(203);
    expect(seen).toEqual(['put:1.2.3.4:9', 'put:1.2.3.9:9']);
    expect(h.responder.counters.byMethod.put).toEqual({ received: 2, answered: 1, errors: 1 });
    expect(() => h.responder.registerMethod('ping', () => undefined)).toThrow();
    // Registered methods pass the same admission: a bogon source never reaches the handler.
    expect(h.query('192.0.2.1', 9, 'put', { token, v: 'x' })).toBeUndefined();
    expect(seen).toHaveLength(2);
  });

  it('a throwing callback does not stop the reply', () => {
    const h = makeHarness({
      onInfohash: () => {
        throw new Error('boom');
      },
    });
    expect(r(h.query('1.2.3.4', 1, 'get_peers', { info_hash: hash(1) })).r.token).toBeDefined();
    expect(h.responder.counters.handlerErrors).toBe(1);
  });

  it('stops answering after close()', () => {
    const h = makeHarness();
    h.responder.close();
    expect(h.query('1.2.3.4', 1, 'ping', {})).toBeUndefined();
  });
});

describe('Responder counters', () => {
  it('count queries, answers, errors and drops', () => {
    const h = makeHarness();
    h.query('1.2.3.4', 1, 'ping', {});
    h.query('1.2.3.4', 1, 'find_node', { target: hash(1) });
    h.query('1.2.3.4', 1, 'nope', {});
    h.query('192.0.2.1', 1, 'ping', {});
    const c = h.responder.counters;
    expect({ queries: c.queries, answered: c.answered, errors: c.errors, refused: c.refused }).toEqual({ queries: 4, answered: 2, errors: 1, refused: 1 });
  });
});

describe('Responder on SimNetwork, queried by our own Krpc client', () => {
  it('every method passes the client-side reply checks, in virtual time', async () => {
    const { AddressPolicy } = await import('../../../src/core/net/address.js');
    const { Krpc } = await import('../../../src/core/net/krpc-engine.js');
    const { SimNetwork } = await import('../../../src/core/net/sim-network.js');
    const { VirtualClock } = await import('../../../src/core/net/virtual-clock.js');
    const { DhtClient } = await import('../../../src/core/dht/dht-client.js');
    const { createFullNode } = await import('../../../src/core/dht/full-node.js');
    const { RoutingTable } = await import('../../../src/core/dht/routing-table.js');
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 3, latencyMs: { min: 5, max: 30 } });
    const policy = AddressPolicy.simulated();
    const server = new Krpc({ transport: net.attach('10.0.0.1', 6881), clock, id: OUR_ID, policy, rateLimit: false, readOnly: false });
    const table = new RoutingTable({ id: OUR_ID, clock });
    for (let i = 0; i < 50; i++) table.onReply({ id: new Uint8Array(20).fill(i + 1), host: `10.1.0.${i + 1}`, port: 6881, family: 4 });
    const { responder } = createFullNode({ client: new DhtClient({ engine: server, clock, table }), policy, responder: { inboundRate: { ratePerSec: 100, burst: 100 } } });
    const client = new Krpc({ transport: net.attach('10.0.0.2', 7000), clock, id: hash(0xcc), policy, rateLimit: false, readOnly: false });
    const to = { host: '10.0.0.1', port: 6881 };
    const ih = hash(0x42);

    const run = async <T>(p: Promise<T>): Promise<T> => {
      await clock.runUntilIdleAsync(10_000);
      return p;
    };
    const ping = await run(client.query(to, 'ping', {}, { expectId: OUR_ID }));
    expect(ping.ok).toBe(true);
    const fn = await run(client.query(to, 'find_node', { target: hash(0x05) }));
    const expected = table.entries().sort((a, b) => compareDistance(a.id, b.id, hash(0x05))).slice(0, 8).map((n) => hex(n.id));
    expect(fn.ok && ids(fn.msg.r.nodes)).toEqual(expected);
    const gp = await run(client.query(to, 'get_peers', { info_hash: ih }));
    if (!gp.ok) throw new Error('get_peers failed');
    const ann = await run(client.query(to, 'announce_peer', { info_hash: ih, port: 51413, token: gp.msg.r.token }));
    expect(ann.ok).toBe(true);
    const gp2 = await run(client.query(to, 'get_peers', { info_hash: ih, scrape: 1 }));
    expect(gp2.ok && gp2.msg.r.values).toEqual([{ host: '10.0.0.2', port: 51413, family: 4 }]);
    expect(gp2.ok && gp2.msg.r.BFpe).toHaveLength(256);
    const si = await run(client.query(to, 'sample_infohashes', { target: hash(0x05) }));
    expect(si.ok && si.msg.r.samples?.map(hex)).toEqual([hex(ih)]);
    const unknown = await run(client.query(to, 'frob', {}));
    expect(unknown).toMatchObject({ ok: false, kind: 'error', code: 204 });
    expect(responder.counters.answered).toBe(6);
    // The client announced without ro=1, so it waits in the table for a ping.
    expect(table.getByEndpoint('10.0.0.2', 7000)).toBeDefined();
  });
});
