// Contacts grouped by the top 12 bits of their id. Groups are visited in increasing XOR distance
// of that prefix (p ^ 0, p ^ 1, ...), so "the k closest to a target" reads only the groups it
// needs: every contact of a nearer group is closer than any contact of a farther one. Strategies
// get one through StrategyContext.helpers.contactIndex(capacity).
import { compareDistance } from '../dht/node-id.js';
import { endpointKey } from '../net/endpoint-key.js';
import type { ContactIndex, CrawlNode, IndexedContact } from './strategy.js';

const GROUP_BITS = 12;

function groupOf(id: Uint8Array): number {
  return (id[0] << 4) | (id[1] >> 4);
}

export class PrefixContactIndex implements ContactIndex {
  private readonly byKey = new Map<string, IndexedContact>();
  private readonly groups: Array<IndexedContact[] | undefined> = new Array(1 << GROUP_BITS);

  /** @param capacity contacts kept at most; adding to a full index is refused */
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Rough heap estimate: a Map entry, the key text, the contact and its id. */
  get bytes(): number {
    return this.byKey.size * 190 + this.groups.length * 8;
  }

  /** An endpoint already present keeps its entry. */
  add(node: CrawlNode): boolean {
    const id = node.id;
    if (!id || id.length !== 20) return false;
    const key = endpointKey(node.host, node.port);
    if (this.byKey.has(key) || this.byKey.size >= this.capacity) return false;
    const c: IndexedContact = { id: Uint8Array.from(id), host: node.host, port: node.port, family: node.family };
    this.byKey.set(key, c);
    (this.groups[groupOf(c.id)] ??= []).push(c);
    return true;
  }

  remove(host: string, port: number): void {
    const key = endpointKey(host, port);
    const c = this.byKey.get(key);
    if (!c) return;
    this.byKey.delete(key);
    const list = this.groups[groupOf(c.id)];
    if (!list) return;
    const i = list.indexOf(c);
    if (i >= 0) {
      list[i] = list[list.length - 1];
      list.pop();
    }
  }

  closest(target: Uint8Array, count: number, accept?: (c: IndexedContact) => boolean): IndexedContact[] {
    const out: IndexedContact[] = [];
    const p = groupOf(target);
    for (let d = 0; d < this.groups.length && out.length < count; d++) {
      const list = this.groups[p ^ d];
      if (!list) continue;
      for (const c of list) if (!accept || accept(c)) out.push(c);
    }
    out.sort((a, b) => compareDistance(a.id, b.id, target));
    if (out.length > count) out.length = count;
    return out;
  }
}
