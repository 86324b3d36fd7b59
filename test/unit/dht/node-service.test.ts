// NodeService on SimNetwork and virtual time: queriers get pinged into the table, silent nodes
// are pinged when questionable, stale buckets refreshed, the table saved on schedule.
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../../src/core/net/address.js';
import { Krpc } from '../../../src/core/net/krpc-engine.js';
import { SimNetwork } from '../../../src/core/net/sim-network.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { DhtClient } from '../../../src/core/dht/dht-client.js';
import { createFullNode } from '../../../src/core/dht/full-node.js';
import { RoutingTable } from '../../../src/core/dht/routing-table.js';

const MIN = 60_000;

function fullNode(net: SimNetwork, clock: VirtualClock, host: string, idByte: number, bootstrap: Array<{ host: string; port: number }> = []) {
  const policy = AddressPolicy.simulated();
  const id = new Uint8Array(20).fill(idByte);
  const engine = new Krpc({ transport: net.attach(host, 6881), clock, id, policy, rateLimit: false, readOnly: false, timeoutMs: 500, retries: 0 });
  const table = new RoutingTable({ id, clock });
  const node = new DhtClient({ engine, clock, table, bootstrap });
  let saves = 0;
  const full = createFullNode({
    client: node,
    policy,
    responder: { inboundRate: false },
    service: { save: async () => void saves++, saveEveryMs: 2 * MIN },
  });
  return { engine, table, node, responder: full.responder, service: full.service, saves: () => saves };
}

describe('NodeService', () => {
  it('pings queriers into the table, keeps nodes fresh, refreshes stale buckets and saves', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 5, latencyMs: { min: 5, max: 20 } });
    const a = fullNode(net, clock, '10.0.0.1', 0x10);
    const b = fullNode(net, clock, '10.0.0.2', 0x90, [{ host: '10.0.0.1', port: 6881 }]);

    const startA = a.service.start();
    await clock.runUntilIdleAsync(1000);
    expect((await startA).stats.queries).toBe(0); // nobody to ask yet
    const startB = b.service.start();
    await clock.advanceAsync(2000);
    await startB;
    expect(b.table.size).toBe(1); // b learnt a from the bootstrap reply
    // b's find_node made a see b as a querier; the next tick pings it into a's table.
    expect(a.table.size).toBe(0);
    await clock.advanceAsync(6000);
    expect(a.service.counters.pingsSent).toBeGreaterThanOrEqual(1);
    expect(a.table.getByEndpoint('10.0.0.2', 6881) && a.table.isLive(a.table.getByEndpoint('10.0.0.2', 6881)!)).toBe(true);

    // b goes quiet (it still answers). 16 silent minutes make it questionable for a; a tick
    // pings it and it is good again. By then a's buckets are stale, so refresh lookups ran, and
    // a saved every 2 minutes.
    await b.service.stop();
    await clock.advanceAsync(16 * MIN);
    const entry = a.table.getByEndpoint('10.0.0.2', 6881)!;
    expect(a.table.stateOf(entry)).toBe('good');
    expect(a.service.counters.pingsSent).toBeGreaterThanOrEqual(2);
    expect(a.service.counters.pingsAnswered).toBeGreaterThanOrEqual(2);
    expect(a.service.counters.refreshes).toBeGreaterThanOrEqual(1);
    expect(a.saves()).toBeGreaterThanOrEqual(7);

    await a.service.stop();
    const sent = a.service.counters.pingsSent;
    await clock.advanceAsync(20 * MIN);
    expect(a.service.counters.pingsSent).toBe(sent); // no ticks after stop
  });
});
