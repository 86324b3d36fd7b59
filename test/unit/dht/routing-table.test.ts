import { describe, expect, it } from 'vitest';
import { commonPrefixBits, compareDistance, idToHex, randomId } from '../../../src/core/dht/node-id.js';
import { NodeFlag, RoutingTable, type RoutingEntry } from '../../../src/core/dht/routing-table.js';
import type { NodeInfo } from '../../../src/core/wire/types.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

const MIN = 60_000;
const OWN = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex'));

/** An id sharing exactly `bits` leading bits with `base` (bits < 160). */
function idAt(bits: number, base = OWN): Uint8Array {
  const id = randomId();
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) id[i] = base[i];
  const rest = bits & 7;
  const mask = (0xff << (8 - rest)) & 0xff;
  id[whole] = (base[whole] & mask) | (id[whole] & ~mask & 0xff);
  id[whole] = (id[whole] & ~(0x80 >> rest)) | (~base[whole] & (0x80 >> rest)); // flip bit `bits`
  return id;
}

let hostCounter = 0;
function node(id: Uint8Array, host?: string, port = 6881): NodeInfo {
  hostCounter++;
  return { id, host: host ?? `10.${(hostCounter >> 16) & 255}.${(hostCounter >> 8) & 255}.${hostCounter & 255}`, port, family: 4 };
}

function table(opts: Partial<ConstructorParameters<typeof RoutingTable>[0]> = {}): { t: RoutingTable; clock: VirtualClock } {
  const clock = new VirtualClock({ startMs: 1_000_000 });
  return { t: new RoutingTable({ id: OWN, clock, ...opts }), clock };
}

function checkInvariants(t: RoutingTable): void {
  const views = t.bucketViews();
  const seen = new Set<string>();
  views.forEach((b, i) => {
    expect(b.entries.length).toBeLessThanOrEqual(t.k);
    for (const e of [...b.entries, ...b.replacements]) {
      const cpl = commonPrefixBits(e.id, OWN);
      if (i < views.length - 1) expect(cpl).toBe(i);
      else expect(cpl).toBeGreaterThanOrEqual(i);
      const key = `${e.host}|${e.port}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      expect(t.getByEndpoint(e.host, e.port)).toBe(e);
    }
  });
  expect(t.size).toBe(views.reduce((n, b) => n + b.entries.length, 0));
}

describe('RoutingTable admission', () => {
  it('takes nodes that answered us into live buckets', () => {
    const { t } = table();
    const n = node(idAt(0));
    const r = t.onReply(n, NodeFlag.SUPPORTS_SAMPLE, { rttMs: 30, version: Uint8Array.of(76, 84, 1, 2) });
    expect(r.status).toBe('added');
    expect(t.size).toBe(1);
    const e = t.get(n.id)!;
    expect(e.flags).toBe(NodeFlag.SUPPORTS_SAMPLE | NodeFlag.VERIFIED);
    expect(e.rtt).toBe(30);
    expect(t.isLive(e)).toBe(true);
    expect(t.stateOf(e)).toBe('good');
    expect(t.onReply(n, 0, { rttMs: 60 }).status).toBe('updated');
    expect(e.rtt).toBe(40); // 2/3 old + 1/3 new
  });

  it('keeps query-only nodes in the replacement cache and asks for a ping', () => {
    const { t } = table();
    const n = node(idAt(3));
    const q = t.onQuery(n);
    expect(q.status).toBe('replacement');
    expect(q.needsPing.map((e) => idToHex(e.id))).toEqual([idToHex(n.id)]);
    expect(t.size).toBe(0);
    expect(t.get(n.id)!.flags & NodeFlag.VERIFIED).toBe(0);
    // The ping is answered: promoted.
    const r = t.onReply(n);
    expect(r.status).toBe('added');
    expect(t.size).toBe(1);
    checkInvariants(t);
  });

  it('rejects our own id, bad ports, bad ids and the wrong family', () => {
    const { t } = table({ family: 4 });
    expect(t.onReply(node(OWN)).reason).toBe('self');
    expect(t.onReply(node(idAt(1), undefined, 0)).reason).toBe('bad_port');
    expect(t.onReply(node(idAt(1), undefined, 70000)).reason).toBe('bad_port');
    expect(t.onReply({ ...node(idAt(1)), id: new Uint8Array(19) }).reason).toBe('bad_id');
    expect(t.onReply({ id: idAt(1), host: '2001:db8::1', port: 1, family: 6 }).reason).toBe('family');
    expect(t.size).toBe(0);
  });

  it('splits only the bucket that holds our id', () => {
    const { t } = table();
    // 8 far nodes fill bucket 0 while it is still the home bucket...
    for (let i = 0; i < 8; i++) expect(t.onReply(node(idAt(0))).status).toBe('added');
    // ...a close one splits it, and the far ones stay behind.
    expect(t.onReply(node(idAt(5))).status).toBe('added');
    expect(t.bucketCount).toBe(2);
    // Bucket 0 is no longer home: a ninth far node only gets a replacement slot.
    const extra = t.onReply(node(idAt(0)));
    expect(extra.status).toBe('replacement');
    expect(t.bucketCount).toBe(2);
    // Close nodes keep splitting the home bucket.
    for (let i = 0; i < 40; i++) t.onReply(node(idAt(1 + (i % 20))));
    expect(t.bucketCount).toBeGreaterThan(10);
    checkInvariants(t);
  });

  it('replaces a bad node in a full bucket, else reports questionable nodes to ping', () => {
    const { t, clock } = table();
    for (let i = 0; i < 8; i++) t.onReply(node(idAt(0)));
    t.onReply(node(idAt(9))); // split: bucket 0 is full and final
    const far = t.bucketViews()[0].entries.slice();
    expect(far.length).toBe(8);

    // All good: a newcomer waits in the cache; nothing to ping.
    const first = t.onReply(node(idAt(0)));
    expect(first.status).toBe('replacement');
    expect(first.needsPing).toEqual([]);

    // After 15 silent minutes they are questionable, least recently seen first.
    clock.advance(10 * MIN);
    t.onQuery(far[3]); // seen more recently
    clock.advance(6 * MIN);
    t.onReply(node(idAt(9))); // keep the home bucket fresh, irrelevant here
    const early = t.onReply(node(idAt(0)));
    expect(early.needsPing.length).toBe(7); // far[3] was heard from 6 min ago: still good
    expect(early.needsPing.map((e) => e.id)).not.toContain(far[3].id);
    clock.advance(10 * MIN);
    const second = t.onReply(node(idAt(0)));
    expect(second.status).toBe('replacement');
    expect(second.needsPing.length).toBe(8);
    expect(idToHex(second.needsPing[7].id)).toBe(idToHex(far[3].id)); // least recently seen first

    // Two timeouts make a node bad; the freshest verified replacement takes its place.
    expect(t.onTimeout(far[0]).removed).toBe(false);
    expect(t.stateOf(far[0])).toBe('questionable');
    const out = t.onTimeout(far[0]);
    expect(out.removed).toBe(true);
    expect(idToHex(out.promoted!.id)).toBe(idToHex(second.entry!.id));
    expect(t.get(far[0].id)).toBeUndefined();
    expect(t.bucketViews()[0].entries.length).toBe(8);
    checkInvariants(t);
  });

  it('lets a newcomer take the slot of a bad node directly', () => {
    const { t } = table({ replacementSize: 0 });
    for (let i = 0; i < 8; i++) t.onReply(node(idAt(0)));
    t.onReply(node(idAt(9)));
    const victim = t.bucketViews()[0].entries[2];
    t.onTimeout(victim);
    t.onTimeout(victim); // bad, but no replacement to promote: stays, marked by failures
    expect(t.stateOf(victim)).toBe('bad');
    expect(t.get(victim.id)).toBe(victim);
    const r = t.onReply(node(idAt(0)));
    expect(r.status).toBe('added');
    expect(r.evicted).toEqual([victim]);
    expect(t.get(victim.id)).toBeUndefined();
    checkInvariants(t);
  });

  it('lets a node that answered take the slot of a stale one (timed out since its last reply), the most failed first', () => {
    // No cache, so nothing waits to replace a failing node; two timeouts leave one stale, not bad.
    const { t } = table({ failureThreshold: 3, replacementSize: 0 });
    for (let i = 0; i < 8; i++) t.onReply(node(idAt(0)));
    t.onReply(node(idAt(9)));
    const [once, twice, , ...rest] = t.bucketViews()[0].entries.slice();
    expect(t.onTimeout(once).removed).toBe(false);
    expect(t.stateOf(once)).toBe('questionable'); // one timeout: not bad, but stale
    const first = t.onReply(node(idAt(0)));
    expect(first.status).toBe('added');
    expect(first.evicted).toEqual([once]);

    // Only stale entries give way: with every entry answering, a newcomer has no place.
    expect(t.onReply(node(idAt(0))).status).toBe('rejected');
    t.onTimeout(rest[0]);
    t.onTimeout(rest[1]);
    t.onTimeout(twice);
    t.onTimeout(twice);
    t.onReply(rest[0]); // answered again: no longer stale
    const second = t.onReply(node(idAt(0)));
    expect(second.evicted).toEqual([twice]);
    const third = t.onReply(node(idAt(0)));
    expect(third.evicted).toEqual([rest[1]]);
    expect(t.get(rest[0].id)).toBe(rest[0]);
    expect(t.onReply(node(idAt(0))).status).toBe('rejected');
    checkInvariants(t);
  });

  it('drops a failing node after many timeouts even without a replacement', () => {
    const { t } = table({ dropAfterFailures: 5 });
    const n = node(idAt(0));
    t.onReply(n);
    for (let i = 0; i < 4; i++) expect(t.onTimeout(n).removed).toBe(false);
    expect(t.onTimeout(n).removed).toBe(true);
    expect(t.size).toBe(0);
  });

  it('a reply resets failures', () => {
    const { t } = table();
    const n = node(idAt(0));
    t.onReply(n);
    t.onTimeout(n);
    expect(t.stateOf(t.get(n.id)!)).toBe('questionable');
    t.onReply(n);
    expect(t.stateOf(t.get(n.id)!)).toBe('good');
  });

  it('ignores timeouts for an endpoint whose id differs', () => {
    const { t } = table();
    const n = node(idAt(0));
    t.onReply(n);
    expect(t.onTimeout({ host: n.host, port: n.port, id: idAt(1) })).toEqual({ removed: false });
    expect(t.get(n.id)!.failures).toBe(0);
  });

  it('drops unverified replacements on their first timeout', () => {
    const { t } = table();
    const n = node(idAt(0));
    t.onQuery(n);
    expect(t.onTimeout(n).removed).toBe(true);
    expect(t.get(n.id)).toBeUndefined();
    expect(t.getByEndpoint(n.host, n.port)).toBeUndefined();
  });

  it('keeps one entry per ip:port and evicts it when the id changes', () => {
    const { t } = table();
    const a = node(idAt(0), '10.0.0.1', 1000);
    t.onReply(a);
    const b = { ...a, id: idAt(0) };
    const r = t.onReply(b);
    expect(r.evicted.map((e) => idToHex(e.id))).toEqual([idToHex(a.id)]);
    expect(r.status).toBe('replacement'); // must answer again under its new id
    expect(t.get(a.id)).toBeUndefined();
    expect(t.size).toBe(0);
    expect(t.onReply(b).status).toBe('added');
    // Same host, other port is a different node on a loopback-style network.
    expect(t.onReply(node(idAt(0), '10.0.0.1', 1001)).status).toBe('added');
    checkInvariants(t);
  });

  it('allows one node per IP when asked to', () => {
    const { t } = table({ oneNodePerIp: true });
    expect(t.onReply(node(idAt(0), '203.0.113.1', 1000)).status).toBe('added');
    const r = t.onReply(node(idAt(0), '203.0.113.1', 1001));
    expect(r.status).toBe('rejected');
    expect(r.reason).toBe('ip_taken');
    expect(t.onQuery(node(idAt(2), '203.0.113.1', 1002)).reason).toBe('ip_taken');
    // Once removed, the IP is free again.
    t.remove({ host: '203.0.113.1', port: 1000 });
    expect(t.onReply(node(idAt(0), '203.0.113.1', 1001)).status).toBe('added');
  });

  it('refuses a healthy id seen at a second endpoint', () => {
    const { t } = table();
    const a = node(idAt(0));
    t.onReply(a);
    expect(t.onReply({ ...a, host: '10.9.9.9' }).reason).toBe('id_taken');
    t.markBad(a);
    expect(t.onReply({ ...a, host: '10.9.9.9' }).status).toBe('added');
    expect(t.get(a.id)!.host).toBe('10.9.9.9');
  });

  it('good, questionable and bad follow BEP 5', () => {
    const { t, clock } = table();
    const n = node(idAt(0));
    t.onReply(n);
    const e = t.get(n.id)!;
    clock.advance(14 * MIN);
    expect(t.stateOf(e)).toBe('good');
    clock.advance(2 * MIN);
    expect(t.stateOf(e)).toBe('questionable');
    t.onQuery(n); // replied once, queried us recently: good again
    expect(t.stateOf(e)).toBe('good');
    t.markBad(n);
    expect(t.stateOf(e)).toBe('bad');
    t.onReply(n);
    expect(t.stateOf(e)).toBe('bad'); // policy marks stick
    const s = t.stats();
    expect(s).toMatchObject({ nodes: 1, bad: 1, good: 0 });
  });

  it('removal swaps the last entry into the freed place', () => {
    const { t } = table();
    const ids = Array.from({ length: 5 }, () => node(idAt(0)));
    ids.forEach((n) => t.onReply(n));
    t.remove(ids[1]);
    const order = t.bucketViews()[0].entries.map((e) => idToHex(e.id));
    expect(order).toEqual([ids[0], ids[4], ids[2], ids[3]].map((n) => idToHex(n.id)));
  });

  it('promotes a verified replacement when a live node is removed', () => {
    const { t } = table();
    for (let i = 0; i < 8; i++) t.onReply(node(idAt(0)));
    t.onReply(node(idAt(9)));
    const waiting = node(idAt(0));
    t.onReply(waiting); // verified, but the bucket is full
    expect(t.isLive(t.get(waiting.id)!)).toBe(false);
    t.remove(t.bucketViews()[0].entries[0]);
    expect(t.isLive(t.get(waiting.id)!)).toBe(true);
  });

  it('bounds the replacement cache, preferring verified and fresh entries', () => {
    const { t, clock } = table({ replacementSize: 2 });
    for (let i = 0; i < 8; i++) t.onReply(node(idAt(0)));
    t.onReply(node(idAt(9)));
    const v1 = node(idAt(0));
    const v2 = node(idAt(0));
    t.onReply(v1);
    clock.advance(1000);
    t.onReply(v2);
    expect(t.onQuery(node(idAt(0))).reason).toBe('full'); // unverified loses to verified
    clock.advance(1000);
    const v3 = node(idAt(0));
    expect(t.onReply(v3).status).toBe('replacement'); // fresher verified replaces the oldest
    expect(t.get(v1.id)).toBeUndefined();
    expect(t.bucketViews()[0].replacements.length).toBe(2);
    checkInvariants(t);
  });
});

describe('RoutingTable.closest', () => {
  function filled(n: number): RoutingTable {
    const { t } = table();
    for (let i = 0; i < n; i++) {
      // A realistic spread: mostly random ids, some near our own.
      t.onReply(node(i % 3 === 0 ? idAt(Math.floor(Math.random() * 30)) : randomId()));
    }
    return t;
  }

  function bruteForce(t: RoutingTable, target: Uint8Array, count: number, filter?: (e: RoutingEntry) => boolean): string[] {
    return t
      .entries()
      .filter((e) => !filter || filter(e))
      .sort((a, b) => compareDistance(a.id, b.id, target))
      .slice(0, count)
      .map((e) => idToHex(e.id));
  }

  it('matches a full sort for random targets, counts and filters', () => {
    const t = filled(3000);
    checkInvariants(t);
    expect(t.size).toBeGreaterThan(100);
    const odd = (e: RoutingEntry): boolean => (e.id[19] & 1) === 1;
    for (let i = 0; i < 300; i++) {
      const target = i % 4 === 0 ? idAt(Math.floor(Math.random() * 25)) : i % 4 === 1 ? t.entries()[i % t.size].id : randomId();
      const count = [1, 8, 20, 500][i % 4];
      const filter = i % 5 === 0 ? odd : undefined;
      expect(t.closest(target, count, filter).map((e) => idToHex(e.id))).toEqual(bruteForce(t, target, count, filter));
    }
    expect(t.closest(randomId(), 0)).toEqual([]);
  });

  it('looks at a few buckets, not the whole table', () => {
    const t = filled(3000);
    let looked = 0;
    const counting = (): boolean => {
      looked++;
      return true;
    };
    // A target far from us: its bucket (0) is full, so nothing else needs a look.
    const target = idAt(0);
    expect(t.closest(target, 8, counting).length).toBe(8);
    expect(looked).toBe(8);
    looked = 0;
    t.closest(idAt(3), 8, counting);
    expect(looked).toBeLessThan(t.size / 2);
  });
});

describe('RoutingTable refresh', () => {
  it('lists buckets unchanged for 15 minutes, with a target inside each', () => {
    const { t, clock } = table();
    for (let i = 0; i < 60; i++) t.onReply(node(idAt(i % 12)));
    expect(t.staleBuckets()).toEqual([]);
    clock.advance(15 * MIN);
    const stale = t.staleBuckets();
    expect(stale.length).toBe(t.bucketCount);
    for (const s of stale) expect(t.bucketIndexOf(s.target)).toBe(s.index);
    // A reply from a bucket's node marks it changed; so does an explicit refresh.
    const member = t.bucketViews()[2].entries[0];
    t.onReply(member);
    t.markRefreshed(0);
    const indexes = t.staleBuckets().map((s) => s.index);
    expect(indexes).not.toContain(2);
    expect(indexes).not.toContain(0);
    expect(indexes).toContain(1);
  });
});
