// SimNetwork carries 10,000 full bitscrape nodes (Krpc engine, routing table and createFullNode's
// responder, stores and tokens) in one process, on virtual time, deterministically for a seed.
import { describe, expect, it } from 'vitest';
import { Krpc } from '../../src/core/net/krpc-engine.js';
import { AddressPolicy } from '../../src/core/net/address.js';
import { Prng } from '../../src/core/net/prng.js';
import { SimNetwork } from '../../src/core/net/sim-network.js';
import { VirtualClock } from '../../src/core/net/virtual-clock.js';
import { DhtClient } from '../../src/core/dht/dht-client.js';
import { createFullNode } from '../../src/core/dht/full-node.js';
import { findNode } from '../../src/core/dht/lookup.js';
import { compareDistance } from '../../src/core/dht/node-id.js';
import type { Responder } from '../../src/core/dht/responder.js';
import { RoutingTable } from '../../src/core/dht/routing-table.js';

const N = Number(process.env.SIM_SCALE_NODES ?? 10_000);

interface SimNode {
  id: Uint8Array;
  host: string;
  engine: Krpc;
  table: RoutingTable;
}

async function buildNetwork(seed: number): Promise<{ clock: VirtualClock; net: SimNetwork; nodes: SimNode[]; heapPerNode: number; queriesAnswered: number }> {
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed, latencyMs: { min: 5, max: 80 } });
  const prng = new Prng(seed);
  const policy = AddressPolicy.simulated();
  const nodes: SimNode[] = [];
  const responders: Responder[] = [];
  for (let i = 0; i < N; i++) {
    const host = SimNetwork.hostFor(i);
    const id = prng.bytes(20);
    const transport = net.attach(host, 6881);
    const engine = new Krpc({ transport, clock, id, policy, readOnly: false, rateLimit: false, timeoutMs: 1000, retries: 0 });
    const table = new RoutingTable({ id, clock });
    const full = createFullNode({ client: new DhtClient({ engine, clock, table }), policy, responder: { inboundRate: false } });
    nodes.push({ id, host, engine, table });
    responders.push(full.responder);
  }
  // Each node meets 8 random others (a ping each way fills both tables).
  const pings: Array<Promise<unknown>> = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < 8; j++) {
      const other = nodes[prng.int(0, N - 1)];
      if (other === nodes[i]) continue;
      const me = nodes[i];
      pings.push(
        me.engine.query({ host: other.host, port: 6881 }, 'ping', {}).then((out) => {
          if (out.ok) me.table.onReply({ id: out.msg.r.id, host: other.host, port: 6881, family: 4 });
        }),
      );
    }
  }
  let settled = false;
  void Promise.all(pings).then(() => (settled = true));
  await clock.runUntilAsync(() => settled, 60_000);
  global.gc?.();
  const heapPerNode = (process.memoryUsage().heapUsed - heapBefore) / N;
  const queriesAnswered = responders.reduce((sum, r) => sum + r.counters.answered, 0);
  return { clock, net, nodes, heapPerNode, queriesAnswered };
}

describe(`SimNetwork with ${N} bitscrape nodes`, () => {
  // Lookup correctness is tested on smaller networks; here: scale, answers and determinism.
  it('carries them in one process, they answer queries and lookups, and a seed fixes every datagram', async () => {
    const a = await buildNetwork(7);
    expect(a.queriesAnswered).toBeGreaterThan(N * 7);
    const counters = { delivered: a.net.counters.delivered, answered: a.queriesAnswered };
    // A lookup through the simulated DHT finds the nodes truly closest to a target.
    const target = new Prng(99).bytes(20);
    const origin = a.nodes[0];
    let result: Awaited<ReturnType<typeof findNode>> | undefined;
    void findNode({ engine: origin.engine, clock: a.clock, target, table: origin.table, alpha: 4 }).then((r) => (result = r));
    await a.clock.runUntilAsync(() => result !== undefined, 120_000);
    expect(result!.closest).toHaveLength(8);
    expect(result!.stats.replies).toBeGreaterThanOrEqual(8);
    // Nearest first, as a lookup promises.
    for (let i = 1; i < 8; i++) expect(compareDistance(result!.closest[i - 1].id, result!.closest[i].id, target)).toBeLessThan(0);
    // Well under 100 KB of heap per full node (engine, table, responder, stores).
    expect(a.heapPerNode).toBeLessThan(100_000);
    console.log(`[sim-scale] ${N} nodes: ${Math.round(a.heapPerNode)} B of heap per node, ${a.net.counters.delivered} datagrams, lookup ${result!.stats.queries} queries`);
    for (const n of a.nodes) await n.engine.close();

    // Same seed, same network: the same traffic.
    const b = await buildNetwork(7);
    expect({ delivered: b.net.counters.delivered, answered: b.queriesAnswered }).toEqual(counters);
    for (const n of b.nodes) await n.engine.close();
  }, 240_000);
});
