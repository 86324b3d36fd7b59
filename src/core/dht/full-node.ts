// A full DHT node wired in one place (in the spirit of anacrolix/dht's ServerConfig + NewServer):
// the responder on the client's engine and routing table, with write tokens, a peer store and a
// BEP 44 item store (get / put registered on the responder), and the node service that keeps the
// table healthy. The owner brings the client (engine, table, bootstrap), starts the service when
// the node should maintain itself, and closes the engine after stop().
import type { AddressPolicy } from '../net/address.js';
import type { DhtClient } from './dht-client.js';
import { ItemStore, type ItemStorage } from './item-store.js';
import { NodeService, type NodeServiceOptions } from './node-service.js';
import { PeerStore, type PeerStorage } from './peer-store.js';
import { registerItemHandlers, type ItemHandlerStats } from './responder-items.js';
import { Responder, type ResponderEvent, type ResponderOptions } from './responder.js';
import { bep42Ok, generateSecureId, isBep42Exempt } from './secure-id.js';
import { TokenManager } from './token-manager.js';

export interface FullNodeConfig {
  /** Our lookups and pings; its engine answers queries, its table is the one replies read and feed. */
  client: DhtClient;
  /** Who may be answered (the engine's address policy). */
  policy: AddressPolicy;
  /** Default: an in-memory PeerStore. Pass one to keep it across restarts (an id change). */
  peers?: PeerStorage;
  /** Default: an in-memory ItemStore. */
  items?: ItemStorage;
  /** Default: a new TokenManager. */
  tokens?: TokenManager;
  /** BEP 51 interval and samples, the per-source limit, our client tag, info-hash harvesting. */
  responder?: Pick<ResponderOptions, 'sampleIntervalS' | 'maxSamples' | 'inboundRate' | 'version' | 'onInfohash'>;
  /** Saves, tick, refresh and the service's events. */
  service?: Omit<NodeServiceOptions, 'node' | 'peers' | 'clock'>;
  /**
   * Queriers the table would take once they answer a ping: 'service' (default) queues them for
   * the node service's next tick; 'now' pings them at once (for nodes whose service is not
   * started, like the testnet's).
   */
  pingCandidates?: 'service' | 'now';
  /** Every responder event (announces, bad tokens, ping candidates), after the node's own handling. */
  onEvent?: (event: ResponderEvent) => void;
}

export interface FullNode {
  readonly client: DhtClient;
  readonly peers: PeerStorage;
  readonly items: ItemStorage;
  readonly tokens: TokenManager;
  readonly responder: Responder;
  /** Live counters of the BEP 44 handlers. */
  readonly itemStats: ItemHandlerStats;
  /** Not started here: start() bootstraps and runs the maintenance ticks. */
  readonly service: NodeService;
  /** Stops the service and the responder; the engine and its transport stay the owner's. */
  stop(): Promise<void>;
}

/** What does not depend on our id: a node restarting under a new id passes these back in. */
export type FullNodeStores = Pick<FullNode, 'peers' | 'items' | 'tokens'>;

export function createFullNode(config: FullNodeConfig): FullNode {
  const { client, policy } = config;
  const clock = client.clock;
  const peers = config.peers ?? new PeerStore({ clock });
  const items = config.items ?? new ItemStore(clock);
  const tokens = config.tokens ?? new TokenManager({ clock });
  const pingNow = config.pingCandidates === 'now';
  const onEvent = config.onEvent;
  const service = new NodeService({ ...config.service, node: client, peers, clock });
  const responder = new Responder({
    ...config.responder,
    engine: client.engine,
    clock,
    table: client.table,
    peers,
    tokens,
    policy,
    onEvent: (event) => {
      if (event.type === 'ping_candidate') {
        if (pingNow) void client.ping({ host: event.entry.host, port: event.entry.port });
        else service.offer(event.entry);
      }
      onEvent?.(event);
    },
  });
  const itemStats = registerItemHandlers(responder, items);
  return {
    client,
    peers,
    items,
    tokens,
    responder,
    itemStats,
    service,
    async stop() {
      await service.stop();
      responder.close();
    },
  };
}

/**
 * The BEP 42 id our external IP calls for, when the voters (the `ip` of replies) agree on an IP
 * our id does not fit; null while there is no consensus, for an exempt IP, or when the id fits.
 */
export function secureIdChange(client: DhtClient): { id: Uint8Array; ip: string } | null {
  const consensus = client.externalIp.consensus();
  if (!consensus || isBep42Exempt(consensus.ip) || bep42Ok(client.table.id, consensus.ip)) return null;
  return { id: generateSecureId(consensus.ip), ip: consensus.ip };
}
