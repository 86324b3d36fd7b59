// A full node (createFullNode) on a real Krpc engine over a capture transport: tests inject
// datagrams from any address (v4, v6, bogon, port 0) and read back exactly what would have been sent.
import { AddressPolicy } from '../../../src/core/net/address.js';
import { Krpc } from '../../../src/core/net/krpc-engine.js';
import type { LocalEndpoint, MessageHandler, Transport } from '../../../src/core/net/transport.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import { DhtClient } from '../../../src/core/dht/dht-client.js';
import { createFullNode, type FullNodeConfig } from '../../../src/core/dht/full-node.js';
import { PeerStore, type PeerStoreOptions } from '../../../src/core/dht/peer-store.js';
import type { ResponderEvent } from '../../../src/core/dht/responder.js';
import { RoutingTable } from '../../../src/core/dht/routing-table.js';
import { decodeMessage, encodeQuery } from '../../../src/core/wire/krpc-codec.js';
import type { BEncodable, KrpcMessage } from '../../../src/core/wire/types.js';
import { prng, randomBytesFrom } from '../../support/fake-engine.js';

export interface Sent {
  data: Uint8Array;
  host: string;
  port: number;
}

export class CaptureTransport implements Transport {
  readonly sent: Sent[] = [];
  handler: MessageHandler | null = null;
  readonly endpoints: readonly LocalEndpoint[] = [
    { host: '1.1.1.1', port: 6881, family: 4 },
    { host: '2a00::1', port: 6881, family: 6 },
  ];
  send(data: Uint8Array, host: string, port: number): void {
    this.sent.push({ data: Uint8Array.from(data), host, port });
  }
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  deliver(data: Uint8Array, host: string, port: number): void {
    // A datagram arrives as a Buffer of its own, as from node:dgram.
    this.handler?.(Buffer.from(data), host, port);
  }
}

export interface HarnessOptions extends NonNullable<FullNodeConfig['responder']> {
  peerStore?: Partial<Omit<PeerStoreOptions, 'clock'>>;
  /** Nodes per family put in the table (verified). */
  tableNodes?: number;
}

export const OUR_ID = new Uint8Array(20).fill(0x5a);

export function makeHarness(opts: HarnessOptions = {}) {
  const clock = new VirtualClock();
  const transport = new CaptureTransport();
  const policy = new AddressPolicy({ loopbackOnly: false });
  const krpc = new Krpc({ transport, clock, id: OUR_ID, policy, rateLimit: false });
  const table = new RoutingTable({ id: OUR_ID, clock });
  const rand = prng(99);
  const n = opts.tableNodes ?? 40;
  for (let i = 0; i < n; i++) {
    table.onReply({ id: randomBytesFrom(rand, 20), host: `8.8.${i >> 8}.${i & 0xff}`, port: 1000 + i, family: 4 });
    table.onReply({ id: randomBytesFrom(rand, 20), host: `2a01::${(i + 1).toString(16)}`, port: 2000 + i, family: 6 });
  }
  const events: ResponderEvent[] = [];
  const harvested: Array<{ infohash: string; kind: string; from: string }> = [];
  const { peerStore, tableNodes: _t, ...responderOptions } = opts;
  const peers = new PeerStore({ clock, random: prng(7), ...peerStore });
  const node = createFullNode({
    client: new DhtClient({ engine: krpc, clock, table }),
    policy,
    peers,
    responder: {
      inboundRate: false,
      onInfohash: (ih, kind, from) => harvested.push({ infohash: Buffer.from(ih).toString('hex'), kind, from: `${from.host}:${from.port}` }),
      ...responderOptions,
    },
    onEvent: (e) => events.push(e),
  });
  let tid = 0;

  /** Sends a query from host:port; returns the decoded replies it caused (0 or 1). */
  function query(host: string, port: number, method: string, args: { [k: string]: BEncodable | undefined }, extra: { ro?: boolean; id?: Uint8Array } = {}): KrpcMessage | undefined {
    const t = Uint8Array.of(0x74, tid++ & 0xff);
    const bytes = encodeQuery(t, method, { id: extra.id ?? new Uint8Array(20).fill(0x11), ...args }, { ro: extra.ro });
    return deliverRaw(bytes, host, port);
  }

  function deliverRaw(bytes: Uint8Array, host: string, port: number): KrpcMessage | undefined {
    const before = transport.sent.length;
    transport.deliver(bytes, host, port);
    const out = transport.sent.slice(before);
    if (out.length === 0) return undefined;
    if (out.length > 1) throw new Error(`expected at most one reply, got ${out.length}`);
    lastReply = out[0];
    const decoded = decodeMessage(out[0].data);
    if (!decoded.ok) throw new Error(`reply does not decode: ${decoded.error.message}`);
    return decoded.value;
  }
  let lastReply: Sent | undefined;

  return {
    clock,
    transport,
    krpc,
    table,
    node,
    peers,
    tokens: node.tokens,
    responder: node.responder,
    events,
    harvested,
    query,
    deliverRaw,
    lastReply: () => lastReply,
  };
}
