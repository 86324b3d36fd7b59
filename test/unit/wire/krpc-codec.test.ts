import bencode from 'bencode';
import { describe, expect, it } from 'vitest';
import { encode } from '../../../src/core/wire/bencode.js';
import { encodeNodes, encodePeer } from '../../../src/core/wire/compact.js';
import { fromHex, toHex } from '../../../src/core/wire/hex.js';
import { decodeMessage, encodeError, encodeQuery, encodeResponse } from '../../../src/core/wire/krpc-codec.js';
import { F, KrpcView, scanKrpc } from '../../../src/core/wire/krpc-view.js';
import type { BEncodable, KrpcErrorMessage, KrpcMessage, KrpcQuery, KrpcResponse, NodeInfo, WireError } from '../../../src/core/wire/types.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (u: Uint8Array) => Buffer.from(u).toString('latin1');
const ID = b('abcdefghij0123456789');
const TARGET = b('mnopqrstuvwxyz123456');
const T = b('aa');

function ok(buf: Uint8Array): KrpcMessage {
  const res = decodeMessage(buf);
  if (!res.ok) throw new Error(`expected a message, got ${res.error.code}: ${res.error.message}`);
  return res.value;
}
function query(buf: Uint8Array): KrpcQuery {
  const m = ok(buf);
  if (m.y !== 'q') throw new Error(`expected a query, got y=${m.y}`);
  return m;
}
function response(buf: Uint8Array): KrpcResponse {
  const m = ok(buf);
  if (m.y !== 'r') throw new Error(`expected a response, got y=${m.y}`);
  return m;
}
function failure(buf: Uint8Array): WireError {
  const res = decodeMessage(buf);
  if (res.ok) throw new Error(`expected a failure, got a y=${res.value.y} message`);
  return res.error;
}
/** A datagram from a plain object, written by the npm package (an independent encoder). */
const npm = (value: unknown) => Buffer.from(bencode.encode(value));

const nodes4: NodeInfo[] = Array.from({ length: 8 }, (_, i) => ({
  id: new Uint8Array(20).fill(i + 1),
  host: `10.${i}.0.${i + 1}`,
  port: 6881 + i,
  family: 4,
}));
const nodes6: NodeInfo[] = [1, 2].map((i) => ({ id: new Uint8Array(20).fill(0x60 + i), host: `2001:db8::${i}`, port: 7000 + i, family: 6 }));

describe('envelope encoding (BEP 5 examples)', () => {
  it('writes a ping query byte for byte', () => {
    const q = encodeQuery(T, 'ping', { id: ID });
    expect(text(q)).toBe(`d1:ad2:id20:${text(ID)}e1:q4:ping1:t2:aa1:y1:qe`);
  });

  it('writes a reply with ip and an error reply', () => {
    const r = encodeResponse(T, { id: ID }, { ip: { host: '1.2.3.4', port: 6881, family: 4 } });
    expect(text(r)).toBe(`d2:ip6:\x01\x02\x03\x04\x1a\xe11:rd2:id20:${text(ID)}e1:t2:aa1:y1:re`);
    expect(text(encodeError(T, 203, 'Protocol Error'))).toBe('d1:eli203e14:Protocol Errore1:t2:aa1:y1:ee');
  });

  it('adds v and ro when asked, and echoes any t unchanged', () => {
    const q = encodeQuery(b('\x00\x01\x02\x03\x04\x05'), 'ping', { id: ID }, { v: b('LT\x02\x08'), ro: true });
    const m = query(q);
    expect(text(m.t)).toBe('\x00\x01\x02\x03\x04\x05');
    expect(text(m.v!)).toBe('LT\x02\x08');
    expect(m.ro).toBe(true);
    expect(text(ok(encodeError(b(''), 201, 'x')).t)).toBe('');
    expect(text(ok(encodeError(b('abcd'), 201, 'x')).t)).toBe('abcd');
  });
});

describe('queries', () => {
  it('decodes ping', () => {
    const m = query(encodeQuery(T, 'ping', { id: ID }));
    expect(m.q).toBe('ping');
    expect(text(m.a.id)).toBe(text(ID));
    expect(Object.keys(m.rawArgs)).toEqual(['id']);
  });

  it('decodes find_node with want, and keeps unknown keys in rawArgs only', () => {
    const m = query(encodeQuery(T, 'find_node', { id: ID, target: TARGET, want: ['n4', 'n6', b('xx')], extra: 5 }));
    expect(text(m.a.target!)).toBe(text(TARGET));
    expect(m.a.want).toEqual(['n4', 'n6', 'xx']);
    expect(m.rawArgs.extra).toBe(5);
    expect('extra' in m.a).toBe(false);
  });

  it('decodes get_peers flags and announce_peer', () => {
    const g = query(encodeQuery(T, 'get_peers', { id: ID, info_hash: TARGET, noseed: 1, scrape: 1 }));
    expect(g.a).toMatchObject({ noseed: true, scrape: true });
    expect(text(g.a.info_hash!)).toBe(text(TARGET));

    const a = query(encodeQuery(T, 'announce_peer', { id: ID, info_hash: TARGET, port: 6881, token: b('tokn'), implied_port: 0, seed: 1 }));
    expect(a.a).toMatchObject({ port: 6881, implied_port: false, seed: true });
    expect(text(a.a.token!)).toBe('tokn');
  });

  it('accepts announce_peer without port when implied_port=1', () => {
    const a = query(encodeQuery(T, 'announce_peer', { id: ID, info_hash: TARGET, token: b('tk'), implied_port: 1 }));
    expect(a.a.implied_port).toBe(true);
    expect(a.a.port).toBeUndefined();
  });

  it('decodes sample_infohashes and BEP 44 get', () => {
    expect(text(query(encodeQuery(T, 'sample_infohashes', { id: ID, target: TARGET })).a.target!)).toBe(text(TARGET));
    const g = query(encodeQuery(T, 'get', { id: ID, target: TARGET, seq: 4 }));
    expect(g.a.seq).toBe(4n);
  });

  it('decodes BEP 44 put with the raw bytes of v', () => {
    const v = { b: 1, a: [b('x'), 2] };
    const m = query(
      encodeQuery(T, 'put', { id: ID, token: b('tk'), v, k: new Uint8Array(32).fill(7), sig: new Uint8Array(64).fill(9), seq: 9223372036854775807n, cas: 3, salt: b('foobar') }),
    );
    expect(text(m.a.v_raw!)).toBe('d1:al1:xi2ee1:bi1ee');
    expect(m.a.v).toEqual({ a: [Uint8Array.of(0x78), 2], b: 1 });
    expect(m.a.seq).toBe(9223372036854775807n);
    expect(m.a.cas).toBe(3n);
    expect(text(m.a.salt!)).toBe('foobar');
    expect(m.a.k!.length).toBe(32);
    expect(m.a.sig!.length).toBe(64);
  });

  it('decodes an unknown method with its raw args (answered with 204 by the responder)', () => {
    const m = query(encodeQuery(T, 'vote', { id: ID, target: TARGET, vote: 3, info_hash: b('short') }));
    expect(m.q).toBe('vote');
    expect(text(m.a.target!)).toBe(text(TARGET));
    expect(m.a.info_hash).toBeUndefined(); // not 20 bytes: dropped quietly
    expect(m.rawArgs.vote).toBe(3);
    const view = scanKrpc(encodeQuery(T, 'vote', { id: ID }));
    expect(view.error).toBeNull();
    expect(view.knownMethod).toBe(false);
  });

  it('ignores fields a method does not take', () => {
    const m = query(encodeQuery(T, 'ping', { id: ID, target: b('not an id'), port: 1e6 }));
    expect(m.a.target).toBeUndefined();
    expect(m.a.port).toBeUndefined();
  });

  it.each([
    ['missing a', { t: T, y: 'q', q: 'ping' }, 'missing_key'],
    ['missing q', { t: T, y: 'q', a: { id: ID } }, 'missing_key'],
    ['a not a dict', { t: T, y: 'q', q: 'ping', a: [] }, 'bad_type'],
    ['id missing', { t: T, y: 'q', q: 'ping', a: {} }, 'missing_key'],
    ['id of 19 bytes', { t: T, y: 'q', q: 'ping', a: { id: ID.subarray(1) } }, 'bad_length'],
    ['id an integer', { t: T, y: 'q', q: 'ping', a: { id: 1 } }, 'bad_type'],
    ['target missing', { t: T, y: 'q', q: 'find_node', a: { id: ID } }, 'missing_key'],
    ['target of 21 bytes', { t: T, y: 'q', q: 'find_node', a: { id: ID, target: b('x'.repeat(21)) } }, 'bad_length'],
    ['want not a list', { t: T, y: 'q', q: 'find_node', a: { id: ID, target: TARGET, want: 'n4' } }, 'bad_type'],
    ['info_hash missing', { t: T, y: 'q', q: 'get_peers', a: { id: ID } }, 'missing_key'],
    ['noseed a string', { t: T, y: 'q', q: 'get_peers', a: { id: ID, info_hash: TARGET, noseed: '1' } }, 'bad_type'],
    ['port out of range', { t: T, y: 'q', q: 'announce_peer', a: { id: ID, info_hash: TARGET, token: 'x', port: 65536 } }, 'bad_value'],
    ['port negative', { t: T, y: 'q', q: 'announce_peer', a: { id: ID, info_hash: TARGET, token: 'x', port: -1 } }, 'bad_value'],
    ['port huge', { t: T, y: 'q', q: 'announce_peer', a: { id: ID, info_hash: TARGET, token: 'x', port: 2n ** 70n } }, 'bad_value'],
    ['port a string', { t: T, y: 'q', q: 'announce_peer', a: { id: ID, info_hash: TARGET, token: 'x', port: '6881' } }, 'bad_type'],
    ['port missing', { t: T, y: 'q', q: 'announce_peer', a: { id: ID, info_hash: TARGET, token: 'x' } }, 'missing_key'],
    ['token missing', { t: T, y: 'q', q: 'announce_peer', a: { id: ID, info_hash: TARGET, port: 1 } }, 'missing_key'],
    ['token too long', { t: T, y: 'q', q: 'announce_peer', a: { id: ID, info_hash: TARGET, port: 1, token: 'x'.repeat(65) } }, 'bad_length'],
    ['get seq negative', { t: T, y: 'q', q: 'get', a: { id: ID, target: TARGET, seq: -1 } }, 'bad_value'],
    ['put seq beyond int64', { t: T, y: 'q', q: 'put', a: { id: ID, token: 'x', v: 1, seq: 2n ** 63n } }, 'bad_value'],
    ['put without v', { t: T, y: 'q', q: 'put', a: { id: ID, token: 'x' } }, 'missing_key'],
    ['put k of 31 bytes', { t: T, y: 'q', q: 'put', a: { id: ID, token: 'x', v: 1, k: b('k'.repeat(31)) } }, 'bad_length'],
    ['put mutable without sig', { t: T, y: 'q', q: 'put', a: { id: ID, token: 'x', v: 1, k: b('k'.repeat(32)), seq: 1 } }, 'missing_key'],
    ['put mutable without seq', { t: T, y: 'q', q: 'put', a: { id: ID, token: 'x', v: 1, k: b('k'.repeat(32)), sig: b('s'.repeat(64)) } }, 'missing_key'],
  ])('a malformed query (%s) is an error the responder can answer with 203', (_name, msg, code) => {
    // Our encoder: the npm package cannot write bigints.
    const e = failure(encode(msg as BEncodable));
    expect(e.code).toBe(code);
    expect(e.krpcCode).toBe(203);
    expect(e.y).toBe('q');
    expect(text(e.t!)).toBe('aa');
  });

  it('asks for 207 when the salt is too big and 205 when v is too big', () => {
    const salt = failure(encodeQuery(T, 'put', { id: ID, token: b('x'), v: 1, salt: new Uint8Array(65) }));
    expect(salt).toMatchObject({ code: 'too_long', krpcCode: 207, y: 'q' });
    expect(query(encodeQuery(T, 'put', { id: ID, token: b('x'), v: 1, salt: new Uint8Array(64) })).a.salt!.length).toBe(64);

    const big = failure(encodeQuery(T, 'put', { id: ID, token: b('x'), v: new Uint8Array(997) }));
    expect(big).toMatchObject({ code: 'too_long', krpcCode: 205 });
    // 996 bytes + "996:" = 1000 bytes of encoded v: the largest allowed.
    expect(query(encodeQuery(T, 'put', { id: ID, token: b('x'), v: new Uint8Array(996) })).a.v_raw!.length).toBe(1000);
  });

  it('refuses a put whose v is not canonical bencode', () => {
    const raw = b(`d1:ad2:id20:${text(ID)}5:token1:x1:vd1:bi1e1:ai2eee1:q3:put1:t2:aa1:y1:qe`);
    expect(failure(raw)).toMatchObject({ code: 'unsorted_keys', krpcCode: 203, y: 'q' });
  });
});

describe('responses', () => {
  it('decodes a libtorrent-style find_node reply (our encoder and the npm one)', () => {
    const body = { id: ID, nodes: encodeNodes(nodes4), p: 6881 };
    const env = { ip: { host: '203.0.113.9', port: 51413, family: 4 as const }, v: b('LT\x02\x08') };
    const ours = encodeResponse(T, body, env);
    const theirs = npm({ ip: encodePeer(env.ip), r: body, t: T, y: 'r', v: env.v });
    expect(Buffer.from(ours).equals(theirs)).toBe(true);
    for (const raw of [ours, theirs]) {
      const m = response(raw);
      expect(m.r.nodes).toEqual(nodes4);
      expect(m.ip).toEqual(env.ip);
      expect(text(m.v!)).toBe('LT\x02\x08');
      expect(m.rawBody.p).toBe(6881);
      expect(m.warnings).toBeUndefined();
    }
  });

  it('decodes a get_peers reply with mixed values, nodes6, token and scrape filters', () => {
    const bloom = new Uint8Array(256).fill(0x81);
    const raw = npm({
      r: {
        id: ID,
        token: b('tokn'),
        values: [encodePeer({ host: '1.2.3.4', port: 80, family: 4 }), encodePeer({ host: '2001:db8::9', port: 443, family: 6 })],
        nodes: encodeNodes(nodes4.slice(0, 2)),
        nodes6: encodeNodes(nodes6),
        BFsd: bloom,
        BFpe: bloom,
      },
      t: T,
      y: 'r',
    });
    const m = response(raw);
    expect(m.r.values).toEqual([
      { host: '1.2.3.4', port: 80, family: 4 },
      { host: '2001:db8::9', port: 443, family: 6 },
    ]);
    expect(m.r.nodes6).toEqual(nodes6);
    expect(text(m.r.token!)).toBe('tokn');
    expect(m.r.BFsd).toEqual(bloom);
    expect(m.r.BFpe).toEqual(bloom);
  });

  it('decodes a sample_infohashes reply like the one libtorrent sends', () => {
    const samples = new Uint8Array(400).map((_, i) => i);
    const m = response(npm({ r: { id: ID, interval: 21600, num: 95, samples, nodes: encodeNodes(nodes4), p: 8845 }, t: T, y: 'r' }));
    expect(m.r.interval).toBe(21600);
    expect(m.r.num).toBe(95);
    expect(m.r.samples!.length).toBe(20);
    expect(toHex(m.r.samples![1])).toBe(toHex(samples.subarray(20, 40)));
  });

  it('decodes a BEP 44 get reply with the raw bytes of v', () => {
    const m = response(npm({ r: { id: ID, token: 'tk', v: b('Hello World!'), k: new Uint8Array(32), sig: new Uint8Array(64), seq: 1 }, t: T, y: 'r' }));
    expect(text(m.r.v_raw!)).toBe('12:Hello World!');
    expect(m.r.seq).toBe(1n);
    expect(m.r.k!.length).toBe(32);
  });

  it('drops a response without a usable id (treated as a timeout by the caller)', () => {
    expect(failure(npm({ r: {}, t: T, y: 'r' })).code).toBe('missing_key');
    expect(failure(npm({ r: { id: b('short') }, t: T, y: 'r' })).code).toBe('bad_length');
    expect(failure(npm({ r: 'x', t: T, y: 'r' })).code).toBe('bad_type');
    expect(failure(npm({ t: T, y: 'r' })).code).toBe('missing_key');
    expect(failure(npm({ r: {}, t: T, y: 'r' })).krpcCode).toBeUndefined();
  });

  it('reads the BEP 42 ip leniently', () => {
    const at = (ip: Uint8Array) => ok(npm({ ip, r: { id: ID }, t: T, y: 'r' }));
    expect(at(encodePeer({ host: '2001:db8::1', port: 9, family: 6 })).ip).toEqual({ host: '2001:db8::1', port: 9, family: 6 });
    const odd = at(b('\x01\x02\x03\x04\x00\x50\xff\xff'));
    expect(odd.ip).toEqual({ host: '1.2.3.4', port: 80, family: 4 });
    expect(odd.warnings?.some((w) => w.startsWith('ip:'))).toBe(true);
    const short = at(b('\x01\x02\x03\x04'));
    expect(short.ip).toBeUndefined();
    expect(short.warnings?.length).toBe(1);
  });
});

describe('malformed input seen in the wild (PROTOCOL §9)', () => {
  it('nodes not a multiple of 26: whole records kept, with a warning', () => {
    const nodes = Buffer.concat([encodeNodes(nodes4.slice(0, 3)), b('tail')]);
    const m = response(npm({ r: { id: ID, nodes }, t: T, y: 'r' }));
    expect(m.r.nodes).toEqual(nodes4.slice(0, 3));
    expect(m.warnings).toEqual(['nodes: length not a multiple of 26, tail ignored']);
  });

  it('nodes6 not a multiple of 38: same', () => {
    const m = response(npm({ r: { id: ID, nodes6: Buffer.concat([encodeNodes(nodes6), b('x')]) }, t: T, y: 'r' }));
    expect(m.r.nodes6).toEqual(nodes6);
    expect(m.warnings?.[0]).toMatch(/^nodes6:/);
  });

  it('values entries that are not 6 or 18 bytes, or not strings, are skipped', () => {
    const values = [b('123456'), b('12345'), 7, [b('x')], b('1234567890abcdefgh'), b('1234567')];
    const m = response(npm({ r: { id: ID, values }, t: T, y: 'r' }));
    expect(m.r.values!.map((p) => p.family)).toEqual([4, 6]);
    expect(m.warnings?.[0]).toMatch(/^values:/);
  });

  it('values as one string of 6-byte peers (legacy) is accepted', () => {
    const one = Buffer.concat([encodePeer({ host: '1.1.1.1', port: 1, family: 4 }), encodePeer({ host: '2.2.2.2', port: 2, family: 4 })]);
    const m = response(npm({ r: { id: ID, values: one }, t: T, y: 'r' }));
    expect(m.r.values).toEqual([
      { host: '1.1.1.1', port: 1, family: 4 },
      { host: '2.2.2.2', port: 2, family: 4 },
    ]);
    const bad = response(npm({ r: { id: ID, values: b('1234567') }, t: T, y: 'r' }));
    expect(bad.r.values).toBeUndefined();
  });

  it('a body that is not a dict, or a bad y, is dropped without an answer', () => {
    for (const raw of [b('l1:ae'), b('i1e'), b('1:a'), b('')]) {
      const e = failure(raw);
      expect(['not_dict', 'empty']).toContain(e.code);
      expect(e.krpcCode).toBeUndefined();
    }
    const noY = failure(npm({ t: T, q: 'ping', a: { id: ID } }));
    expect(noY).toMatchObject({ code: 'missing_key' });
    expect(noY.y).toBeUndefined();
    expect(noY.krpcCode).toBeUndefined();
    expect(failure(npm({ t: T, y: 'qq', q: 'ping', a: { id: ID } })).code).toBe('bad_value');
    expect(failure(npm({ t: T, y: 'x', q: 'ping', a: { id: ID } })).code).toBe('bad_value');
    expect(failure(npm({ t: T, y: 1, q: 'ping', a: { id: ID } })).code).toBe('bad_value');
  });

  it('t missing, not a string or too long is dropped', () => {
    expect(failure(npm({ y: 'q', q: 'ping', a: { id: ID } })).code).toBe('missing_key');
    expect(failure(npm({ t: 1, y: 'q', q: 'ping', a: { id: ID } })).code).toBe('bad_type');
    expect(failure(npm({ t: 'x'.repeat(33), y: 'q', q: 'ping', a: { id: ID } })).code).toBe('bad_length');
  });

  it('a string length that runs past the end is rejected', () => {
    const good = encodeQuery(T, 'ping', { id: ID });
    const cut = good.subarray(0, 20);
    expect(failure(cut).code).toBe('truncated');
    expect(failure(b('d1:t900:aae')).code).toBe('truncated');
  });

  it('BFse (mldht) is read as BFsd; a filter that is not 256 bytes is ignored', () => {
    const bloom = new Uint8Array(256).fill(3);
    const m = response(npm({ r: { id: ID, BFse: bloom, BFpe: new Uint8Array(255) }, t: T, y: 'r' }));
    expect(m.r.BFsd).toEqual(bloom);
    expect(m.r.BFpe).toBeUndefined();
    expect(m.warnings?.[0]).toMatch(/^BFsd/);
  });

  it('an error as a string, a short list or a missing e is accepted', () => {
    const err = (e: unknown) => ok(npm(e === undefined ? { t: T, y: 'e' } : { e, t: T, y: 'e' })) as KrpcErrorMessage;
    expect(err([202, 'Server Error'])).toMatchObject({ y: 'e', code: 202, message: 'Server Error' });
    expect(err([202, 'Server Error']).warnings).toBeUndefined();
    expect(err('Protocol Error')).toMatchObject({ code: 201, message: 'Protocol Error' });
    expect(err([204])).toMatchObject({ code: 204, message: '' });
    expect(err(['just a message'])).toMatchObject({ code: 201, message: 'just a message' });
    expect(err([])).toMatchObject({ code: 201, message: '' });
    expect(err(undefined)).toMatchObject({ code: 201, message: '' });
    expect(err('x').warnings?.[0]).toMatch(/^e:/);
  });

  it('bogons are not filtered here: the wire reports what was sent', () => {
    const id = new Uint8Array(ID);
    const odd: NodeInfo[] = [
      { id, host: '0.0.0.0', port: 0, family: 4 },
      { id, host: '192.168.1.1', port: 1, family: 4 },
    ];
    expect(response(npm({ r: { id: ID, nodes: encodeNodes(odd) }, t: T, y: 'r' })).r.nodes).toEqual(odd);
  });

  it('never throws on junk', () => {
    const junk = ['d', 'de', 'd1:y1:qe', 'd1:t2:aa1:y1:q1:q4:ping1:ai1ee', 'd1:t2:aa1:y1:r1:rd2:idi1eee', 'd1:ei1e1:t0:1:y1:ee', 'dxe', '\xff'];
    for (const j of junk) expect(() => decodeMessage(b(j))).not.toThrow();
    expect(decodeMessage(b('d1:ei1e1:t0:1:y1:ee'))).toMatchObject({ ok: true, value: { y: 'e', code: 1 } });
  });
});

describe('the hot-path view', () => {
  it('reads the fields of a query by offset', () => {
    const raw = encodeQuery(T, 'get_peers', { id: ID, info_hash: TARGET, want: ['n6'], scrape: 1 });
    const view = scanKrpc(raw, new KrpcView());
    expect(view.error).toBeNull();
    expect(String.fromCharCode(view.y)).toBe('q');
    expect(view.method).toBe('get_peers');
    expect(text(view.bytes(F.info_hash)!)).toBe(text(TARGET));
    expect(text(raw.subarray(view.start(F.id), view.end(F.id)))).toBe(text(ID));
    expect(view.wants('n6')).toBe(true);
    expect(view.wants('n4')).toBe(false);
    expect(view.flag(F.scrape)).toBe(true);
    expect(view.flag(F.noseed)).toBe(false);
    expect(view.has(F.target)).toBe(false);
  });

  it('resets between scans', () => {
    const view = new KrpcView();
    scanKrpc(encodeQuery(T, 'announce_peer', { id: ID, info_hash: TARGET, port: 99, token: b('t') }), view);
    expect(view.int(F.port)).toBe(99);
    scanKrpc(encodeQuery(T, 'ping', { id: ID }), view);
    expect(view.has(F.port)).toBe(false);
    expect(view.has(F.info_hash)).toBe(false);
    scanKrpc(b('junk'), view);
    expect(view.error?.code).toBe('not_dict');
    expect(view.has(F.id)).toBe(false);
  });

  it('agrees with fromHex-built fixtures', () => {
    // A find_node reply captured in the format libtorrent uses (ids and addresses made up).
    const id = fromHex('0102030405060708090a0b0c0d0e0f1011121314')!;
    const raw = encodeResponse(b('\x12\x34'), { id, nodes: encodeNodes(nodes4) }, { v: b('LT\x01\x2f') });
    const view = scanKrpc(raw);
    expect(view.error).toBeNull();
    expect(view.length(F.nodes)).toBe(208);
    expect(toHex(view.bytes(F.id)!)).toBe(toHex(id));
  });
});

describe('rawBody / rawArgs (built on first read)', () => {
  it('stay correct after other datagrams are decoded in between', () => {
    const r = response(encodeResponse(T, { id: ID, nodes: encodeNodes(nodes4), p: 6881, x: [1, b('y')] }));
    const q = query(encodeQuery(T, 'find_node', { id: ID, target: TARGET, extra: { z: 5 } }));
    // Overwrite the decoder's scratch state with other messages of both kinds.
    response(encodeResponse(b('zz'), { id: TARGET, token: b('tok'), q: 1 }));
    query(encodeQuery(b('zz'), 'ping', { id: TARGET, other: 9 }));
    expect(Object.keys(r.rawBody)).toEqual(['id', 'nodes', 'p', 'x']);
    expect(text(r.rawBody.id as Uint8Array)).toBe(text(ID));
    expect(r.rawBody.nodes).toEqual(encodeNodes(nodes4));
    expect(r.rawBody.p).toBe(6881);
    expect(r.rawBody.x).toEqual([1, Uint8Array.of(0x79)]);
    expect(Object.keys(q.rawArgs)).toEqual(['extra', 'id', 'target']);
    expect(q.rawArgs.extra).toEqual({ z: 5 });
    expect(text(q.rawArgs.target as Uint8Array)).toBe(text(TARGET));
  });

  it('alias the datagram, are built once, and can be replaced', () => {
    const raw = encodeResponse(T, { id: ID, nodes: encodeNodes(nodes4) });
    const m = response(raw);
    const body = m.rawBody;
    expect(m.rawBody).toBe(body);
    expect((body.id as Uint8Array).buffer).toBe(raw.buffer);
    m.rawBody = { id: TARGET };
    expect(m.rawBody).toEqual({ id: TARGET });
    const q = query(encodeQuery(T, 'ping', { id: ID }));
    q.rawArgs = {};
    expect(q.rawArgs).toEqual({});
  });

  it('keep unusual keys as own properties (__proto__)', () => {
    const m = response(b(`d1:rd9:__proto__i1e2:id20:${text(ID)}e1:t2:aa1:y1:re`));
    expect(Object.getOwnPropertyDescriptor(m.rawBody, '__proto__')?.value).toBe(1);
    expect(Object.getPrototypeOf(m.rawBody)).toBe(Object.prototype);
  });
});
