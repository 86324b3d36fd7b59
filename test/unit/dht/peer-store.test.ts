import { describe, expect, it } from 'vitest';
import { ScrapeBloom } from '../../../src/core/dht/bloom.js';
import { PeerStore } from '../../../src/core/dht/peer-store.js';
import type { PeerInfo } from '../../../src/core/wire/types.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

const hash = (n: number): Uint8Array => new Uint8Array(20).fill(n);
const v4 = (host: string, port = 6881): PeerInfo => ({ host, port, family: 4 });
const MIN = 60_000;

describe('PeerStore', () => {
  it('stores peers by ip:port and updates them on re-announce', () => {
    const clock = new VirtualClock();
    const store = new PeerStore({ clock });
    expect(store.announce(hash(1), v4('198.51.100.1'))).toBe('added');
    expect(store.announce(hash(1), v4('198.51.100.1', 6882))).toBe('added'); // same IP, other port
    expect(store.announce(hash(1), v4('198.51.100.1'), true)).toBe('updated');
    expect(store.counts(hash(1))).toEqual({ seeds: 1, peers: 1 });
    expect(store.getPeers(hash(1), 10).map((p) => `${p.host}:${p.port}:${p.seed}`).sort()).toEqual([
      '198.51.100.1:6881:true',
      '198.51.100.1:6882:false',
    ]);
    expect(store.getPeers(hash(1), 10, { noseed: true }).map((p) => p.port)).toEqual([6882]);
    expect(store.getPeers(hash(2), 10)).toEqual([]);
    expect(store.infohashCount).toBe(1);
    expect(store.peerCount).toBe(2);
  });

  it('caps entries per IP, per info-hash and info-hashes in total', () => {
    const clock = new VirtualClock();
    const store = new PeerStore({ clock, maxPeersPerIp: 2, maxPeersPerInfohash: 5, maxInfohashes: 3 });
    expect(store.announce(hash(1), v4('198.51.100.1', 1))).toBe('added');
    expect(store.announce(hash(1), v4('198.51.100.1', 2))).toBe('added');
    expect(store.announce(hash(1), v4('198.51.100.1', 3))).toBe('ip_limit');
    expect(store.check(hash(1), v4('198.51.100.1', 2))).toBe('updated'); // known peers may refresh
    for (let i = 2; i <= 4; i++) expect(store.announce(hash(1), v4(`198.51.100.${i}`))).toBe('added');
    expect(store.announce(hash(1), v4('198.51.100.9'))).toBe('infohash_full');
    expect(store.counts(hash(1)).peers).toBe(5);
    store.announce(hash(2), v4('198.51.100.1'));
    store.announce(hash(3), v4('198.51.100.1'));
    expect(store.announce(hash(4), v4('198.51.100.1'))).toBe('store_full');
    expect(store.check(hash(4))).toBe('store_full');
    expect(store.infohashCount).toBe(3);
  });

  it('expires peers 45 minutes after their last announce', () => {
    const clock = new VirtualClock();
    const store = new PeerStore({ clock });
    store.announce(hash(1), v4('198.51.100.1'));
    store.announce(hash(1), v4('198.51.100.2'));
    clock.advance(30 * MIN);
    store.announce(hash(1), v4('198.51.100.2')); // refresh one of them
    clock.advance(15 * MIN);
    expect(store.getPeers(hash(1), 10).map((p) => p.host)).toEqual(['198.51.100.2']);
    clock.advance(30 * MIN);
    expect(store.has(hash(1))).toBe(false);
    expect(store.infohashCount).toBe(0);
  });

  it('frees room for new hashes once old ones expire', () => {
    const clock = new VirtualClock();
    const store = new PeerStore({ clock, maxInfohashes: 2 });
    store.announce(hash(1), v4('198.51.100.1'));
    store.announce(hash(2), v4('198.51.100.1'));
    expect(store.announce(hash(3), v4('198.51.100.1'))).toBe('store_full');
    clock.advance(46 * MIN);
    expect(store.announce(hash(3), v4('198.51.100.1'))).toBe('added');
    expect(store.infohashCount).toBe(1);
    clock.advance(1 * MIN);
    store.announce(hash(4), v4('198.51.100.1'));
    clock.advance(44 * MIN); // hash 3 is 45 min old, hash 4 44 min
    expect(store.expire()).toBe(1);
    expect(store.infohashes()).toEqual([hash(4)]);
  });

  it('samples distinct random peers and info-hashes', () => {
    const clock = new VirtualClock();
    const store = new PeerStore({ clock });
    for (let i = 0; i < 200; i++) store.announce(hash(1), v4(`198.51.${i >> 8}.${i & 0xff}`));
    const firstPicks = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const s = store.getPeers(hash(1), 50);
      expect(s.length).toBe(50);
      expect(new Set(s.map((p) => p.host)).size).toBe(50);
      firstPicks.add(s[0].host);
    }
    expect(firstPicks.size).toBeGreaterThan(5); // random, not the first 50 every time
    for (let i = 0; i < 30; i++) store.announce(hash(i + 10), v4('198.51.100.1'));
    const samples = store.sampleInfohashes(20);
    expect(samples.length).toBe(20);
    expect(new Set(samples.map((h) => h[0])).size).toBe(20);
    expect(store.sampleInfohashes(100).length).toBe(31);
  });

  it('skips expired hashes while sampling', () => {
    const clock = new VirtualClock();
    const store = new PeerStore({ clock });
    for (let i = 0; i < 10; i++) store.announce(hash(i), v4('198.51.100.1'));
    clock.advance(40 * MIN);
    store.announce(hash(99), v4('198.51.100.1'));
    clock.advance(10 * MIN);
    expect(store.sampleInfohashes(5)).toEqual([hash(99)]);
    expect(store.infohashCount).toBe(1);
  });

  it('filters by family for replies', () => {
    const store = new PeerStore({ clock: new VirtualClock() });
    store.announce(hash(1), v4('198.51.100.1'));
    store.announce(hash(1), { host: '2001:db8::1', port: 1, family: 6 });
    expect(store.getPeers(hash(1), 10, { family: 6 }).map((p) => p.host)).toEqual(['2001:db8::1']);
  });

  it('builds BEP 33 filters of seeds and non-seeds', () => {
    const store = new PeerStore({ clock: new VirtualClock() });
    const seeds = new ScrapeBloom();
    const peers = new ScrapeBloom();
    for (let i = 0; i < 40; i++) {
      const host = `198.51.100.${i}`;
      store.announce(hash(1), v4(host), i % 4 === 0);
      (i % 4 === 0 ? seeds : peers).insertIp(host);
    }
    let b = store.blooms(hash(1))!;
    expect(b.seeds.bits).toEqual(seeds.bits);
    expect(b.peers.bits).toEqual(peers.bits);
    expect(Math.round(b.seeds.estimate())).toBe(10);
    // A peer turning seed moves between the filters.
    store.announce(hash(1), v4('198.51.100.1'), true);
    b = store.blooms(hash(1))!;
    expect(Math.round(b.seeds.estimate())).toBe(11);
    expect(Math.round(b.peers.estimate())).toBe(29);
    expect(store.blooms(hash(2))).toBeUndefined();
  });
});
