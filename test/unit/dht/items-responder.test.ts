import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { immutableTarget, mutableTarget, signMutableItem } from '../../../src/core/dht/item-rules.js';
import { ItemStore } from '../../../src/core/dht/item-store.js';
import { registerItemHandlers } from '../../../src/core/dht/responder-items.js';
import type { MethodContext, MethodHandler } from '../../../src/core/dht/responder.js';
import { encode } from '../../../src/core/wire/bencode.js';
import { decodeMessage, encodeQuery, encodeResponse } from '../../../src/core/wire/krpc-codec.js';
import type { BEncodable, KrpcQuery } from '../../../src/core/wire/types.js';
import type { KrpcMessage, NodeInfo } from '../../../src/core/wire/types.js';
import { makeHarness } from './responder-harness.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const ID = new Uint8Array(20).fill(7);
const FROM = { host: '127.0.0.5', port: 6881 };
const HELLO = latin1('12:Hello World!');

// BEP 44 test vector (verify-only: its private key is in the 64-byte expanded form).
const VECTOR_K = bytes('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548');
const VECTOR_SIG = bytes(
  '305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01',
);
const VECTOR_SALT_SIG = bytes(
  '6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08',
);
const SEED = new Uint8Array(32).fill(42);

/** A query exactly as the responder would receive it off the wire. */
function query(method: string, args: Record<string, BEncodable | undefined>): KrpcQuery {
  const d = decodeMessage(encodeQuery(Uint8Array.of(1, 2), method, { id: ID, ...args }));
  if (!d.ok || d.value.y !== 'q') throw new Error(`test query does not decode: ${JSON.stringify(d)}`);
  return d.value;
}

const tokenFor = (target: Uint8Array) => createHash('sha1').update('secret').update(target).digest().subarray(0, 4);

interface Answer {
  body?: Record<string, unknown>;
  error?: { code: number; msg: string };
}

function setup() {
  const clock = new VirtualClock();
  const store = new ItemStore(clock);
  const handlers = new Map<string, MethodHandler>();
  const stats = registerItemHandlers({ registerMethod: (name, h) => handlers.set(name, h) }, store);
  const call = (method: string, q: KrpcQuery): Answer => {
    const answer: Answer = {};
    let calls = 0;
    const ctx: MethodContext = {
      reply: (body) => {
        calls++;
        answer.body = body as Record<string, unknown>;
      },
      error: (code, msg) => {
        calls++;
        answer.error = { code, msg };
      },
      issueToken: (target) => new Uint8Array(tokenFor(target)),
      checkToken: (token, target) => Buffer.from(token).equals(tokenFor(target)),
      closestNodes: () => ({ nodes: new Uint8Array(26) }),
    };
    handlers.get(method)!(q, FROM, ctx);
    expect(calls).toBe(1); // exactly one answer per query
    return answer;
  };
  const get = (target: Uint8Array, seq?: bigint) => call('get', query('get', { target, seq }));
  const put = (args: Record<string, BEncodable | undefined>) => call('put', query('put', args));
  return { clock, store, stats, handlers, get, put };
}

/** The reply body as the engine would encode it (raw bytes of the r dict). */
function encodedBody(body: Record<string, unknown>): string {
  return Buffer.from(encodeResponse(Uint8Array.of(1), { ...(body as Record<string, BEncodable>), id: ID })).toString('latin1');
}

describe('BEP 44 responder: get', () => {
  it('registers get and put', () => {
    expect([...setup().handlers.keys()].sort()).toEqual(['get', 'put']);
  });

  it('answers an unknown target with a token bound to the target and nodes, but no item', () => {
    const { get } = setup();
    const target = new Uint8Array(20).fill(1);
    const a = get(target);
    expect(a.body).toBeDefined();
    expect(hex(a.body!.token as Uint8Array)).toBe(hex(tokenFor(target)));
    expect(a.body!.nodes).toBeInstanceOf(Uint8Array);
    expect(a.body!.v).toBeUndefined();
    expect(a.body!.seq).toBeUndefined();
  });

  it('stores the immutable test vector and returns v byte for byte', () => {
    const { get, put, stats } = setup();
    const target = immutableTarget(HELLO);
    expect(hex(target)).toBe('e5f96f6f38320f0f33959cb4d3d656452117aadb');
    expect(put({ token: tokenFor(target), v: 'Hello World!' }).body).toEqual({});
    const a = get(target);
    expect(encodedBody(a.body!)).toContain('1:v12:Hello World!');
    expect(a.body!.k).toBeUndefined();
    expect(stats).toMatchObject({ puts: 1, stored: 1, gets: 1, getsWithItem: 1 });
    // A second put of the same value only renews it.
    put({ token: tokenFor(target), v: 'Hello World!' });
    expect(stats.refreshed).toBe(1);
  });

  it('returns a stored dict value unchanged (keys stay sorted, ints stay ints)', () => {
    const { get, put } = setup();
    const v = { a: 1, b: [latin1('x'), -5], c: { z: latin1('') } };
    const raw = encode(v);
    const target = immutableTarget(raw);
    expect(put({ token: tokenFor(target), v }).error).toBeUndefined();
    const body = encodedBody(get(target).body!);
    expect(body).toContain(`1:v${Buffer.from(raw).toString('latin1')}`);
  });

  it('accepts the signed test vectors (no salt and salt "foobar") and serves k, sig, seq', () => {
    const { get, put } = setup();
    const plain = mutableTarget(VECTOR_K);
    expect(hex(plain)).toBe('4a533d47ec9c7d95b1ad75f576cffc641853b750');
    expect(put({ token: tokenFor(plain), v: 'Hello World!', k: VECTOR_K, seq: 1, sig: VECTOR_SIG }).body).toEqual({});
    const salted = mutableTarget(VECTOR_K, latin1('foobar'));
    expect(hex(salted)).toBe('411eba73b6f087ca51a3795d9c8c938d365e32c1');
    expect(put({ token: tokenFor(salted), v: 'Hello World!', k: VECTOR_K, seq: 1, sig: VECTOR_SALT_SIG, salt: 'foobar' }).body).toEqual({});
    const a = get(plain);
    expect(hex(a.body!.k as Uint8Array)).toBe(hex(VECTOR_K));
    expect(hex(a.body!.sig as Uint8Array)).toBe(hex(VECTOR_SIG));
    expect(a.body!.seq).toBe(1n);
    expect(encodedBody(a.body!)).toContain('1:v12:Hello World!');
    expect(hex(get(salted).body!.sig as Uint8Array)).toBe(hex(VECTOR_SALT_SIG));
  });

  it('sends only seq when the requester already holds that seq or newer', () => {
    const { get, put } = setup();
    const item = signMutableItem(SEED, HELLO, 5n);
    put({ token: tokenFor(item.target), v: 'Hello World!', k: item.k, seq: 5, sig: item.sig });
    for (const seq of [5n, 9n]) {
      const body = get(item.target, seq).body!;
      expect(body.seq).toBe(5n);
      expect(body.v).toBeUndefined();
      expect(body.k).toBeUndefined();
      expect(body.sig).toBeUndefined();
      expect(body.token).toBeInstanceOf(Uint8Array);
    }
    expect(get(item.target, 4n).body!.sig).toBeInstanceOf(Uint8Array);
  });
});

describe('BEP 44 responder: put errors', () => {
  it('refuses a wrong or missing token with 203 and stores nothing', () => {
    const { put, store, stats } = setup();
    const target = immutableTarget(HELLO);
    expect(put({ token: Uint8Array.of(1, 2, 3, 4), v: 'Hello World!' }).error?.code).toBe(203);
    // A token issued for another target is no good either.
    expect(put({ token: tokenFor(new Uint8Array(20)), v: 'Hello World!' }).error?.code).toBe(203);
    expect(store.get(target)).toBeUndefined();
    expect(stats.rejected[203]).toBe(2);
  });

  it('binds a mutable put token to sha1(k ‖ salt)', () => {
    const { put } = setup();
    const item = signMutableItem(SEED, HELLO, 1n, latin1('s'));
    const noSalt = mutableTarget(item.k);
    expect(put({ token: tokenFor(noSalt), v: 'Hello World!', k: item.k, seq: 1, sig: item.sig, salt: 's' }).error?.code).toBe(203);
    expect(put({ token: tokenFor(item.target), v: 'Hello World!', k: item.k, seq: 1, sig: item.sig, salt: 's' }).body).toEqual({});
  });

  it('answers 206 for a bad signature, 301 for a cas mismatch, 302 for an older seq', () => {
    const { put, get, stats } = setup();
    const item = signMutableItem(SEED, HELLO, 3n);
    const token = tokenFor(item.target);
    const badSig = Uint8Array.from(item.sig);
    badSig[10] ^= 0x40;
    expect(put({ token, v: 'Hello World!', k: item.k, seq: 3, sig: badSig }).error?.code).toBe(206);
    expect(put({ token, v: 'Hello World!', k: item.k, seq: 3, sig: item.sig }).body).toEqual({});
    const next = signMutableItem(SEED, latin1('3:new'), 4n);
    expect(put({ token, v: 'new', k: item.k, seq: 4, sig: next.sig, cas: 2 }).error?.code).toBe(301);
    const older = signMutableItem(SEED, latin1('3:old'), 2n);
    expect(put({ token, v: 'old', k: item.k, seq: 2, sig: older.sig }).error?.code).toBe(302);
    expect(put({ token, v: 'new', k: item.k, seq: 4, sig: next.sig, cas: 3 }).body).toEqual({});
    expect(encodedBody(get(item.target).body!)).toContain('1:v3:new');
    expect(stats.rejected).toEqual({ 206: 1, 301: 1, 302: 1 });
  });

  it('passes the store limits through: 205 for a big v, 207 for a long salt', () => {
    // The wire decoder already refuses such datagrams; the handler must still hold the line
    // when handed one (e.g. a future decoder with looser limits).
    const { handlers } = setup();
    const big = new Uint8Array(1001).fill(0x61);
    const codes: number[] = [];
    const ctx: MethodContext = {
      reply: () => codes.push(0),
      error: (code) => codes.push(code),
      issueToken: tokenFor,
      checkToken: () => true,
      closestNodes: () => ({}),
    };
    const q = query('put', { token: 'tokn', v: 'x' });
    handlers.get('put')!({ ...q, a: { ...q.a, v_raw: encode(big) } }, FROM, ctx);
    const item = signMutableItem(SEED, HELLO, 1n);
    const m = query('put', { token: 'tokn', v: 'Hello World!', k: item.k, seq: 1, sig: item.sig });
    handlers.get('put')!({ ...m, a: { ...m.a, salt: new Uint8Array(65) } }, FROM, ctx);
    expect(codes).toEqual([205, 207]);
  });

  it('refuses a put whose v is not canonical bencode (203)', () => {
    const { handlers } = setup();
    const codes: number[] = [];
    const ctx: MethodContext = {
      reply: () => codes.push(0),
      error: (code) => codes.push(code),
      issueToken: tokenFor,
      checkToken: () => true,
      closestNodes: () => ({}),
    };
    const q = query('put', { token: 'tokn', v: 'x' });
    handlers.get('put')!({ ...q, a: { ...q.a, v_raw: latin1('d1:bi1e1:ai2ee') } }, FROM, ctx);
    expect(codes).toEqual([203]);
  });
});

// BEP 44 `get` goes through the responder's method registry (createFullNode registers it); its
// `nodes` / `nodes6` must follow BEP 32 `want` exactly as find_node does (libtorrent sends want
// with get when it runs both families).
describe('BEP 44 get on the Responder honours BEP 32 want', () => {
  const ids = (nodes: NodeInfo[] | undefined): string[] | undefined => nodes?.map((n) => hex(n.id));
  const nodesOf = (msg: KrpcMessage | undefined) => {
    if (!msg || msg.y !== 'r') throw new Error(`expected a reply, got ${msg?.y ?? 'nothing'}`);
    return { nodes: ids(msg.r.nodes), nodes6: ids(msg.r.nodes6) };
  };
  const cases: Array<[string, string, string[] | undefined]> = [
    ['IPv4 querier, no want', '1.2.3.4', undefined],
    ['IPv6 querier, no want', '2a02::1', undefined],
    ['IPv4 querier, want n6', '1.2.3.4', ['n6']],
    ['IPv6 querier, want n4', '2a02::1', ['n4']],
    ['IPv4 querier, want n4 and n6', '1.2.3.4', ['n4', 'n6']],
    ['IPv6 querier, want n6 and n4', '2a02::1', ['n6', 'n4']],
    ['IPv4 querier, want naming neither family', '1.2.3.4', ['zz']],
  ];
  it.each(cases)('%s: the same nodes as find_node', (_name, host, want) => {
    const h = makeHarness(); // a full node: get / put are registered with its item store
    const target = new Uint8Array(20).fill(0x33);
    const get = nodesOf(h.query(host, 1, 'get', { target, want }));
    const findNode = nodesOf(h.query(host, 1, 'find_node', { target, want }));
    expect(get).toEqual(findNode);
    const wants4 = want?.includes('n4') || (!want?.includes('n6') && !host.includes(':'));
    const wants6 = want?.includes('n6') || (!want?.includes('n4') && host.includes(':'));
    expect(get.nodes?.length ?? 0).toBe(wants4 ? 8 : 0);
    expect(get.nodes6?.length ?? 0).toBe(wants6 ? 8 : 0);
  });

  it('a want that is not a list is a malformed get (203), as for find_node', () => {
    const h = makeHarness(); // a full node: get / put are registered with its item store
    const reply = h.query('1.2.3.4', 1, 'get', { target: new Uint8Array(20).fill(0x33), want: 'n6' });
    expect(reply?.y === 'e' && reply.code).toBe(203);
  });
});
