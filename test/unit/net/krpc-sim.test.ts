// The same Krpc engine on SimNetwork and virtual time: deterministic and instant.
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { Krpc } from '../../../src/core/net/krpc-engine.js';
import { SimNetwork } from '../../../src/core/net/sim-network.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { F } from '../../../src/core/wire/krpc-view.js';

describe('Krpc on SimNetwork', () => {
  it('answers pings across the simulated network and times out on an unresponsive node, in virtual time', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 7, latencyMs: { min: 20, max: 20 } });
    const a = new Krpc({ transport: net.attach('10.0.0.1', 6881), clock, id: new Uint8Array(20).fill(1), policy: AddressPolicy.simulated() });
    const b = new Krpc({ transport: net.attach('10.0.0.2', 6881), clock, id: new Uint8Array(20).fill(2), policy: AddressPolicy.simulated() });
    b.onQuery((view, host, port) => b.respond({ host, port }, view.bytes(F.t)!, {}));
    net.setBehaviour('10.0.0.3', 6881, { kind: 'unresponsive' });
    net.attach('10.0.0.3', 6881);

    const ok = a.query({ host: '10.0.0.2', port: 6881 }, 'ping', {});
    const silent = a.query({ host: '10.0.0.3', port: 6881 }, 'ping', {}, { timeoutMs: 500, retries: 1 });
    await clock.runUntilIdleAsync();
    expect(await ok).toMatchObject({ ok: true, rttMs: 40 });
    expect(await silent).toEqual({ ok: false, kind: 'timeout', attempts: 2 });
    expect(clock.now()).toBe(1000);
  });

  it('under BITSCRAPE_LOOPBACK_ONLY the default policy refuses simulated private hosts', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock });
    const a = new Krpc({ transport: net.attach('10.0.0.1', 6881), clock, id: new Uint8Array(20).fill(1) });
    expect(await a.query({ host: '10.0.0.2', port: 6881 }, 'ping', {})).toMatchObject({ ok: false, kind: 'refused' });
  });

  it('onStall fires once after stallMs without a reply, and a late reply still resolves the query', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 7, latencyMs: { min: 300, max: 300 } });
    const a = new Krpc({ transport: net.attach('10.0.0.1', 6881), clock, id: new Uint8Array(20).fill(1), policy: AddressPolicy.simulated(), rateLimit: false });
    const b = new Krpc({ transport: net.attach('10.0.0.2', 6881), clock, id: new Uint8Array(20).fill(2), policy: AddressPolicy.simulated() });
    b.onQuery((view, host, port) => b.respond({ host, port }, view.bytes(F.t)!, {}));
    const stalls: number[] = [];
    const slow = a.query({ host: '10.0.0.2', port: 6881 }, 'ping', {}, { timeoutMs: 2000, retries: 0, stallMs: 250, onStall: () => stalls.push(clock.now()) });
    // a reply before stallMs: no stall
    const quick = a.query({ host: '10.0.0.2', port: 6881 }, 'ping', {}, { timeoutMs: 2000, retries: 0, stallMs: 1000, onStall: () => stalls.push(-1) });
    await clock.runUntilIdleAsync();
    expect(stalls).toEqual([250]);
    expect(await slow).toMatchObject({ ok: true, rttMs: 600 });
    expect(await quick).toMatchObject({ ok: true, rttMs: 600 });
    expect(a.counters.queriesSent).toBe(2);
    expect(a.counters.timeouts).toBe(0);
  });
});

