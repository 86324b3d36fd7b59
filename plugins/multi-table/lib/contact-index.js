// Contacts grouped by the top 12 bits of their id. Groups are visited in increasing XOR distance
// of that prefix (p ^ 0, p ^ 1, ...), so "the k closest to a target" reads only the groups it
// needs: every contact of a nearer group is closer than any contact of a farther one.
// (Each strategy package carries its own copy: a plugin has no dependencies.)

/** @import { CrawlNode } from 'bitscrape' */

const GROUP_BITS = 12;

/**
 * @typedef {object} Contact
 * @property {Uint8Array} id
 * @property {string} host
 * @property {number} port
 * @property {4 | 6} family
 */

/** @param {string} host @param {number} port */
export function endpointKey(host, port) {
  return `${host}|${port}`;
}

/** @param {Uint8Array} id */
function groupOf(id) {
  return (id[0] << 4) | (id[1] >> 4);
}

export class ContactIndex {
  /** @param {number} capacity contacts kept at most; adding to a full index is refused */
  constructor(capacity) {
    this.capacity = capacity;
    /** @type {Map<string, Contact>} */
    this.byKey = new Map();
    /** @type {(Contact[] | undefined)[]} */
    this.groups = new Array(1 << GROUP_BITS);
  }

  get size() {
    return this.byKey.size;
  }

  /** Rough heap estimate: a Map entry, the key text, the contact and its id. */
  get bytes() {
    return this.byKey.size * 190 + this.groups.length * 8;
  }

  /** @param {string} host @param {number} port */
  has(host, port) {
    return this.byKey.has(endpointKey(host, port));
  }

  /**
   * Adds a contact with a 20-byte id; an endpoint already present keeps its entry.
   * @param {CrawlNode} node
   * @returns {boolean} whether it was added
   */
  add(node) {
    const id = node.id;
    if (!id || id.length !== 20) return false;
    const key = endpointKey(node.host, node.port);
    if (this.byKey.has(key) || this.byKey.size >= this.capacity) return false;
    /** @type {Contact} */
    const c = { id: Uint8Array.from(id), host: node.host, port: node.port, family: node.family };
    this.byKey.set(key, c);
    const g = groupOf(c.id);
    (this.groups[g] ??= []).push(c);
    return true;
  }

  /** @param {string} host @param {number} port */
  remove(host, port) {
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

  /**
   * The `count` contacts closest to target (XOR), closest first.
   * @param {Uint8Array} target
   * @param {number} count
   * @param {(a: Uint8Array, b: Uint8Array, target: Uint8Array) => number} compare
   * @param {(c: Contact) => boolean} [accept]
   * @returns {Contact[]}
   */
  closest(target, count, compare, accept) {
    /** @type {Contact[]} */
    const out = [];
    const p = groupOf(target);
    for (let d = 0; d < this.groups.length && out.length < count; d++) {
      const list = this.groups[p ^ d];
      if (!list) continue;
      for (const c of list) if (!accept || accept(c)) out.push(c);
    }
    out.sort((a, b) => compare(a.id, b.id, target));
    if (out.length > count) out.length = count;
    return out;
  }

  /** @returns {IterableIterator<Contact>} */
  values() {
    return this.byKey.values();
  }
}
