import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { Krpc } from '../../../src/core/net/krpc-engine.js';
import type { QueryOutcome } from '../../../src/core/net/krpc-types.js';
import { Prng } from '../../../src/core/net/prng.js';
import { SimNetwork } from '../../../src/core/net/sim-network.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { F } from '../../../src/core/wire/krpc-view.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

function setup(options: { seed?: number; loss?: number; latencyMs?: { min: number; max: number } } = {}) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, ...options });
  return { clock, net };
}

describe('SimNetwork', () => {
  it('ping-pong: raw bytes reach the other transport with the sender address, after the latency', () => {
    const { clock, net } = setup({ latencyMs: { min: 20, max: 20 } });
    const a = net.attach('10.0.0.1', 6881);
    const b = net.attach('10.0.0.2', 6881);
    const log: string[] = [];
    b.onMessage((data, host, port) => {
      log.push(`b<-${host}:${port} ${text(data)} @${clock.now()}`);
      b.send(bytes('pong'), host, port);
    });
    a.onMessage((data, host, port) => log.push(`a<-${host}:${port} ${text(data)} @${clock.now()}`));
    a.send(bytes('ping'), '10.0.0.2', 6881);
    clock.runUntilIdle();
    expect(log).toEqual(['b<-10.0.0.1:6881 ping @20', 'a<-10.0.0.2:6881 pong @40']);
    expect(net.counters).toMatchObject({ sent: 2, delivered: 2 });
    expect(net.dropped).toBe(0);
    expect(a.endpoints).toEqual([{ host: '10.0.0.1', port: 6881, family: 4 }]);
  });

  it('copies the datagram at send time, as a socket does', () => {
    const { clock, net } = setup();
    const a = net.attach('10.0.0.1', 1000);
    const b = net.attach('10.0.0.2', 1000);
    let got = '';
    b.onMessage((data) => (got = text(data)));
    const buf = bytes('first');
    a.send(buf, b.host, b.port);
    buf.set(bytes('XXXXX'));
    clock.runUntilIdle();
    expect(got).toBe('first');
  });

  it('is deterministic: the same seed gives the same delivery order and times', () => {
    function trace(seed: number): string[] {
      const { clock, net } = setup({ seed, loss: 0.1 });
      const nodes = Array.from({ length: 20 }, (_, i) => net.attach(SimNetwork.hostFor(i), 6881));
      const out: string[] = [];
      for (const n of nodes) n.onMessage((d, host) => out.push(`${text(d)}>${n.host}<${host}@${clock.now()}`));
      const pick = new Prng(99);
      for (let i = 0; i < 500; i++) {
        const from = nodes[pick.int(0, 19)];
        const to = nodes[pick.int(0, 19)];
        from.send(bytes(`m${i}`), to.host, to.port);
      }
      clock.runUntilIdle();
      return out;
    }
    const first = trace(42);
    expect(trace(42)).toEqual(first);
    expect(trace(43)).not.toEqual(first);
    expect(first.length).toBeGreaterThan(400);
  });

  it('latency stays within the configured range and varies', () => {
    const { clock, net } = setup({ seed: 5 });
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    const delays: number[] = [];
    b.onMessage(() => delays.push(clock.now()));
    for (let i = 0; i < 2000; i++) a.send(bytes('x'), b.host, b.port);
    clock.runUntilIdle();
    expect(delays).toHaveLength(2000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...delays)).toBeLessThanOrEqual(150);
    expect(new Set(delays).size).toBeGreaterThan(100);
    expect(delays).toEqual([...delays].sort((x, y) => x - y)); // delivered in time order
  });

  it('loses roughly the configured fraction', () => {
    const { clock, net } = setup({ seed: 11, loss: 0.2 });
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    let received = 0;
    b.onMessage(() => received++);
    for (let i = 0; i < 20_000; i++) a.send(bytes('x'), b.host, b.port);
    clock.runUntilIdle();
    const lossRate = net.counters.droppedLoss / 20_000;
    expect(lossRate).toBeGreaterThan(0.18);
    expect(lossRate).toBeLessThan(0.22);
    expect(received + net.counters.droppedLoss).toBe(20_000);
    expect(net.counters.sent).toBe(20_000);
  });

  it('unresponsive endpoints drop what they receive but can still send', () => {
    const { clock, net } = setup();
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    const got: string[] = [];
    a.onMessage((d) => got.push(`a:${text(d)}`));
    b.onMessage((d) => got.push(`b:${text(d)}`));
    net.setBehaviour('10.0.0.2', 1, { kind: 'unresponsive' });
    expect(net.behaviourOf('10.0.0.2', 1)).toEqual({ kind: 'unresponsive' });
    a.send(bytes('q'), b.host, b.port);
    b.send(bytes('r'), a.host, a.port);
    clock.runUntilIdle();
    expect(got).toEqual(['a:r']);
    expect(net.counters.droppedUnresponsive).toBe(1);
    net.setBehaviour('10.0.0.2', 1, { kind: 'normal' });
    a.send(bytes('q2'), b.host, b.port);
    clock.runUntilIdle();
    expect(got).toEqual(['a:r', 'b:q2']);
  });

  it('rate-limited endpoints accept about perSecond datagrams per second', () => {
    const { clock, net } = setup({ latencyMs: { min: 10, max: 10 } });
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    let received = 0;
    b.onMessage(() => received++);
    net.setBehaviour(b.host, b.port, { kind: 'rate_limited', perSecond: 5 });
    // 10 seconds, 50 datagrams per second: the bucket (burst 5) then 5 per second get through
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 50; i++) {
        a.send(bytes('x'), b.host, b.port);
        clock.advance(20);
      }
    }
    clock.runUntilIdle();
    expect(received).toBeGreaterThanOrEqual(50);
    expect(received).toBeLessThanOrEqual(56);
    expect(net.counters.droppedRateLimited).toBe(500 - received);
  });

  it('lossy endpoints lose their share on top of the network', () => {
    const { clock, net } = setup({ seed: 3 });
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    net.setBehaviour(b.host, b.port, { kind: 'lossy', loss: 0.5 });
    let received = 0;
    b.onMessage(() => received++);
    for (let i = 0; i < 4000; i++) a.send(bytes('x'), b.host, b.port);
    clock.runUntilIdle();
    expect(received).toBeGreaterThan(1800);
    expect(received).toBeLessThan(2200);
  });

  it('a delivery filter can rewrite or drop datagrams in flight', () => {
    const { clock, net } = setup();
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    const got: string[] = [];
    b.onMessage((d) => got.push(text(d)));
    const seen: string[] = [];
    net.setDeliveryFilter((dg) => {
      seen.push(`${dg.fromHost}:${dg.fromPort}->${dg.toHost}:${dg.toPort}`);
      const t = text(dg.data);
      if (t === 'drop') return null;
      return t === 'spoof' ? bytes('rewritten') : dg.data;
    });
    for (const t of ['keep', 'drop', 'spoof']) a.send(bytes(t), b.host, b.port);
    clock.runUntilIdle();
    expect(got.sort()).toEqual(['keep', 'rewritten']);
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBe('10.0.0.1:1->10.0.0.2:1');
    expect(net.counters.droppedFiltered).toBe(1);
    net.setDeliveryFilter(null);
    a.send(bytes('drop'), b.host, b.port);
    clock.runUntilIdle();
    expect(got).toContain('drop');
  });

  it('never throws from send, and catches throwing handlers', () => {
    const { clock, net } = setup();
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    b.onMessage(() => {
      throw new Error('handler bug');
    });
    expect(() => {
      a.send(bytes('x'), '::1', 1);
      a.send(bytes('x'), 'not-an-ip', 1);
      a.send(bytes('x'), '10.0.0.2', 0);
      a.send(bytes('x'), '10.0.0.2', 70000);
      a.send(new Uint8Array(70_000), '10.0.0.2', 1);
      a.send(undefined as unknown as Uint8Array, '10.0.0.2', 1);
    }).not.toThrow();
    expect(net.counters.droppedInvalid).toBe(6);
    a.send(bytes('x'), '10.0.0.2', 1);
    a.send(bytes('x'), '10.0.0.9', 1); // nobody there
    expect(() => clock.runUntilIdle()).not.toThrow();
    expect(net.counters.handlerErrors).toBe(1);
    expect(net.counters.droppedUnreachable).toBe(1);
  });

  it('close detaches: in-flight datagrams become unreachable, later sends are refused', async () => {
    const { clock, net } = setup();
    const a = net.attach('10.0.0.1', 1);
    const b = net.attach('10.0.0.2', 1);
    let received = 0;
    b.onMessage(() => received++);
    a.send(bytes('x'), b.host, b.port);
    await b.close();
    clock.runUntilIdle();
    expect(received).toBe(0);
    expect(net.counters.droppedUnreachable).toBe(1);
    expect(net.isAttached('10.0.0.2', 1)).toBe(false);
    b.send(bytes('x'), a.host, a.port);
    expect(net.counters.droppedInvalid).toBe(1);
    // the endpoint is free again
    const b2 = net.attach('10.0.0.2', 1);
    expect(b2.port).toBe(1);
    expect(net.size).toBe(2);
  });

  it('attach refuses taken or malformed endpoints and picks ephemeral ports for port 0', () => {
    const { net } = setup();
    net.attach('10.0.0.1', 6881);
    expect(() => net.attach('10.0.0.1', 6881)).toThrow(/already attached/);
    expect(() => net.attach('10.0.0.256', 1)).toThrow(/not an IP address/);
    expect(() => net.attach('fd00::1::2', 1)).toThrow(/not an IP address/);
    expect(() => net.attach('10.0.0.1', 65536)).toThrow(/bad port/);
    const e1 = net.attach('10.0.0.1', 0);
    const e2 = net.attach('10.0.0.1', 0);
    expect(e1.port).toBe(49152);
    expect(e2.port).toBe(49153);
  });

  it('simulated hosts come from 10.0.0.0/8, usable under an allowPrivate address policy', () => {
    expect(SimNetwork.hostFor(0)).toBe('10.0.0.1');
    expect(SimNetwork.hostFor(254)).toBe('10.0.0.255');
    expect(SimNetwork.hostFor(99_999)).toBe('10.1.134.160');
    const host = SimNetwork.hostFor(12_345);
    // the sim never touches a socket, so a sim node's policy opts out of the loopback-only guard
    const policy = new AddressPolicy({ allowPrivate: true, loopbackOnly: false });
    expect(policy.mayQuery(host, 6881)).toBe(true);
    expect(policy.isBogon(host, 6881)).toBe(false);
    expect(policy.rateLimitKey(host, 6881)).toBe(`${host}:6881`);
    expect(new AddressPolicy({ loopbackOnly: false }).mayQuery(host, 6881)).toBe(false);
  });

  it('carries IPv6 between IPv6 endpoints, never across families, and attachAll makes a dual-stack host', async () => {
    const { clock, net } = setup({ latencyMs: { min: 5, max: 5 } });
    expect(SimNetwork.hostFor6(0)).toBe('fd00::a00:1');
    expect(SimNetwork.indexOf6('fd00::a01:86a0')).toBe(99_999);
    expect(SimNetwork.indexOf6('fd00:0:0:0:0:0:a00:1')).toBe(0); // any spelling of the address
    expect(SimNetwork.indexOf6('fd01::a00:1')).toBe(-1);
    const v6 = net.attach(SimNetwork.hostFor6(1), 6881);
    expect(v6.endpoints).toEqual([{ host: 'fd00::a00:2', port: 6881, family: 6 }]);
    const v4 = net.attach('10.0.0.9', 6881);
    const got: string[] = [];
    v6.onMessage((d, h, p) => got.push(`v6 got ${Buffer.from(d).toString()} from ${h}:${p}`));
    v4.onMessage((d, h, p) => got.push(`v4 got ${Buffer.from(d).toString()} from ${h}:${p}`));

    const dual = net.attachAll([{ host: '10.0.0.1', port: 7000 }, { host: 'fd00::a00:1', port: 7000 }]);
    expect(dual.endpoints.map((e) => e.family)).toEqual([4, 6]);
    dual.onMessage((d, h, p) => got.push(`dual got ${Buffer.from(d).toString()} from ${h}:${p}`));
    dual.send(bytes('a'), 'fd00:0::a00:2', 6881); // the other spelling reaches the same endpoint
    dual.send(bytes('b'), '10.0.0.9', 6881);
    v6.send(bytes('c'), 'fd00::a00:1', 7000);
    v4.send(bytes('d'), '10.0.0.1', 7000);
    await clock.runUntilIdleAsync();
    expect(got.sort()).toEqual([
      'dual got c from fd00::a00:2:6881',
      'dual got d from 10.0.0.9:6881',
      'v4 got b from 10.0.0.1:7000',
      'v6 got a from fd00::a00:1:7000',
    ]);

    // a socket of one family cannot send to the other; an IPv6 address nobody holds is unreachable
    const invalid = net.counters.droppedInvalid;
    v4.send(bytes('x'), 'fd00::a00:1', 7000);
    v6.send(bytes('x'), '10.0.0.1', 7000);
    expect(net.counters.droppedInvalid).toBe(invalid + 2);
    v6.send(bytes('x'), 'fd00::dead', 7000);
    await clock.runUntilIdleAsync();
    expect(net.counters.droppedUnreachable).toBe(1);
    expect(() => net.attachAll([{ host: '10.0.0.2', port: 1 }, { host: '10.0.0.3', port: 1 }])).toThrow(/one address per family/);
    expect(net.isAttached('10.0.0.2', 1)).toBe(false);
  });

  it('runs the Krpc engine in virtual time: exact RTTs, timeouts against unresponsive nodes', async () => {
    const { clock, net } = setup({ latencyMs: { min: 30, max: 30 } });
    const engine = (host: string, fill: number) =>
      new Krpc({
        transport: net.attach(host, 6881),
        clock,
        id: new Uint8Array(20).fill(fill),
        policy: new AddressPolicy({ allowPrivate: true, loopbackOnly: false }),
      });
    const a = engine('10.0.0.1', 1);
    const b = engine('10.0.0.2', 2);
    b.onQuery((view, host, port) => b.respond({ host, port }, view.bytes(F.t)!, {}));
    let outcome: QueryOutcome | undefined;
    void a.query({ host: '10.0.0.2', port: 6881 }, 'ping', {}).then((o) => (outcome = o));
    expect(await clock.runUntilAsync(() => outcome !== undefined, 10_000)).toBe(true);
    expect(outcome).toMatchObject({ ok: true, rttMs: 60 });
    expect(clock.now()).toBe(60);

    net.setBehaviour('10.0.0.2', 6881, { kind: 'unresponsive' });
    const asked = clock.now();
    const late = a.query({ host: '10.0.0.2', port: 6881 }, 'ping', {}, { retries: 0, timeoutMs: 500 });
    await clock.runUntilIdleAsync();
    expect(await late).toMatchObject({ ok: false, kind: 'timeout' });
    expect(clock.now() - asked).toBe(500);
    await a.close();
    await b.close();
  });

  it('keeps per-endpoint memory small (10,000 endpoints)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { net } = setup();
    const count = 10_000;
    const hosts = Array.from({ length: count }, (_, i) => SimNetwork.hostFor(i));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < count; i++) net.attach(hosts[i], 6881).onMessage(noop);
    gc();
    const perEndpoint = (process.memoryUsage().heapUsed - before) / count;
    console.log(`SimNetwork: ${perEndpoint.toFixed(0)} bytes per attached endpoint (${count} endpoints)`);
    expect(net.size).toBe(count);
    expect(perEndpoint).toBeLessThan(250);
  });
});

function noop(): void {}
