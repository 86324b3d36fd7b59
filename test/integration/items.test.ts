// BEP 44 over real UDP on loopback: bitscrape clients putting to and getting from bitscrape
// responders (Responder + item handlers + ItemStore).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { immutableTarget, mutableTarget, publicKeyFromSeed, signMutableItem } from '../../src/core/dht/item-rules.js';
import { getItem, putItem, putToNodes } from '../../src/core/dht/items-client.js';
import { compareDistance } from '../../src/core/dht/node-id.js';
import { encode } from '../../src/core/wire/bencode.js';
import { startItemNetwork, type ItemTestNetwork, type StorerNode } from './items-network.js';

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const HELLO = latin1('12:Hello World!');
const SEED = new Uint8Array(32).fill(9);

let net: ItemTestNetwork;
beforeAll(async () => {
  net = await startItemNetwork(14);
});
afterAll(async () => {
  await net?.close();
});

const closest = (target: Uint8Array, n = 8): StorerNode[] => [...net.nodes].sort((a, b) => compareDistance(a.info.id, b.info.id, target)).slice(0, n);
const holders = (target: Uint8Array): StorerNode[] => net.nodes.filter((n) => n.store.get(target) !== undefined);

describe('BEP 44 between bitscrape nodes over UDP', () => {
  it('immutable: put stores on the 8 closest responders; a second client reads and verifies it', async () => {
    const writer = await net.client();
    const put = await putItem(writer, { kind: 'immutable', vRaw: HELLO });
    expect(hex(put.target)).toBe('e5f96f6f38320f0f33959cb4d3d656452117aadb');
    expect(put.results.filter((r) => r.ok)).toHaveLength(8);
    expect(holders(put.target).map((n) => n.info.port).sort()).toEqual(closest(put.target).map((n) => n.info.port).sort());

    const got = await getItem(await net.client(), immutableTarget(HELLO));
    expect(got.item?.kind).toBe('immutable');
    expect(Buffer.from(got.item!.vRaw).toString()).toBe('12:Hello World!');
    expect(got.holders).toBe(8);
    expect(got.bad).toEqual([]);
  });

  it('mutable: seq 1, then 2 from another writer; get returns the newest signed item', async () => {
    const k = publicKeyFromSeed(SEED);
    const salt = latin1('chat');
    const first = await putItem(await net.client(), { kind: 'mutable', seed: SEED, vRaw: encode({ msg: 'one' }), salt });
    expect(first.payload.seq).toBe(1n);
    expect(first.results.filter((r) => r.ok)).toHaveLength(8);
    const second = await putItem(await net.client(), { kind: 'mutable', seed: SEED, vRaw: encode({ msg: 'two' }), salt });
    expect(second.before.item?.seq).toBe(1n);
    expect(second.payload.seq).toBe(2n);
    expect(second.results.filter((r) => r.ok)).toHaveLength(8);

    const got = await getItem(await net.client(), mutableTarget(k, salt), { salt, pubkey: k });
    expect(got.item).toMatchObject({ kind: 'mutable', seq: 2n });
    expect(Buffer.from(got.item!.vRaw).toString()).toBe('d3:msg3:twoe');
    for (const n of holders(got.target)) expect(n.stats.stored).toBeGreaterThan(0);
  });

  it('errors from real responders reach the caller per node: 302 (older seq), 301 (cas), 206 via a forged put', async () => {
    const seed = new Uint8Array(32).fill(10);
    const client = await net.client();
    const base = await putItem(client, { kind: 'mutable', seed, vRaw: HELLO, seq: 5n });
    expect(base.results.filter((r) => r.ok)).toHaveLength(8);

    const older = await putItem(client, { kind: 'mutable', seed, vRaw: latin1('3:old'), seq: 4n });
    expect(older.results.map((r) => r.code)).toEqual(new Array(8).fill(302));

    const casRefused = await putItem(client, { kind: 'mutable', seed, vRaw: latin1('3:cas'), cas: 1n });
    expect(casRefused.refused).toMatchObject({ reason: 'cas_mismatch', currentSeq: 5n });

    // The nodes themselves enforce cas too (a write racing ours would look like this).
    const lookup = await getItem(client, base.target);
    const six = signMutableItem(seed, latin1('3:six'), 6n);
    const raced = await putToNodes(client, { target: base.target, vRaw: six.vRaw, k: six.k, seq: 6n, sig: six.sig, cas: 4n }, lookup.lookup);
    expect(raced.map((r) => r.code)).toEqual(new Array(8).fill(301));

    const forged = Uint8Array.from(six.sig);
    forged[3] ^= 0x10;
    const badSig = await putToNodes(client, { target: base.target, vRaw: six.vRaw, k: six.k, seq: 6n, sig: forged }, lookup.lookup);
    expect(badSig.map((r) => r.code)).toEqual(new Array(8).fill(206));

    // A put with a token from another target's lookup is refused (tokens are bound to the target).
    const other = await getItem(client, immutableTarget(latin1('5:other')));
    const wrongToken = await putToNodes(client, { target: base.target, vRaw: six.vRaw, k: six.k, seq: 6n, sig: six.sig }, other.lookup);
    expect(wrongToken.every((r) => !r.ok && r.code === 203)).toBe(true);

    const after = await getItem(client, base.target);
    expect(after.item?.seq).toBe(5n);
  });
});
