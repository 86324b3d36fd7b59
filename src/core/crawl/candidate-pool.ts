// Candidate nodes of a traversal in typed arrays with a min-heap by id: about 44 bytes a
// candidate instead of an object, an id array and a host string each.
import type { Family } from '../wire/types.js';
import { v4Key, v4KeyToEndpoint } from './compact-sets.js';
import { compareIds } from './id-bits.js';
import type { CrawlNode } from './strategy.js';

/**
 * Candidates: ids, endpoints and a min-heap by id in typed arrays (about 44 bytes a candidate).
 * IPv4 endpoints are numeric keys; IPv6 ones keep their host text in a side map.
 */
export class CandidatePool {
  private ids = new Uint8Array(256 * 20);
  private keys = new Float64Array(256);
  private ports = new Uint16Array(256);
  private heap = new Int32Array(256);
  private size = 0;
  private freeList: number[] = [];
  private used = 0;
  private readonly v6Hosts = new Map<number, string>();

  get count(): number {
    return this.size;
  }

  get bytes(): number {
    return this.ids.byteLength + this.keys.byteLength + this.ports.byteLength + this.heap.byteLength + this.freeList.length * 8 + this.v6Hosts.size * 80;
  }

  push(id: Uint8Array, host: string, port: number): void {
    const slot = this.alloc();
    this.ids.set(id.subarray(0, 20), slot * 20);
    const k = v4Key(host, port);
    this.keys[slot] = k;
    this.ports[slot] = port;
    if (k < 0) this.v6Hosts.set(slot, host);
    // sift up
    let i = this.size++;
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(heap[parent], slot)) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = slot;
  }

  /** The smallest candidate's slot, or -1. */
  peek(): number {
    return this.size > 0 ? this.heap[0] : -1;
  }

  idOf(slot: number): Uint8Array {
    return this.ids.subarray(slot * 20, slot * 20 + 20);
  }

  nodeOf(slot: number, family: Family): CrawlNode {
    const k = this.keys[slot];
    const id = this.ids.slice(slot * 20, slot * 20 + 20);
    if (k >= 0) {
      const ep = v4KeyToEndpoint(k);
      return { id, host: ep.host, port: ep.port, family: 4 };
    }
    return { id, host: this.v6Hosts.get(slot) ?? '', port: this.ports[slot], family };
  }

  /** Removes the smallest candidate; call nodeOf/idOf before (the slot is reused after). */
  pop(): void {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(heap[child + 1], heap[child])) child++;
      if (!this.less(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    if (n > 0) heap[i] = last;
    this.v6Hosts.delete(top);
    this.freeList.push(top);
  }

  private less(a: number, b: number): boolean {
    return compareIds(this.ids, a * 20, this.ids, b * 20) < 0;
  }

  private alloc(): number {
    const free = this.freeList.pop();
    if (free !== undefined) return free;
    if (this.used === this.keys.length) {
      const cap = this.keys.length * 2;
      const ids = new Uint8Array(cap * 20);
      ids.set(this.ids);
      this.ids = ids;
      const keys = new Float64Array(cap);
      keys.set(this.keys);
      this.keys = keys;
      const ports = new Uint16Array(cap);
      ports.set(this.ports);
      this.ports = ports;
      const heap = new Int32Array(cap);
      heap.set(this.heap);
      this.heap = heap;
    }
    return this.used++;
  }
}
