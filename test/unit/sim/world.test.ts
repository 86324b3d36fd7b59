import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { Krpc } from '../../../src/core/net/krpc-engine.js';
import type { QueryOutcome } from '../../../src/core/net/krpc-types.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { NodeKind, SimWorld, Stack } from '../../../src/core/sim/world.js';
import { SimNetwork } from '../../../src/core/net/sim-network.js';
import { toHex } from '../../../src/core/wire/hex.js';

function world(seed = 1, nodes = 600, infohashes = 300): { clock: VirtualClock; w: SimWorld } {
  const clock = new VirtualClock();
  return { clock, w: SimWorld.create({ nodes, infohashes, seed, clock }) };
}

/** A Krpc client on the world's network; query() drives the virtual clock to the outcome. */
function client(clock: VirtualClock, w: SimWorld, port = 7000) {
  const engine = new Krpc({ transport: w.attachClient('10.255.0.9', port), clock, id: new Uint8Array(20).fill(7), policy: AddressPolicy.simulated(), rateLimit: false, retries: 0, timeoutMs: 1000 });
  return async (i: number, method: string, args: Record<string, unknown> = {}, expectId?: Uint8Array): Promise<QueryOutcome> => {
    const p = engine.query(w.endpointOf(i), method, args as never, expectId ? { expectId } : {});
    let out: QueryOutcome | undefined;
    void p.then((o) => (out = o));
    await clock.runUntilAsync(() => out !== undefined, 5000);
    return out!;
  };
}

const find = (w: SimWorld, pred: (i: number) => boolean): number => {
  for (let i = 0; i < w.size; i++) if (pred(i)) return i;
  throw new Error('no such node in the world');
};

function xorLess(a: Uint8Array, b: Uint8Array, t: Uint8Array): number {
  for (let k = 0; k < 20; k++) {
    const d = (a[k] ^ t[k]) - (b[k] ^ t[k]);
    if (d !== 0) return d;
  }
  return 0;
}

describe('SimWorld', () => {
  it('is the same world for the same seed and another for another seed', () => {
    const a = world(5).w;
    const b = world(5).w;
    const c = world(6).w;
    expect(Buffer.from(a.ids).equals(Buffer.from(b.ids))).toBe(true);
    expect(Array.from(a.kind)).toEqual(Array.from(b.kind));
    expect(Array.from(a.flags)).toEqual(Array.from(b.flags));
    expect(Array.from(a.contacts)).toEqual(Array.from(b.contacts));
    expect(Array.from(a.hold)).toEqual(Array.from(b.hold));
    expect(a.bootstrap).toEqual(b.bootstrap);
    expect(Buffer.from(a.ids).equals(Buffer.from(c.ids))).toBe(false);
  });

  it('draws behaviours in the requested proportions and keeps tables of 40-80 contacts', () => {
    const { w } = world(2, 4000, 100);
    let unresponsive = 0;
    let spoofers = 0;
    let normal = 0;
    let bep51 = 0;
    for (let i = 0; i < w.size; i++) {
      if (w.kind[i] === NodeKind.unresponsive) unresponsive++;
      else if (w.kind[i] === NodeKind.spoofer) spoofers++;
      else {
        normal++;
        if (w.supportsBep51(i)) bep51++;
      }
    }
    expect(unresponsive / w.size).toBeCloseTo(0.5, 1);
    expect(spoofers / w.size).toBeCloseTo(0.05, 1);
    expect(bep51 / normal).toBeCloseTo(0.6, 1);
    const mean = w.contacts.length / w.size;
    expect(mean).toBeGreaterThan(40);
    expect(mean).toBeLessThan(80);
  });

  it('stores each infohash on the responsive nodes closest to it and knows which are reachable', () => {
    const { w } = world(3);
    const holders = new Map<number, number[]>();
    for (let i = 0; i < w.size; i++) {
      for (let k = w.holdStart[i]; k < w.holdStart[i + 1]; k++) {
        const list = holders.get(w.hold[k]) ?? [];
        list.push(i);
        holders.set(w.hold[k], list);
      }
    }
    expect(holders.size).toBe(w.infohashCount);
    for (const [j, list] of holders) {
      expect(list.length).toBe(8);
      for (const i of list) expect(w.isResponsive(i)).toBe(true);
      expect(w.reachable[j] === 1).toBe(list.some((i) => w.supportsBep51(i)));
    }
    // the 8 closest responsive nodes to one infohash, by brute force
    const t = w.infohashes.subarray(0, 20);
    const responsive = Array.from({ length: w.size }, (_, i) => i).filter((i) => w.isResponsive(i));
    responsive.sort((a, b) => xorLess(w.idOf(a), w.idOf(b), t));
    expect(holders.get(0)!.sort()).toEqual(responsive.slice(0, 8).sort());
    expect(w.reachableInfohashes().size).toBe(Array.from(w.reachable).filter((r) => r === 1).length);
  });

  it('answers ping, find_node with the 8 closest contacts, get_peers, and BEP 51 with stored samples', async () => {
    const { clock, w } = world(4);
    const ask = client(clock, w);
    const i = find(w, (n) => w.isResponsive(n) && w.supportsBep51(n) && w.storedBy(n) > 0);

    const ping = await ask(i, 'ping', {}, w.idOf(i));
    expect(ping.ok).toBe(true);

    const target = new Uint8Array(20).fill(0xab);
    const fn = await ask(i, 'find_node', { target }, w.idOf(i));
    if (!fn.ok) throw new Error('find_node failed');
    const contacts = Array.from(w.contacts.subarray(w.contactStart[i], w.contactStart[i + 1]));
    contacts.sort((a, b) => xorLess(w.idOf(a), w.idOf(b), target));
    expect(fn.msg.r.nodes!.map((n) => toHex(n.id))).toEqual(contacts.slice(0, 8).map((c) => toHex(w.idOf(c))));
    expect(fn.msg.r.nodes!.map((n) => w.indexOf(n.host, n.port))).toEqual(contacts.slice(0, 8));

    const gp = await ask(i, 'get_peers', { info_hash: target }, w.idOf(i));
    expect(gp.ok && gp.msg.r.token && gp.msg.r.nodes?.length).toBeTruthy();

    const si = await ask(i, 'sample_infohashes', { target }, w.idOf(i));
    if (!si.ok) throw new Error('sample_infohashes failed');
    const stored = new Set(Array.from({ length: w.storedBy(i) }, (_, k) => w.infohashHex(w.hold[w.holdStart[i] + k])));
    expect(si.msg.r.num).toBe(w.storedBy(i));
    expect(si.msg.r.interval).toBe(300);
    expect(si.msg.r.samples!.length).toBe(Math.min(20, w.storedBy(i)));
    for (const s of si.msg.r.samples!) expect(stored.has(toHex(s))).toBe(true);
    expect(si.msg.r.nodes!.length).toBe(8);
    expect(w.sampled[i]).toBe(1);
    expect(w.sentTo[i]).toBe(4);
    expect(w.received[i]).toBe(4);
  });

  it('models nodes without BEP 51, unresponsive nodes and id spoofers', async () => {
    const { clock, w } = world(5, 1500);
    const ask = client(clock, w);
    const nodesOnly = find(w, (n) => w.isResponsive(n) && !w.supportsBep51(n) && (w.flags[n] & 2) === 0);
    const refuses = find(w, (n) => w.isResponsive(n) && !w.supportsBep51(n) && (w.flags[n] & 2) !== 0);
    const dead = find(w, (n) => w.kind[n] === NodeKind.unresponsive);
    const spoofer = find(w, (n) => w.kind[n] === NodeKind.spoofer);
    const target = new Uint8Array(20);

    const a = await ask(nodesOnly, 'sample_infohashes', { target });
    expect(a).toMatchObject({ ok: false, kind: 'bad_reply' });
    if (!a.ok && a.kind === 'bad_reply') expect(a.msg?.r.nodes?.length).toBe(8);
    expect(await ask(refuses, 'sample_infohashes', { target })).toMatchObject({ ok: false, kind: 'error', code: 204 });
    expect(await ask(dead, 'ping')).toMatchObject({ ok: false, kind: 'timeout' });
    expect(w.sentTo[dead]).toBe(1);
    expect(w.received[dead]).toBe(0);

    const first = await ask(spoofer, 'ping');
    const second = await ask(spoofer, 'ping');
    if (!first.ok || !second.ok) throw new Error('spoofer did not answer');
    expect(toHex(first.msg.r.id)).not.toBe(toHex(w.idOf(spoofer)));
    expect(toHex(first.msg.r.id)).not.toBe(toHex(second.msg.r.id));
    expect(w.sampled[nodesOnly] + w.sampled[refuses]).toBe(0);
  });

  it('counts sample_infohashes that come before the interval has passed', async () => {
    const { clock, w } = world(6);
    const ask = client(clock, w);
    const i = find(w, (n) => w.isResponsive(n) && w.supportsBep51(n));
    await ask(i, 'sample_infohashes', { target: new Uint8Array(20) });
    await ask(i, 'sample_infohashes', { target: new Uint8Array(20) });
    expect(w.counters.earlySamples).toBe(1);
    await clock.advanceAsync(301_000);
    await ask(i, 'sample_infohashes', { target: new Uint8Array(20) });
    expect(w.counters.earlySamples).toBe(1);
  });

  it('models a dual-stack world: IPv6 addresses, a routing table per family, answers in the asked family', async () => {
    const clock = new VirtualClock();
    const w = SimWorld.create({ nodes: 1200, infohashes: 400, seed: 8, clock, dualStack: 0.4, ipv6Only: 0.2 });
    const count = (bits: number) => Array.from(w.stack).filter((s) => s === bits).length;
    expect(count(Stack.v6) / w.size).toBeCloseTo(0.2, 1);
    expect(count(Stack.v4 | Stack.v6) / w.size).toBeCloseTo(0.4, 1);
    expect(count(Stack.v4) / w.size).toBeCloseTo(0.4, 1);
    // each family's tables list only nodes of that family; nodes without it have none
    for (let i = 0; i < w.size; i++) {
      for (let c = w.contactStart6[i]; c < w.contactStart6[i + 1]; c++) expect(w.hasFamily(w.contacts6[c], 6)).toBe(true);
      for (let c = w.contactStart[i]; c < w.contactStart[i + 1]; c++) expect(w.hasFamily(w.contacts[c], 4)).toBe(true);
      if (!w.hasFamily(i, 6)) expect(w.contactStart6[i + 1] - w.contactStart6[i]).toBe(0);
      if (!w.hasFamily(i, 4)) expect(w.contactStart[i + 1] - w.contactStart[i]).toBe(0);
    }
    expect(w.bootstrap.filter((b) => b.host.includes(':'))).toHaveLength(8);
    for (const b of w.bootstrap) expect(w.isResponsive(w.indexOf(b.host, b.port))).toBe(true);
    // an infohash is reachable over a family when a BEP 51 node of that family stores it
    for (let j = 0; j < w.infohashCount; j++) {
      let by = 0;
      for (let i = 0; i < w.size; i++) {
        if (!w.supportsBep51(i)) continue;
        for (let k = w.holdStart[i]; k < w.holdStart[i + 1]; k++) if (w.hold[k] === j) by |= w.stack[i];
      }
      expect(w.reachableBy[j]).toBe(by);
    }
    const both = w.reachableInfohashes([4, 6]);
    expect(w.reachableInfohashes([4]).size).toBeLessThan(both.size);
    expect(w.reachableInfohashes([6]).size).toBeLessThan(both.size);

    const engine = new Krpc({
      transport: w.attachClientOn([{ host: '10.255.0.9', port: 7000 }, { host: 'fd00::aff:9', port: 7000 }]),
      clock,
      id: new Uint8Array(20).fill(7),
      policy: AddressPolicy.simulated(),
      rateLimit: false,
      retries: 0,
      timeoutMs: 1000,
    });
    const ask = async (to: { host: string; port: number }, args: Record<string, unknown>): Promise<QueryOutcome> => {
      let out: QueryOutcome | undefined;
      void engine.query(to, 'find_node', args as never).then((o) => (out = o));
      await clock.runUntilAsync(() => out !== undefined, 5000);
      return out!;
    };
    const dual = find(w, (n) => w.isResponsive(n) && w.stack[n] === (Stack.v4 | Stack.v6));
    const v6only = find(w, (n) => w.isResponsive(n) && w.stack[n] === Stack.v6);
    const target = new Uint8Array(20).fill(0x5c);

    const over6 = await ask(w.endpointOf(dual, 6), { target });
    if (!over6.ok) throw new Error('no answer over IPv6');
    expect(toHex(over6.msg.r.id)).toBe(toHex(w.idOf(dual)));
    expect(over6.msg.r.nodes).toBeUndefined();
    const contacts6 = Array.from(w.contacts6.subarray(w.contactStart6[dual], w.contactStart6[dual + 1]));
    contacts6.sort((a, b) => xorLess(w.idOf(a), w.idOf(b), target));
    expect(over6.msg.r.nodes6!.map((n) => `${n.host}|${n.port}`)).toEqual(contacts6.slice(0, 8).map((c) => `${SimNetwork.hostFor6(c)}|${w.ports[c]}`));
    expect(over6.msg.r.nodes6!.map((n) => w.indexOf(n.host, n.port))).toEqual(contacts6.slice(0, 8));

    const over4 = await ask(w.endpointOf(dual, 4), { target });
    expect(over4.ok && over4.msg.r.nodes?.length === 8 && over4.msg.r.nodes6 === undefined).toBe(true);
    const wantBoth = await ask(w.endpointOf(dual, 4), { target, want: ['n4', 'n6'] });
    expect(wantBoth.ok && wantBoth.msg.r.nodes?.length === 8 && wantBoth.msg.r.nodes6?.length === 8).toBe(true);
    const want6 = await ask(w.endpointOf(dual, 4), { target, want: ['n6'] });
    expect(want6.ok && want6.msg.r.nodes === undefined && want6.msg.r.nodes6?.length === 8).toBe(true);

    // an IPv6-only node has no IPv4 address: nothing answers there
    expect(w.indexOf(w.endpointOf(v6only, 4).host, w.ports[v6only])).toBe(-1);
    expect(await ask(w.endpointOf(v6only, 4), { target })).toMatchObject({ ok: false, kind: 'timeout' });
    expect((await ask(w.endpointOf(v6only, 6), { target })).ok).toBe(true);
    expect(w.sentTo[dual]).toBe(4);
    await engine.close();
  });
});
