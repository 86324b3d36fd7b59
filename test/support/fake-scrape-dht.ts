// A small DHT on 127.0.0.1 for the scrape command's integration tests, independent of our own
// responder: every node knows every other, answers ping / find_node / get_peers, and stores
// peers for some infohashes the way libtorrent does — with scrape=1 it sends BEP 33 filters
// *instead of* values.
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { ScrapeBloom } from '../../src/core/dht/bloom.js';
import { compareDistance } from '../../src/core/dht/node-id.js';
import { decodeMessage, encodeNodes, encodePeer, encodeResponse, toHex } from '../../src/core/wire/index.js';
import type { NodeInfo, PeerInfo } from '../../src/core/wire/types.js';

export interface SwarmPeer extends PeerInfo {
  seed: boolean;
}

interface FakeNode extends NodeInfo {
  socket: Socket;
  /** Swarms by infohash hex. */
  stored: Map<string, SwarmPeer[]>;
}

export interface QueryLog {
  method: string;
  scrape: boolean;
  to: number;
}

export class FakeDht {
  readonly queries: QueryLog[] = [];
  private constructor(readonly nodes: FakeNode[]) {}

  static async start(size: number): Promise<FakeDht> {
    const nodes: FakeNode[] = [];
    for (let i = 0; i < size; i++) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => resolve());
      });
      nodes.push({ id: randomBytes(20), host: '127.0.0.1', port: socket.address().port, family: 4, socket, stored: new Map() });
    }
    const dht = new FakeDht(nodes);
    for (const n of nodes) n.socket.on('message', (buf, rinfo) => dht.answer(n, buf, rinfo.address, rinfo.port));
    return dht;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.nodes[0].port}`;
  }

  /** Stores a swarm at the `holders` nodes nearest to the infohash. */
  store(infohash: Uint8Array, swarm: SwarmPeer[], holders = 8): void {
    for (const n of this.closest(infohash, holders)) n.stored.set(toHex(infohash), swarm);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => new Promise<void>((resolve) => n.socket.close(() => resolve()))));
  }

  private closest(target: Uint8Array, n: number): FakeNode[] {
    return [...this.nodes].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, n);
  }

  private answer(node: FakeNode, buf: Buffer, host: string, port: number): void {
    const decoded = decodeMessage(buf);
    if (!decoded.ok || decoded.value.y !== 'q') return;
    const q = decoded.value;
    const target = q.a.info_hash ?? q.a.target;
    this.queries.push({ method: q.q, scrape: Boolean(q.a.scrape), to: node.port });
    const body: Record<string, Uint8Array | Uint8Array[]> = { id: node.id };
    if (target && (q.q === 'find_node' || q.q === 'get_peers')) {
      body.nodes = encodeNodes(this.closest(target, 8).filter((n) => n !== node));
    }
    if (q.q === 'get_peers' && q.a.info_hash) {
      body.token = createHash('sha1').update(node.id).update(host).digest().subarray(0, 4);
      const swarm = node.stored.get(toHex(q.a.info_hash));
      if (swarm && q.a.scrape) {
        const seeds = new ScrapeBloom();
        const downloaders = new ScrapeBloom();
        for (const p of swarm) (p.seed ? seeds : downloaders).insertIp(p.host);
        body.BFsd = seeds.bits;
        body.BFpe = downloaders.bits;
      } else if (swarm) {
        body.values = swarm.map((p) => encodePeer(p));
      }
    }
    const reply = encodeResponse(q.t, body, { v: Uint8Array.of(0x46, 0x4b, 0, 1) });
    node.socket.send(reply, port, host);
  }
}

export function swarm(seeds: number, leeches: number, net = 10): SwarmPeer[] {
  const out: SwarmPeer[] = [];
  for (let i = 0; i < seeds; i++) out.push({ host: `${net}.1.0.${i + 1}`, port: 6881 + i, family: 4, seed: true });
  for (let i = 0; i < leeches; i++) out.push({ host: `${net}.2.0.${i + 1}`, port: 7881 + i, family: 4, seed: false });
  return out;
}
