// A loopback DHT of real bitscrape nodes for BEP 44 tests: each node is a Krpc engine on its own
// UDP socket and a full node (createFullNode: responder, item handlers, ItemStore); every routing
// table knows every node. Clients are DhtClients on their own sockets.
import { AddressPolicy } from '../../src/core/net/address.js';
import { Krpc } from '../../src/core/net/krpc-engine.js';
import { RealClock } from '../../src/core/net/real-clock.js';
import { UdpTransport } from '../../src/core/net/udp-transport.js';
import { DhtClient } from '../../src/core/dht/dht-client.js';
import { createFullNode } from '../../src/core/dht/full-node.js';
import type { ItemStorage } from '../../src/core/dht/item-store.js';
import { randomId } from '../../src/core/dht/node-id.js';
import type { Responder } from '../../src/core/dht/responder.js';
import type { ItemHandlerStats } from '../../src/core/dht/responder-items.js';
import { RoutingTable } from '../../src/core/dht/routing-table.js';
import type { NodeInfo } from '../../src/core/wire/types.js';

export interface StorerNode {
  info: NodeInfo;
  engine: Krpc;
  responder: Responder;
  store: ItemStorage;
  stats: ItemHandlerStats;
  table: RoutingTable;
}

export interface ItemTestNetwork {
  nodes: StorerNode[];
  bootstrap: string;
  client(): Promise<DhtClient>;
  close(): Promise<void>;
}

export async function startItemNetwork(size: number): Promise<ItemTestNetwork> {
  const clock = new RealClock();
  const closers: Array<() => Promise<void>> = [];
  const nodes: StorerNode[] = [];
  for (let i = 0; i < size; i++) {
    const transport = await UdpTransport.open({ bind: [{ host: '127.0.0.1', port: 0 }] });
    const id = randomId();
    const policy = new AddressPolicy({ localAddresses: ['127.0.0.1'] });
    const engine = new Krpc({ transport, clock, id, timeoutMs: 1000, retries: 0, policy, rateLimit: false, closeTransport: true });
    const table = new RoutingTable({ id, clock });
    const full = createFullNode({ client: new DhtClient({ engine, clock, table }), policy, responder: { inboundRate: false } });
    nodes.push({ info: { id, host: '127.0.0.1', port: transport.endpoints[0].port, family: 4 }, engine, responder: full.responder, store: full.items, stats: full.itemStats, table });
    closers.push(async () => {
      await full.stop();
      await engine.close();
    });
  }
  for (const a of nodes) for (const b of nodes) if (a !== b) a.table.onReply(b.info, 0, { rttMs: 1 });

  return {
    nodes,
    bootstrap: `127.0.0.1:${nodes[0].info.port}`,
    async client() {
      const transport = await UdpTransport.open({ bind: [{ host: '127.0.0.1', port: 0 }] });
      const id = randomId();
      const policy = new AddressPolicy({ localAddresses: ['127.0.0.1'] });
      const engine = new Krpc({ transport, clock, id, timeoutMs: 1000, retries: 0, policy, rateLimit: false, readOnly: true, closeTransport: true });
      closers.push(() => engine.close());
      return new DhtClient({
        engine,
        clock,
        table: new RoutingTable({ id, clock }),
        bootstrap: [{ host: '127.0.0.1', port: nodes[0].info.port }],
        lookupDefaults: { queryTimeoutMs: 1000 },
      });
    },
    async close() {
      for (const c of closers.splice(0).reverse()) await c();
    },
  };
}
