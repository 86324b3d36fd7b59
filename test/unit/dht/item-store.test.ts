import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';
import {
  immutableTarget,
  mutableTarget,
  publicKeyFromSeed,
  sign,
  signedBuffer,
} from '../../../src/core/dht/item-rules.js';
import { ItemStore, type MutablePut } from '../../../src/core/dht/item-store.js';

/** Virtual time well past zero, so that no timestamp in the store is 0. */
const storeClock = (): VirtualClock => new VirtualClock({ startMs: 1_000_000 });

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const HOUR = 60 * 60 * 1000;

/** A fresh signer and a helper building correctly signed puts. */
function signer(salt?: Uint8Array) {
  const seed = new Uint8Array(randomBytes(32));
  const k = publicKeyFromSeed(seed);
  const put = (seq: bigint, v: string, extra: Partial<MutablePut> = {}): MutablePut => {
    const vRaw = ascii(v);
    return { k, salt, seq, vRaw, sig: sign(seed, signedBuffer(salt, seq, vRaw)), ...extra };
  };
  return { k, target: mutableTarget(k, salt), put };
}

function str(v: string): string {
  return `${Buffer.byteLength(v)}:${v}`;
}

describe('ItemStore immutable items', () => {
  it('stores and returns an item under sha1(v)', () => {
    const store = new ItemStore(storeClock());
    const v = ascii('12:Hello World!');
    const t = immutableTarget(v);
    expect(store.putImmutable(t, v)).toEqual({ ok: true, value: 'stored' });
    expect(store.get(t)).toEqual({ kind: 'immutable', vRaw: v });
    expect(store.putImmutable(t, v)).toEqual({ ok: true, value: 'refreshed' });
    expect(store.size).toBe(1);
  });
  it('refuses a target that is not sha1(v) with 203', () => {
    const store = new ItemStore(storeClock());
    const res = store.putImmutable(immutableTarget(ascii('1:a')), ascii('1:b'));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.code).toBe(203);
    expect(store.size).toBe(0);
  });
  it('refuses an empty or oversized v with 205', () => {
    const store = new ItemStore(storeClock());
    const big = ascii(str('x'.repeat(997))); // '997:' + 997 = 1001 bytes
    expect(big.length).toBe(1001);
    const r1 = store.putImmutable(immutableTarget(big), big);
    expect(r1).toEqual({ ok: false, error: { code: 205, message: 'message (v field) too big' } });
    const empty = new Uint8Array(0);
    const r2 = store.putImmutable(immutableTarget(empty), empty);
    expect(!r2.ok && r2.error.code).toBe(205);
    const fits = ascii(str('x'.repeat(996)));
    expect(fits.length).toBe(1000);
    expect(store.putImmutable(immutableTarget(fits), fits).ok).toBe(true);
  });
  it('refuses non-canonical bencode with 203', () => {
    const store = new ItemStore(storeClock());
    const v = ascii('d1:bi1e1:ai2ee');
    const r = store.putImmutable(immutableTarget(v), v);
    expect(r).toEqual({ ok: false, error: { code: 203, message: 'v is not canonical bencode' } });
    const m = store.putMutable(signer().put(1n, 'i01e'));
    expect(!m.ok && m.error.code).toBe(203);
    expect(store.size).toBe(0);
  });
  it('returns nothing for an unknown target', () => {
    expect(new ItemStore(storeClock()).get(new Uint8Array(20))).toBeUndefined();
  });
});

describe('ItemStore mutable items', () => {
  it('stores a signed item and returns k, sig, seq and v', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    const p = s.put(1n, '3:one');
    expect(store.putMutable(p)).toEqual({ ok: true, value: 'stored' });
    expect(store.get(s.target)).toEqual({ kind: 'mutable', seq: 1n, vRaw: p.vRaw, k: s.k, sig: p.sig });
  });
  it('keeps salted items apart from unsalted ones of the same key', () => {
    const store = new ItemStore(storeClock());
    const seed = new Uint8Array(randomBytes(32));
    const k = publicKeyFromSeed(seed);
    const salt = ascii('foobar');
    const vRaw = ascii('1:x');
    const put = (sl: Uint8Array | undefined) => ({ k, salt: sl, seq: 5n, vRaw, sig: sign(seed, signedBuffer(sl, 5n, vRaw)) });
    expect(store.putMutable(put(undefined)).ok).toBe(true);
    expect(store.putMutable(put(salt)).ok).toBe(true);
    expect(store.size).toBe(2);
    expect(store.get(mutableTarget(k, salt))?.kind).toBe('mutable');
    expect(store.get(mutableTarget(k))?.kind).toBe('mutable');
  });
  it('206: refuses a bad signature, and a signature made for another salt', () => {
    const store = new ItemStore(storeClock());
    const s = signer(ascii('a'));
    const p = s.put(1n, '3:one');
    const tampered = p.sig.slice();
    tampered[10] ^= 0x40;
    expect(store.putMutable({ ...p, sig: tampered })).toEqual({
      ok: false,
      error: { code: 206, message: 'invalid signature' },
    });
    const r = store.putMutable({ ...p, salt: ascii('b') });
    expect(!r.ok && r.error.code).toBe(206);
    expect(store.size).toBe(0);
  });
  it('207: refuses a salt over 64 bytes', () => {
    const store = new ItemStore(storeClock());
    const r = store.putMutable(signer(new Uint8Array(65)).put(1n, '1:x'));
    expect(r).toEqual({ ok: false, error: { code: 207, message: 'salt (salt field) too big' } });
    expect(store.putMutable(signer(new Uint8Array(64).fill(7)).put(1n, '1:x')).ok).toBe(true);
  });
  it('205: refuses an oversized v', () => {
    const store = new ItemStore(storeClock());
    const r = store.putMutable(signer().put(1n, str('x'.repeat(997))));
    expect(!r.ok && r.error.code).toBe(205);
  });
  it('203: refuses a negative or over-int64 seq', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    expect(!store.putMutable(s.put(-1n, '1:x')).ok && 203).toBe(203);
    const r = store.putMutable(s.put(1n << 63n, '1:x'));
    expect(!r.ok && r.error.code).toBe(203);
    expect(store.putMutable(s.put((1n << 63n) - 1n, '1:x')).ok).toBe(true);
  });
  it('302: refuses an older seq and keeps the stored item', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    const newer = s.put(5n, '3:new');
    store.putMutable(newer);
    expect(store.putMutable(s.put(4n, '3:old'))).toEqual({
      ok: false,
      error: { code: 302, message: 'old sequence number' },
    });
    expect(store.get(s.target)).toMatchObject({ seq: 5n, vRaw: newer.vRaw });
  });
  it('accepts a newer seq and replaces the value', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    store.putMutable(s.put(1n, '3:one'));
    const two = s.put(2n, '3:two');
    expect(store.putMutable(two)).toEqual({ ok: true, value: 'stored' });
    expect(store.get(s.target)).toMatchObject({ seq: 2n, vRaw: two.vRaw, sig: two.sig });
    expect(store.size).toBe(1);
  });
  it('accepts an equal seq as a refresh and keeps the first value', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    const first = s.put(3n, '5:first');
    store.putMutable(first);
    expect(store.putMutable(s.put(3n, '5:other'))).toEqual({ ok: true, value: 'refreshed' });
    expect(store.get(s.target)).toMatchObject({ seq: 3n, vRaw: first.vRaw });
  });
  it('301: refuses a cas that differs from the stored seq, accepts a matching one', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    store.putMutable(s.put(7n, '1:a'));
    expect(store.putMutable(s.put(8n, '1:b', { cas: 6n }))).toEqual({
      ok: false,
      error: { code: 301, message: 'CAS mismatch' },
    });
    const ahead = store.putMutable(s.put(9n, '1:b', { cas: 8n }));
    expect(!ahead.ok && ahead.error.code).toBe(301);
    expect(store.get(s.target)).toMatchObject({ seq: 7n });
    expect(store.putMutable(s.put(8n, '1:b', { cas: 7n }))).toEqual({ ok: true, value: 'stored' });
    expect(store.get(s.target)).toMatchObject({ seq: 8n });
  });
  it('checks cas before seq (301 wins over 302)', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    store.putMutable(s.put(7n, '1:a'));
    const r = store.putMutable(s.put(6n, '1:b', { cas: 1n }));
    expect(!r.ok && r.error.code).toBe(301);
  });
  it('ignores cas when nothing is stored yet', () => {
    const store = new ItemStore(storeClock());
    expect(store.putMutable(signer().put(1n, '1:a', { cas: 99n })).ok).toBe(true);
  });
  it('get with a seq at or above the stored one omits v, k and sig', () => {
    const store = new ItemStore(storeClock());
    const s = signer();
    const p = s.put(10n, '1:a');
    store.putMutable(p);
    expect(store.get(s.target, 10n)).toEqual({ kind: 'mutable', seq: 10n });
    expect(store.get(s.target, 11n)).toEqual({ kind: 'mutable', seq: 10n });
    expect(store.get(s.target, 9n)).toEqual({ kind: 'mutable', seq: 10n, vRaw: p.vRaw, k: s.k, sig: p.sig });
  });
});

describe('ItemStore expiry and limits', () => {
  it('expires items 2 h after their last put, and a re-put renews them', () => {
    const clock = storeClock();
    const store = new ItemStore(clock);
    const a = ascii('1:a');
    const b = ascii('1:b');
    store.putImmutable(immutableTarget(a), a);
    store.putImmutable(immutableTarget(b), b);
    clock.advance(HOUR);
    store.putImmutable(immutableTarget(a), a); // refresh a only
    clock.advance(HOUR);
    expect(store.get(immutableTarget(b))).toBeUndefined();
    expect(store.get(immutableTarget(a))).toBeDefined();
    clock.advance(HOUR - 1);
    expect(store.get(immutableTarget(a))).toBeDefined();
    clock.advance(1);
    expect(store.get(immutableTarget(a))).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    expect(clock.pending + clock.fired).toBe(0); // expiry is checked on access, not by timers
  });
  it('a refresh by equal seq renews a mutable item', () => {
    const clock = storeClock();
    const store = new ItemStore(clock, { ttlMs: 1000 });
    const s = signer();
    store.putMutable(s.put(1n, '1:a'));
    clock.advance(900);
    store.putMutable(s.put(1n, '1:a'));
    clock.advance(900);
    expect(store.get(s.target)).toBeDefined();
  });
  it('an expired item no longer blocks an older seq', () => {
    const clock = storeClock();
    const store = new ItemStore(clock, { ttlMs: 1000 });
    const s = signer();
    store.putMutable(s.put(5n, '1:a'));
    clock.advance(1000);
    expect(store.putMutable(s.put(1n, '1:b')).ok).toBe(true);
  });
  it('evicts the least recently put item beyond maxItems', () => {
    const clock = storeClock();
    const store = new ItemStore(clock, { maxItems: 3 });
    const vals = ['1:a', '1:b', '1:c', '1:d'].map(ascii);
    for (const v of vals.slice(0, 3)) {
      store.putImmutable(immutableTarget(v), v);
      clock.advance(1);
    }
    store.putImmutable(immutableTarget(vals[0]), vals[0]); // a is now the newest
    store.putImmutable(immutableTarget(vals[3]), vals[3]);
    expect(store.size).toBe(3);
    expect(store.get(immutableTarget(vals[1]))).toBeUndefined();
    for (const i of [0, 2, 3]) expect(store.get(immutableTarget(vals[i]))).toBeDefined();
  });
  it('evicts oldest items beyond maxBytes and counts bytes exactly', () => {
    const store = new ItemStore(storeClock(), { maxBytes: 2500 });
    const v = (c: string) => ascii(str(c.repeat(996))); // 1000 bytes each
    store.putImmutable(immutableTarget(v('a')), v('a'));
    store.putImmutable(immutableTarget(v('b')), v('b'));
    expect(store.bytes).toBe(2000);
    store.putImmutable(immutableTarget(v('c')), v('c'));
    expect(store.bytes).toBe(2000);
    expect(store.get(immutableTarget(v('a')))).toBeUndefined();
    expect(store.get(immutableTarget(v('c')))).toBeDefined();
    const s = signer(ascii('salt'));
    store.putMutable(s.put(1n, '1:x')); // 3 + 32 + 64 + 4 = 103 bytes
    expect(store.bytes).toBe(2103);
    store.putMutable(s.put(2n, '3:xyz')); // replaced: 105 bytes
    expect(store.bytes).toBe(2105);
  });
  it('stays within the default item count under a flood of small puts', () => {
    const store = new ItemStore(storeClock());
    for (let i = 0; i < 1500; i++) {
      const v = ascii(`i${i}e`);
      store.putImmutable(immutableTarget(v), v);
    }
    expect(store.size).toBe(1000);
    expect(store.get(immutableTarget(ascii('i499e')))).toBeUndefined();
    expect(store.get(immutableTarget(ascii('i500e')))).toBeDefined();
  });
  it('stays within the default 1 MiB under a flood of large salted puts', () => {
    const store = new ItemStore(storeClock());
    const seed = new Uint8Array(randomBytes(32));
    const k = publicKeyFromSeed(seed);
    const vRaw = ascii(str('v'.repeat(900))); // 904 bytes; + k 32 + sig 64 + salt 64 = 1064
    for (let i = 0; i < 1100; i++) {
      const salt = ascii(`${i}`.padEnd(64, '-'));
      const r = store.putMutable({ k, salt, seq: 1n, vRaw, sig: sign(seed, signedBuffer(salt, 1n, vRaw)) });
      expect(r.ok).toBe(true);
    }
    expect(store.size).toBe(Math.floor((1024 * 1024) / 1064));
    expect(store.bytes).toBe(store.size * 1064);
  });
});
