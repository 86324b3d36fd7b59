import { describe, expect, it } from 'vitest';
import { immutableTarget, mutableTarget, publicKeyFromSeed, signMutableItem } from '../../../src/core/dht/item-rules.js';
import { getItem, putItem, putToNodes, valueProblem } from '../../../src/core/dht/items-client.js';
import { idToHex } from '../../../src/core/dht/node-id.js';
import { encode } from '../../../src/core/wire/bencode.js';
import { ItemNetwork, type ItemBehaviour, type ItemNode } from '../../support/fake-item-network.js';
import { prng, randomBytesFrom } from '../../support/fake-engine.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { runUntilSettled } from '../../support/virtual-time.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const HELLO = latin1('12:Hello World!');
const SEED = new Uint8Array(32).fill(42);
const ids = (nodes: Array<{ id: Uint8Array }>) => nodes.map((n) => idToHex(n.id)).sort();

function setup(size = 60, behaviour?: (i: number) => ItemBehaviour, seed = 3) {
  const clock = new VirtualClock();
  const net = new ItemNetwork(clock, size, behaviour, seed);
  const client = () => net.client(randomBytesFrom(prng(seed * 7 + net.nodes.length), 20));
  return { clock, net, ...client(), newClient: (n: number) => net.client(randomBytesFrom(prng(100 + n), 20), `127.9.9.${n}`) };
}

const holding = (net: ItemNetwork, target: Uint8Array): ItemNode[] => net.nodes.filter((n) => n.store.get(target) !== undefined);

describe('putItem / getItem: immutable', () => {
  it('stores "Hello World!" on the 8 closest nodes under the BEP 44 target, and reads it back', async () => {
    const { clock, net, dht, newClient } = setup();
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'immutable', vRaw: HELLO }));
    expect(hex(put.target)).toBe('e5f96f6f38320f0f33959cb4d3d656452117aadb');
    expect(put.refused).toBeUndefined();
    expect(put.results).toHaveLength(8);
    expect(put.results.every((r) => r.ok)).toBe(true);
    expect(put.before.item).toBeNull();
    expect(ids(holding(net, put.target))).toEqual(ids(net.closest(put.target, 8)));
    // What the nodes store is the exact bencoded bytes.
    expect(Buffer.from((net.closest(put.target, 1)[0].store.get(put.target) as { vRaw: Uint8Array }).vRaw).toString()).toBe('12:Hello World!');

    const reader = newClient(1).dht;
    const got = await runUntilSettled(clock, getItem(reader, put.target));
    expect(got.item?.kind).toBe('immutable');
    expect(Buffer.from(got.item!.vRaw).toString()).toBe('12:Hello World!');
    expect(got.holders).toBeGreaterThanOrEqual(8);
    expect(got.item!.from.length).toBe(got.holders);
    expect(got.bad).toEqual([]);
    expect(got.lookup.tokens.size).toBeGreaterThanOrEqual(8);
  });

  it('finds nothing for a target nobody stores', async () => {
    const { clock, dht } = setup();
    const got = await runUntilSettled(clock, getItem(dht, immutableTarget(latin1('5:nope!'))));
    expect(got.item).toBeNull();
    expect(got.holders).toBe(0);
    expect(got.lookup.stats.replies).toBeGreaterThanOrEqual(8);
  });

  it('ignores and counts tampered items, still returning the genuine one', async () => {
    // Every third node forges what it returns.
    const { clock, net, dht, newClient } = setup(60, (i) => (i % 3 === 1 ? 'forger' : 'ok'));
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'immutable', vRaw: HELLO }));
    const forgers = holding(net, put.target).filter((n) => n.behaviour === 'forger').length;
    expect(forgers).toBeGreaterThan(0);
    const got = await runUntilSettled(clock, getItem(newClient(2).dht, put.target));
    expect(Buffer.from(got.item!.vRaw).toString()).toBe('12:Hello World!');
    expect(got.bad.length).toBe(forgers);
    expect(got.bad.every((b) => b.reason === 'v does not hash to the target')).toBe(true);
    expect(got.holders).toBe(holding(net, put.target).length - forgers);
  });

  it('skips nodes that give no token and reports when nobody does', async () => {
    const { clock, net, dht } = setup(60, (i) => (i % 2 === 0 ? 'tokenless' : 'ok'));
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'immutable', vRaw: HELLO }));
    // Tokens come only from the nodes the lookup heard; the put goes to (at most 8 of) them.
    expect(put.results).toHaveLength(Math.min(8, put.before.lookup.tokens.size));
    expect(put.results.length).toBeGreaterThanOrEqual(3);
    expect(put.results.every((r) => r.ok && net.find(r.node)!.behaviour === 'ok')).toBe(true);

    const none = setup(30, () => 'tokenless');
    const r = await runUntilSettled(none.clock, putItem(none.dht, { kind: 'immutable', vRaw: HELLO }));
    expect(r.refused?.reason).toBe('no_tokens');
    expect(r.results).toEqual([]);
    expect(none.net.nodes.every((n) => n.stats.puts === 0)).toBe(true);
  });

  it('tolerates silent nodes', async () => {
    const { clock, net, dht } = setup(60, (i) => (i % 4 === 2 ? 'silent' : 'ok'));
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'immutable', vRaw: HELLO }));
    expect(put.results.filter((r) => r.ok)).toHaveLength(8);
    expect(ids(holding(net, put.target))).toEqual(ids(net.closest(put.target, 8, (n) => n.behaviour === 'ok')));
  });

  it('puts a dict value and reads the same bytes back', async () => {
    const { clock, dht, newClient } = setup();
    const vRaw = encode({ name: 'x', list: [1, 2, latin1('\xff\x00')] });
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'immutable', vRaw }));
    const got = await runUntilSettled(clock, getItem(newClient(3).dht, put.target));
    expect(hex(got.item!.vRaw)).toBe(hex(vRaw));
  });

  it('refuses values no node may take before sending anything', async () => {
    const { dht, engine } = setup(10);
    await expect(putItem(dht, { kind: 'immutable', vRaw: encode(new Uint8Array(997)) })).rejects.toThrow(RangeError);
    await expect(putItem(dht, { kind: 'immutable', vRaw: latin1('d1:bi1e1:ai2ee') })).rejects.toThrow(/canonical/);
    await expect(putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO, salt: new Uint8Array(65) })).rejects.toThrow(/salt/);
    expect(engine.sent).toHaveLength(0);
    expect(valueProblem(encode(new Uint8Array(996)))).toBeUndefined(); // '996:' + 996 bytes = 1000
    expect(valueProblem(encode(new Uint8Array(997)))).toMatch(/too big/);
  });
});

describe('putItem / getItem: mutable', () => {
  it('starts at seq 1, then bumps the seq found by the lookup', async () => {
    const { clock, net, dht, newClient } = setup();
    const k = publicKeyFromSeed(SEED);
    const first = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO }));
    expect(first.payload.seq).toBe(1n);
    expect(hex(first.target)).toBe(hex(mutableTarget(k)));
    expect(first.results.filter((r) => r.ok)).toHaveLength(8);

    const writer2 = newClient(4).dht;
    const second = await runUntilSettled(clock, putItem(writer2, { kind: 'mutable', seed: SEED, vRaw: latin1('3:two') }));
    expect(second.before.item?.seq).toBe(1n);
    expect(second.payload.seq).toBe(2n);
    expect(second.results.every((r) => r.ok)).toBe(true);

    const got = await runUntilSettled(clock, getItem(newClient(5).dht, first.target, { pubkey: k }));
    expect(got.item).toMatchObject({ kind: 'mutable', seq: 2n });
    expect(Buffer.from(got.item!.vRaw).toString()).toBe('3:two');
    expect(hex(got.item!.k!)).toBe(hex(k));
    expect(got.item!.sig).toHaveLength(64);
    for (const n of net.closest(first.target, 8)) expect((n.store.get(first.target) as { seq: bigint }).seq).toBe(2n);
  });

  it('picks the highest seq when nodes disagree', async () => {
    const { clock, net, dht } = setup();
    const target = mutableTarget(publicKeyFromSeed(SEED));
    const near = net.closest(target, 8);
    // Older copies on most nodes, the newest on just one.
    for (const [i, n] of near.entries()) {
      const seq = i === 5 ? 9n : 3n;
      const item = signMutableItem(SEED, latin1(`i${seq}e`), seq);
      expect(n.store.putMutable({ k: item.k, seq, sig: item.sig, vRaw: item.vRaw }).ok).toBe(true);
    }
    const got = await runUntilSettled(clock, getItem(dht, target));
    expect(got.item?.seq).toBe(9n);
    expect(Buffer.from(got.item!.vRaw).toString()).toBe('i9e');
    expect(got.item!.from.map((n) => idToHex(n.id))).toEqual([idToHex(near[5].id)]);
    expect(got.holders).toBe(8);
  });

  it('uses the salt: another salt is another target, and a get must know it', async () => {
    const { clock, dht, newClient } = setup();
    const salt = latin1('foobar');
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO, salt }));
    expect(hex(put.target)).toBe(hex(mutableTarget(publicKeyFromSeed(SEED), salt)));
    const reader = newClient(6).dht;
    expect((await runUntilSettled(clock, getItem(reader, put.target, { salt }))).item?.seq).toBe(1n);
    // Without the salt the signature cannot verify: every copy is counted as bad.
    const blind = await runUntilSettled(clock, getItem(reader, put.target));
    expect(blind.item).toBeNull();
    expect(blind.bad.length).toBeGreaterThanOrEqual(8);
  });

  it('counts forged signatures as bad and keeps the valid item', async () => {
    const { clock, net, dht, newClient } = setup(60, (i) => (i % 3 === 0 ? 'forger' : 'ok'));
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO }));
    const forgers = holding(net, put.target).filter((n) => n.behaviour === 'forger').length;
    expect(forgers).toBeGreaterThan(0);
    const got = await runUntilSettled(clock, getItem(newClient(7).dht, put.target));
    expect(got.item?.seq).toBe(1n);
    expect(got.bad).toHaveLength(forgers);
    expect(got.bad.every((b) => b.reason === 'bad signature')).toBe(true);
  });

  it('get with seq: up-to-date nodes answer with seq only', async () => {
    const { clock, dht, newClient } = setup();
    const put = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO, seq: 4n }));
    const got = await runUntilSettled(clock, getItem(newClient(8).dht, put.target, { seq: 4n }));
    expect(got.item).toBeNull();
    expect(got.seqOnly).toBe(4n);
    const older = await runUntilSettled(clock, getItem(newClient(9).dht, put.target, { seq: 3n }));
    expect(older.item?.seq).toBe(4n);
  });

  it('an explicit older seq is refused by the nodes with 302, reported per node', async () => {
    const { clock, dht } = setup();
    await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO, seq: 5n }));
    const r = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: latin1('3:old'), seq: 2n }));
    expect(r.results).toHaveLength(8);
    expect(r.results.every((x) => !x.ok && x.code === 302)).toBe(true);
    expect(r.results[0].error).toMatch(/^error 302/);
  });

  it('an explicit seq equal to the current one: a refresh of the same value, refused for a new value', async () => {
    const { clock, net, dht } = setup();
    await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO, seq: 4n }));
    const refresh = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO, seq: 4n }));
    expect(refresh.refused).toBeUndefined();
    expect(refresh.results.filter((r) => r.ok)).toHaveLength(8);
    expect(net.nodes.reduce((s, n) => s + n.stats.refreshed, 0)).toBe(8);
    const conflict = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: latin1('3:new'), seq: 4n }));
    expect(conflict.refused).toMatchObject({ reason: 'seq_conflict', currentSeq: 4n });
    expect(conflict.results).toEqual([]);
  });

  it('cas: refused before sending when the DHT holds another seq; accepted when it matches', async () => {
    const { clock, net, dht } = setup();
    await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO }));
    const putsBefore = net.nodes.reduce((s, n) => s + n.stats.puts, 0);
    const bad = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: latin1('3:cas'), cas: 7n }));
    expect(bad.refused).toMatchObject({ reason: 'cas_mismatch', currentSeq: 1n });
    expect(net.nodes.reduce((s, n) => s + n.stats.puts, 0)).toBe(putsBefore);
    const good = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: latin1('3:cas'), cas: 1n }));
    expect(good.refused).toBeUndefined();
    expect(good.payload).toMatchObject({ seq: 2n, cas: 1n });
    expect(good.results.filter((r) => r.ok)).toHaveLength(8);
  });

  it('cas: a writer racing between lookup and put makes the nodes answer 301', async () => {
    const { clock, net, dht } = setup();
    const first = await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO }));
    const lookup = await runUntilSettled(clock, getItem(dht, first.target));
    // Someone else publishes seq 2 everywhere before our put lands.
    const rival = signMutableItem(SEED, latin1('5:rival'), 2n);
    for (const n of net.nodes) if (n.store.get(first.target)) n.store.putMutable({ k: rival.k, seq: 2n, sig: rival.sig, vRaw: rival.vRaw });
    const mine = signMutableItem(SEED, latin1('4:mine'), 2n);
    const results = await runUntilSettled(clock, putToNodes(dht, { target: first.target, vRaw: mine.vRaw, k: mine.k, seq: 2n, sig: mine.sig, cas: 1n }, lookup.lookup));
    expect(results).toHaveLength(8);
    expect(results.map((r) => r.code)).toEqual(new Array(8).fill(301));
  });

  it('sends the wire fields of a mutable put: v as bytes, k, seq, sig, salt, cas, token', async () => {
    const { clock, dht, engine } = setup();
    await runUntilSettled(clock, putItem(dht, { kind: 'mutable', seed: SEED, vRaw: HELLO, salt: latin1('s1'), seq: 3n }));
    const puts = engine.sent.filter((q) => q.method === 'put');
    expect(puts).toHaveLength(8);
    const a = puts[0].args;
    expect(Buffer.from(a.v as Uint8Array).toString()).toBe('Hello World!');
    expect(a.seq).toBe(3n);
    expect(a.k).toHaveLength(32);
    expect(a.sig).toHaveLength(64);
    expect(Buffer.from(a.salt as Uint8Array).toString()).toBe('s1');
    expect(a.cas).toBeUndefined();
    expect(a.token).toBeInstanceOf(Uint8Array);
    const gets = engine.sent.filter((q) => q.method === 'get');
    expect(gets.every((q) => q.args.seq === undefined && q.args.target instanceof Uint8Array)).toBe(true);
  });
});
