import { describe, expect, it } from 'vitest';
import { findNode, getPeers, iterativeLookup, type LookupResult } from '../../../src/core/dht/lookup.js';
import { compareDistance, idToHex } from '../../../src/core/dht/node-id.js';
import { RoutingTable } from '../../../src/core/dht/routing-table.js';
import type { PeerInfo } from '../../../src/core/wire/types.js';
import { FakeNetwork, prng, randomBytesFrom, type Behaviour, type FakeNode } from '../../support/fake-engine.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { runUntilSettled } from '../../support/virtual-time.js';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { Krpc } from '../../../src/core/net/krpc-engine.js';
import { RttEstimator } from '../../../src/core/net/rtt-estimator.js';
import { SimWorld } from '../../../src/core/sim/world.js';

const hexes = (xs: Array<{ id: Uint8Array }>): string[] => xs.map((x) => idToHex(x.id));
const answers = (n: FakeNode): boolean => n.behaviour === 'ok' || n.behaviour === 'slow' || n.behaviour === 'garbage';
const noBogons = (host: string, port: number): boolean => host !== '0.0.0.0' && port > 0;

function setup(size: number, behaviour?: (i: number, rand: () => number) => Behaviour, seed = 7) {
  const clock = new VirtualClock();
  const net = new FakeNetwork(clock, { size, seed, behaviour });
  const engine = net.engine(randomBytesFrom(prng(seed + 1000), 20));
  const entry = net.nodes[0];
  return { clock, net, engine, bootstrap: [{ host: entry.host, port: entry.port }] };
}

describe('iterative lookup on a 500-node network', () => {
  it('finds the true 8 closest nodes for many targets', async () => {
    const { clock, net, engine, bootstrap } = setup(500);
    const rand = prng(99);
    let queries = 0;
    for (let i = 0; i < 20; i++) {
      const target = randomBytesFrom(rand, 20);
      const r = await runUntilSettled(clock, findNode({ engine, clock, target, bootstrap }));
      expect(r.end).toBe('converged');
      expect(hexes(r.closest)).toEqual(hexes(net.trueClosest(target, 8)));
      expect(r.stats.replies).toBeGreaterThanOrEqual(8);
      expect(r.stats.timeouts).toBe(0);
      expect(r.stats.rounds).toBeGreaterThan(1);
      queries += r.stats.queries;
    }
    // Far fewer than the network size: a lookup is a walk, not a crawl.
    expect(queries / 20).toBeLessThan(60);
  });

  it('sends the right method and arguments, with expectId when the id is known', async () => {
    const { clock, engine, bootstrap } = setup(100);
    const target = randomBytesFrom(prng(3), 20);
    await runUntilSettled(clock, findNode({ engine, clock, target, bootstrap, want: ['n4'] }));
    expect(engine.sent[0].opts.expectId).toBeUndefined(); // the bootstrap contact
    expect(engine.sent[0].args.target).toEqual(target);
    expect(engine.sent[0].args.id).toEqual(engine.id);
    expect(engine.sent[0].args.want).toEqual(['n4']);
    for (const q of engine.sent.slice(1)) {
      expect(q.method).toBe('find_node');
      expect(q.opts.expectId).toBeInstanceOf(Uint8Array);
      expect(q.opts.retries).toBe(1);
    }
    // No endpoint is asked twice.
    const keys = engine.sent.map((q) => `${q.to.host}:${q.to.port}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keeps at most alpha queries in flight while answers come fast', async () => {
    for (const alpha of [3, 5, 8]) {
      const { clock, engine, bootstrap } = setup(300);
      await runUntilSettled(clock, findNode({ engine, clock, target: randomBytesFrom(prng(alpha), 20), bootstrap, alpha }));
      expect(engine.maxInFlight).toBeLessThanOrEqual(alpha);
      expect(engine.maxInFlight).toBeGreaterThan(1);
    }
  });

  it('copes with silent, failing, lying and garbage nodes and still converges', async () => {
    const mix = (i: number, rand: () => number): Behaviour => {
      if (i === 0) return 'ok';
      const x = rand();
      return x < 0.15 ? 'silent' : x < 0.2 ? 'error' : x < 0.25 ? 'liar' : x < 0.32 ? 'garbage' : x < 0.37 ? 'slow' : 'ok';
    };
    const { clock, net, engine, bootstrap } = setup(500, mix);
    const rand = prng(5);
    let totalMissing = 0;
    const totals = { timeouts: 0, errors: 0 };
    for (let i = 0; i < 10; i++) {
      const target = randomBytesFrom(rand, 20);
      const sentBefore = engine.sent.length;
      const r = await runUntilSettled(clock, findNode({ engine, clock, target, bootstrap, allowContact: noBogons, queryTimeoutMs: 2000 }));
      expect(r.end).toBe('converged');
      // Only real, answering nodes are reported, nearest first.
      const truth = net.trueClosest(target, 8, answers);
      const got = new Set(hexes(r.closest));
      expect(r.closest.length).toBe(8);
      for (const n of r.closest) expect(answers(net.find(n)!)).toBe(true);
      expect(hexes(r.closest)).toEqual(hexes([...r.closest].sort((a, b) => compareDistance(a.id, b.id, target))));
      // With dead and lying nodes in everyone's tables a true neighbour may stay unknown, but
      // only if no node the lookup asked would have mentioned it.
      const asked = engine.sent.slice(sentBefore).map((q) => net.find(q.to)).filter((n): n is FakeNode => n !== undefined);
      let missing = 0;
      for (const t of truth) {
        if (got.has(idToHex(t.id))) continue;
        missing++;
        const couldTell = asked.filter((a) => a.behaviour === 'ok' || a.behaviour === 'slow').filter((a) => net.reportedBy(a, target).includes(t));
        expect(couldTell).toEqual([]);
      }
      expect(missing).toBeLessThanOrEqual(2);
      totalMissing += missing;
      totals.timeouts += r.stats.timeouts;
      totals.errors += r.stats.errors;
      for (const n of r.closest) expect(net.find(n)).toBeDefined();
      expect(r.stats.queries).toBeLessThanOrEqual(300);
      expect(r.stats.ms).toBeLessThan(60_000);
    }
    expect(totalMissing).toBeLessThanOrEqual(3);
    // The bad behaviours were really met: made-up contacts were tried and timed out, liars
    // were caught by expectId.
    expect(engine.sent.some((q) => q.to.host.startsWith('127.200.0.'))).toBe(true);
    expect(engine.sent.some((q) => q.opts.expectId && net.find(q.to)?.behaviour === 'liar')).toBe(true);
    expect(totals.timeouts).toBeGreaterThan(0);
    expect(totals.errors).toBeGreaterThan(0);
    // Bogons never got a packet, and nobody sent our own id back to us.
    for (const q of engine.sent) {
      expect(q.to.host).not.toBe('0.0.0.0');
      expect(q.to.port).toBeGreaterThan(0);
      if (q.opts.expectId) expect(idToHex(q.opts.expectId)).not.toBe(idToHex(engine.id));
    }
  });

  it('waits for slow nodes past the short timeout and opens a slot meanwhile', async () => {
    // Everyone is slow (1.5 s): after 1 s each query frees its slot, so more than alpha go out.
    const { clock, net, engine, bootstrap } = setup(200, () => 'slow');
    const target = randomBytesFrom(prng(11), 20);
    const r = await runUntilSettled(clock, findNode({ engine, clock, target, bootstrap, alpha: 3, queryTimeoutMs: 5000 }));
    expect(r.end).toBe('converged');
    expect(hexes(r.closest)).toEqual(hexes(net.trueClosest(target, 8)));
    expect(engine.maxInFlight).toBeGreaterThan(3);
    // And with a short timeout longer than the latency, alpha holds.
    const again = setup(200, () => 'slow');
    await runUntilSettled(again.clock, findNode({ engine: again.engine, clock: again.clock, target, bootstrap: again.bootstrap, alpha: 3, queryTimeoutMs: 5000, shortTimeoutMs: 2000 }));
    expect(again.engine.maxInFlight).toBe(3);
  });

  it('uses close nodes that answer after the per-query timeout, and waits for them', async () => {
    // Busy nodes: the three closest to the target (the bootstrap node aside) answer 0.6 s after
    // the 2 s timeout.
    const { clock, net, engine, bootstrap } = setup(300);
    const target = randomBytesFrom(prng(16), 20);
    const truth = net.trueClosest(target, 8);
    const late = truth.filter((n) => n !== net.nodes[0]).slice(0, 3);
    for (const n of late) n.latencyMs = 2600;
    const r = await runUntilSettled(clock, findNode({ engine, clock, target, bootstrap, queryTimeoutMs: 2000 }));
    expect(r.end).toBe('converged');
    expect(hexes(r.closest)).toEqual(hexes(truth));
    expect(r.stats.timeouts).toBe(0);
    // The lookup ended only once the late answers were in.
    expect(r.stats.ms).toBeGreaterThanOrEqual(2600);
  });

  it('with an RTT estimator, times out at its adaptive timeout, retries under the same transaction, and feeds it', async () => {
    const mix = (i: number, rand: () => number): Behaviour => (i === 0 ? 'ok' : rand() < 0.4 ? 'silent' : 'ok');
    const fixed = setup(500, mix);
    const adaptive = setup(500, mix);
    const rtt = new RttEstimator({ hardMs: 2000 });
    for (let i = 0; i < 64; i++) rtt.record(60 + i); // timeout: p10 + 100 ms, about 166 ms
    const totals = { fixedMs: 0, adaptiveMs: 0, timeouts: 0, replies: 0 };
    const rand = prng(21);
    for (let k = 0; k < 6; k++) {
      const target = randomBytesFrom(rand, 20);
      const a = await runUntilSettled(fixed.clock, findNode({ engine: fixed.engine, clock: fixed.clock, target, bootstrap: fixed.bootstrap, queryTimeoutMs: 2000 }));
      const sentBefore = adaptive.engine.sent.length;
      const b = await runUntilSettled(adaptive.clock, findNode({ engine: adaptive.engine, clock: adaptive.clock, target, bootstrap: adaptive.bootstrap, queryTimeoutMs: 2000, rtt }));
      expect(b.end).toBe('converged');
      expect(hexes(b.closest)).toEqual(hexes(a.closest));
      // only dead nodes timed out: answers slower than the adaptive timeout (up to 200 ms here)
      // came in under the retry's transaction
      const dead = adaptive.engine.sent.slice(sentBefore).filter((q) => adaptive.net.find(q.to)?.behaviour !== 'ok').length;
      expect(b.stats.timeouts).toBe(dead);
      totals.fixedMs += a.stats.ms;
      totals.adaptiveMs += b.stats.ms;
      totals.timeouts += a.stats.timeouts;
      totals.replies += b.stats.replies;
    }
    expect(totals.timeouts).toBeGreaterThan(0);
    // dead nodes cost two adaptive timeouts, not two hard ones
    expect(totals.adaptiveMs).toBeLessThan(totals.fixedMs / 2);
    for (const q of adaptive.engine.sent) {
      expect(q.opts.timeoutMs).toBeLessThan(2000);
      expect(q.opts.retries).toBe(1);
    }
    expect(rtt.samples).toBeGreaterThanOrEqual(64 + totals.replies);
  });

  it('stops at the query budget and at the deadline', async () => {
    const { clock, engine, bootstrap } = setup(500);
    const r = await runUntilSettled(clock, findNode({ engine, clock, target: randomBytesFrom(prng(1), 20), bootstrap, maxQueries: 6 }));
    expect(r.stats.queries).toBe(6);
    expect(r.end).toBe('max_queries');
    const slow = setup(500, () => 'slow'); // every answer takes 1.5 s
    const d = await runUntilSettled(slow.clock, findNode({ engine: slow.engine, clock: slow.clock, target: randomBytesFrom(prng(2), 20), bootstrap: slow.bootstrap, deadlineMs: 4000, queryTimeoutMs: 10_000 }));
    expect(d.end).toBe('deadline');
    expect(d.stats.ms).toBe(4000);
    expect(d.stats.replies).toBeGreaterThan(0);
  });

  it('ends at once with nothing to ask, and when everything times out', async () => {
    const { clock, engine } = setup(10);
    const r = await runUntilSettled(clock, findNode({ engine, clock, target: new Uint8Array(20) }));
    expect(r.end).toBe('exhausted');
    expect(r.stats.queries).toBe(0);
    const dead = setup(50, (i) => (i === 0 ? 'ok' : 'silent'));
    const t = await runUntilSettled(dead.clock, findNode({ engine: dead.engine, clock: dead.clock, target: randomBytesFrom(prng(4), 20), bootstrap: dead.bootstrap }));
    expect(t.end).toBe('exhausted');
    expect(t.closest.length).toBe(1); // the bootstrap node itself answered
    expect(t.stats.timeouts).toBe(t.stats.queries - 1);
  });

  it('can be aborted', async () => {
    const { clock, engine, bootstrap } = setup(200);
    const ac = new AbortController();
    const p = findNode({ engine, clock, target: randomBytesFrom(prng(8), 20), bootstrap, signal: ac.signal });
    clock.setTimeout(() => ac.abort(), 50);
    const r = await runUntilSettled(clock, p);
    expect(r.end).toBe('aborted');
  });

  it('seeds from the routing table and feeds replies and timeouts back into it', async () => {
    const { clock, net, engine } = setup(500, (i, rand) => (i > 10 && rand() < 0.1 ? 'silent' : 'ok'));
    const table = new RoutingTable({ id: engine.id, clock });
    for (const n of net.nodes.slice(0, 5)) table.onReply({ id: n.id, host: n.host, port: n.port, family: 4 });
    const target = randomBytesFrom(prng(12), 20);
    const r = await runUntilSettled(clock, findNode({ engine, clock, target, table, bootstrap: [{ host: '127.250.0.1', port: 1 }] }));
    expect(r.end).toBe('converged');
    expect(engine.sent.some((q) => q.to.host === '127.250.0.1')).toBe(false); // 5 seeds: no bootstrap needed
    expect(hexes(r.closest)).toEqual(hexes(net.trueClosest(target, 8, answers)));
    expect(table.size).toBeGreaterThan(5);
    for (const n of r.closest) {
      const e = table.get(n.id);
      if (e) expect(e.rtt).toBe(n.rttMs);
    }
    // A lookup seeded from the fuller table needs fewer queries than a cold one.
    const again = await runUntilSettled(clock, findNode({ engine, clock, target, table }));
    expect(hexes(again.closest)).toEqual(hexes(r.closest));
    expect(again.stats.queries).toBeLessThanOrEqual(r.stats.queries);
  });
});

describe('a stale routing table', () => {
  /** A table full of nodes that are gone (nobody at those endpoints), as a saved file may hold. */
  function staleTable(engineId: Uint8Array, clock: VirtualClock, rand: () => number): RoutingTable {
    const table = new RoutingTable({ id: engineId, clock });
    for (let i = 0; i < 40; i++) table.onReply({ id: randomBytesFrom(rand, 20), host: `127.201.0.${i + 1}`, port: 7000, family: 4 });
    return table;
  }

  it('falls back to the bootstrap contacts when every seed is dead', async () => {
    const { clock, net, engine, bootstrap } = setup(300);
    const table = staleTable(engine.id, clock, prng(31));
    expect(table.size).toBeGreaterThanOrEqual(8);
    const target = randomBytesFrom(prng(32), 20);
    const r = await runUntilSettled(clock, findNode({ engine, clock, target, table, bootstrap }));
    // The seeds were tried first (a table of 8+ good-looking nodes needs no router), then the
    // bootstrap contact, which led to the live network.
    expect(engine.sent.slice(0, 4).every((q) => q.to.host.startsWith('127.201.'))).toBe(true);
    const toBootstrap = engine.sent.find((q) => q.to.host === bootstrap[0].host && q.to.port === bootstrap[0].port);
    // Asked once the silent seeds stopped holding slots, before their queries (2 s, twice) time out.
    expect(toBootstrap?.at).toBeLessThan(4000);
    expect(r.end).toBe('converged');
    expect(hexes(r.closest)).toEqual(hexes(net.trueClosest(target, 8)));
  });

  it('asks the bootstrap contacts first with forceBootstrap, whatever the table holds', async () => {
    const { clock, net, engine, bootstrap } = setup(300);
    const table = staleTable(engine.id, clock, prng(33));
    const target = randomBytesFrom(prng(34), 20);
    const r = await runUntilSettled(clock, findNode({ engine, clock, target, table, bootstrap, forceBootstrap: true }));
    expect(engine.sent[0].to).toEqual(bootstrap[0]);
    expect(r.end).toBe('converged');
    expect(hexes(r.closest)).toEqual(hexes(net.trueClosest(target, 8)));
  });

  it('fetches moreBootstrap only when the lookup runs short, and uses what it gives', async () => {
    const { clock, net, engine, bootstrap } = setup(300);
    let fetched = 0;
    const moreBootstrap = async () => {
      fetched++;
      return bootstrap;
    };
    const table = staleTable(engine.id, clock, prng(35));
    const target = randomBytesFrom(prng(36), 20);
    const r = await runUntilSettled(clock, findNode({ engine, clock, target, table, moreBootstrap }));
    expect(fetched).toBe(1);
    expect(r.end).toBe('converged');
    expect(hexes(r.closest)).toEqual(hexes(net.trueClosest(target, 8)));
    // Now the table holds live nodes: no fetch.
    const again = await runUntilSettled(clock, findNode({ engine, clock, target: randomBytesFrom(prng(37), 20), table, moreBootstrap }));
    expect(again.end).toBe('converged');
    expect(fetched).toBe(1);
    // A fetch that fails or finds nothing ends the lookup as before.
    const lonely = setup(10);
    const dead = staleTable(lonely.engine.id, lonely.clock, prng(38));
    const none = await runUntilSettled(lonely.clock, findNode({ engine: lonely.engine, clock: lonely.clock, target, table: dead, moreBootstrap: async () => Promise.reject(new Error('no DNS')) }));
    expect(none.end).toBe('exhausted');
    expect(none.closest).toEqual([]);
  });
});

describe('get_peers lookup', () => {
  it('collects peers with their sources, tokens and raw BEP 33 filters', async () => {
    const { clock, net, engine, bootstrap } = setup(500);
    const infohash = randomBytesFrom(prng(21), 20);
    const peers: Array<[PeerInfo, boolean]> = [
      [{ host: '198.51.100.1', port: 6881, family: 4 }, true],
      [{ host: '198.51.100.2', port: 6881, family: 4 }, false],
      [{ host: '2001:db8::1', port: 51413, family: 6 }, false],
    ];
    const holders = net.storePeers(infohash, peers, 5);
    const r: LookupResult = await runUntilSettled(clock, getPeers({ engine, clock, target: infohash, bootstrap, scrape: true }));
    expect(r.end).toBe('converged');
    expect(engine.sent.every((q) => q.method === 'get_peers' && q.args.scrape === 1 && q.args.info_hash === infohash)).toBe(true);
    expect(r.peers.map((p) => `${p.peer.host}:${p.peer.port}`).sort()).toEqual(['198.51.100.1:6881', '198.51.100.2:6881', '2001:db8::1:51413']);
    const holderIds = new Set(hexes(holders));
    for (const p of r.peers) {
      expect(p.from.length).toBe(5); // every holder is among the 8 closest, all asked
      for (const id of p.from) expect(holderIds.has(idToHex(id))).toBe(true);
    }
    // A token from every responder, keyed by id.
    expect(r.tokens.size).toBe(r.stats.replies);
    for (const n of r.closest) expect(r.tokens.get(idToHex(n.id))?.token.length).toBe(4);
    expect(r.scrapes.length).toBe(5);
    for (const s of r.scrapes) {
      expect(s.BFsd?.[0]).toBe(1);
      expect(s.BFpe?.[0]).toBe(2);
    }
  });

  it('drops port-0 peers always, and peers the allowPeer filter refuses; counts each distinct one', async () => {
    const { clock, net, engine, bootstrap } = setup(300);
    const infohash = randomBytesFrom(prng(23), 20);
    const peers: Array<[PeerInfo, boolean]> = [
      [{ host: '198.51.100.1', port: 6881, family: 4 }, true],
      [{ host: '198.51.100.2', port: 0, family: 4 }, false],
      [{ host: '0.0.0.0', port: 6881, family: 4 }, false],
      [{ host: '2001:db8::1', port: 0, family: 6 }, false],
    ];
    net.storePeers(infohash, peers, 5); // five holders return the same bad peers: counted once each
    const open = await runUntilSettled(clock, getPeers({ engine, clock, target: infohash, bootstrap }));
    expect(open.peers.map((p) => `${p.peer.host}:${p.peer.port}`).sort()).toEqual(['0.0.0.0:6881', '198.51.100.1:6881']);
    expect(open.stats.droppedPeers).toBe(2);
    const filtered = await runUntilSettled(clock, getPeers({ engine, clock, target: infohash, bootstrap, allowPeer: noBogons }));
    expect(filtered.peers.map((p) => `${p.peer.host}:${p.peer.port}`)).toEqual(['198.51.100.1:6881']);
    expect(filtered.stats.droppedPeers).toBe(3);
    expect(filtered.droppedPeers.map((p) => `${p.host}:${p.port}`).sort()).toEqual(['0.0.0.0:6881', '198.51.100.2:0', '2001:db8::1:0']);
  });

  it('passes noseed, and lets a custom method see every reply', async () => {
    const { clock, net, engine, bootstrap } = setup(200);
    const infohash = randomBytesFrom(prng(22), 20);
    net.storePeers(infohash, [
      [{ host: '198.51.100.1', port: 1, family: 4 }, true],
      [{ host: '198.51.100.2', port: 2, family: 4 }, false],
    ]);
    const r = await runUntilSettled(clock, getPeers({ engine, clock, target: infohash, bootstrap, noseed: true }));
    expect(r.peers.map((p) => p.peer.host)).toEqual(['198.51.100.2']);
    const seen: string[] = [];
    const custom = await runUntilSettled(clock, 
      iterativeLookup(
        { engine, clock, target: infohash, bootstrap },
        { method: 'get', args: () => ({ id: engine.id, target: infohash }), onReply: (msg, from) => seen.push(idToHex(from.id)) },
      ),
    );
    expect(seen.length).toBe(custom.stats.replies);
    expect(engine.sent.at(-1)!.method).toBe('get');
  });
});

describe('lookups restricted to one address family (BEP 32)', () => {
  it('ask for that family with want, so IPv4 routers lead to IPv6 nodes', async () => {
    const clock = new VirtualClock();
    const world = SimWorld.create({ nodes: 600, infohashes: 0, seed: 3, clock, dualStack: 0.5, unresponsive: 0, spoofers: 0 });
    const transport = world.attachClientOn([{ host: '10.255.0.1', port: 6881 }, { host: 'fd00::aff:1', port: 6881 }]);
    const engine = new Krpc({ transport, clock, id: new Uint8Array(20).fill(9), policy: AddressPolicy.simulated(), rateLimit: false, timeoutMs: 1000 });
    const target = new Uint8Array(20).fill(0x3c);
    const routers = world.bootstrap.filter((b) => !b.host.includes(':'));
    let result: LookupResult | undefined;
    void findNode({ engine, clock, target, bootstrap: routers, families: [6] }).then((r) => (result = r));
    await clock.runUntilAsync(() => result !== undefined, 120_000);
    const v6 = Array.from({ length: world.size }, (_, i) => i).filter((i) => world.hasFamily(i, 6));
    v6.sort((a, b) => compareDistance(world.idOf(a), world.idOf(b), target));
    expect(result!.closest.map((n) => `${n.family} ${n.host}`)).toEqual(v6.slice(0, 8).map((i) => `6 ${world.endpointOf(i, 6).host}`));
    expect(world.counters.byMethod.find_node).toBeGreaterThan(0);
    await engine.close();
  });
});
