import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { encode } from '../../../src/core/wire/bencode.js';
import {
  checkMutable,
  checkValue,
  isCanonicalValue,
  signMutableItem,
  checkSalt,
  checkSeq,
  checkValueSize,
  immutableTarget,
  MAX_SEQ,
  mutableTarget,
  publicKeyFromSeed,
  sign,
  signedBuffer,
  verify,
  verifyItem,
} from '../../../src/core/dht/item-rules.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

// BEP 44 test vectors (verify-only: their private key is a 64-byte expanded key).
const V = ascii('12:Hello World!');
const PK = fromHex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548');
const SALT = ascii('foobar');
const SIG_NO_SALT = fromHex(
  '305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01',
);
const SIG_SALT = fromHex(
  '6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08',
);

describe('BEP 44 targets', () => {
  it('immutable target is sha1 of the bencoded value', () => {
    expect(hex(immutableTarget(V))).toBe('e5f96f6f38320f0f33959cb4d3d656452117aadb');
  });
  it('mutable target without salt is sha1(k)', () => {
    expect(hex(mutableTarget(PK))).toBe('4a533d47ec9c7d95b1ad75f576cffc641853b750');
    expect(hex(mutableTarget(PK, new Uint8Array(0)))).toBe('4a533d47ec9c7d95b1ad75f576cffc641853b750');
  });
  it('mutable target with salt is sha1(k ‖ salt)', () => {
    expect(hex(mutableTarget(PK, SALT))).toBe('411eba73b6f087ca51a3795d9c8c938d365e32c1');
  });
});

describe('signed buffer', () => {
  it('omits the salt part when there is no salt', () => {
    expect(Buffer.from(signedBuffer(undefined, 1n, V)).toString('latin1')).toBe('3:seqi1e1:v12:Hello World!');
    expect(Buffer.from(signedBuffer(new Uint8Array(0), 1n, V)).toString('latin1')).toBe('3:seqi1e1:v12:Hello World!');
  });
  it('prefixes the salt as a bencoded key/value', () => {
    expect(Buffer.from(signedBuffer(SALT, 1n, V)).toString('latin1')).toBe('4:salt6:foobar3:seqi1e1:v12:Hello World!');
  });
  it('writes large seq values exactly', () => {
    expect(Buffer.from(signedBuffer(undefined, MAX_SEQ, V)).toString('latin1')).toBe(
      '3:seqi9223372036854775807e1:v12:Hello World!',
    );
  });
  it('keeps binary salt bytes as they are', () => {
    const salt = new Uint8Array([0, 0xff, 0x80]);
    const buf = signedBuffer(salt, 0n, V);
    expect(Array.from(buf.subarray(0, 11))).toEqual([...ascii('4:salt3:'), 0, 0xff, 0x80]);
  });
});

describe('signatures', () => {
  it('verifies the BEP 44 vector without salt', () => {
    expect(verify(PK, signedBuffer(undefined, 1n, V), SIG_NO_SALT)).toBe(true);
  });
  it('verifies the BEP 44 vector with salt', () => {
    expect(verify(PK, signedBuffer(SALT, 1n, V), SIG_SALT)).toBe(true);
  });
  it('rejects a vector signature over other bytes', () => {
    expect(verify(PK, signedBuffer(undefined, 2n, V), SIG_NO_SALT)).toBe(false);
    expect(verify(PK, signedBuffer(SALT, 1n, V), SIG_NO_SALT)).toBe(false);
  });
  it('rejects wrong lengths and junk keys without throwing', () => {
    const buf = signedBuffer(undefined, 1n, V);
    expect(verify(PK.subarray(1), buf, SIG_NO_SALT)).toBe(false);
    expect(verify(PK, buf, SIG_NO_SALT.subarray(1))).toBe(false);
    // Not a valid curve point: import fails, which must read as "bad signature".
    expect(verify(new Uint8Array(32).fill(0xff), buf, SIG_NO_SALT)).toBe(false);
  });
  it('signs with a 32-byte seed and verifies the round trip', () => {
    const seed = new Uint8Array(randomBytes(32));
    const pk = publicKeyFromSeed(seed);
    expect(pk.length).toBe(32);
    const buf = signedBuffer(SALT, 42n, V);
    const sig = sign(seed, buf);
    expect(sig.length).toBe(64);
    expect(verify(pk, buf, sig)).toBe(true);
    const tampered = sig.slice();
    tampered[0] ^= 1;
    expect(verify(pk, buf, tampered)).toBe(false);
    expect(verify(publicKeyFromSeed(new Uint8Array(randomBytes(32))), buf, sig)).toBe(false);
  });
  it('derives the RFC 8032 public key from a seed', () => {
    // RFC 8032 §7.1 TEST 1.
    const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    expect(hex(publicKeyFromSeed(seed))).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(hex(sign(seed, new Uint8Array(0)))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });
  it('refuses a 64-byte expanded key as a seed', () => {
    expect(() => sign(new Uint8Array(64), V)).toThrow(RangeError);
    expect(() => publicKeyFromSeed(new Uint8Array(64))).toThrow(RangeError);
  });
});

describe('limits', () => {
  it('v must be 1..1000 bytes (205)', () => {
    expect(checkValueSize(new Uint8Array(0))?.code).toBe(205);
    expect(checkValueSize(new Uint8Array(1001))).toEqual({ code: 205, message: 'message (v field) too big' });
    expect(checkValueSize(new Uint8Array(1000))).toBeUndefined();
    expect(checkValueSize(new Uint8Array(1))).toBeUndefined();
  });
  it('salt must be at most 64 bytes (207)', () => {
    expect(checkSalt(new Uint8Array(65))?.code).toBe(207);
    expect(checkSalt(new Uint8Array(64))).toBeUndefined();
    expect(checkSalt(undefined)).toBeUndefined();
  });
  it('seq must be 0..2^63-1 (203)', () => {
    expect(checkSeq(-1n)?.code).toBe(203);
    expect(checkSeq(MAX_SEQ + 1n)?.code).toBe(203);
    expect(checkSeq(0n)).toBeUndefined();
    expect(checkSeq(MAX_SEQ)).toBeUndefined();
  });
  it('checkMutable reports 206 for a bad signature', () => {
    expect(checkMutable({ vRaw: V, k: PK, seq: 1n, sig: SIG_NO_SALT })).toBeUndefined();
    expect(checkMutable({ vRaw: V, k: PK, seq: 1n, sig: SIG_SALT })?.code).toBe(206);
    expect(checkMutable({ vRaw: V, k: PK, sig: SIG_NO_SALT })?.code).toBe(203);
    expect(checkMutable({ vRaw: V, k: PK.subarray(2), seq: 1n, sig: SIG_NO_SALT })?.code).toBe(203);
  });
});

describe('verifyItem (reader side)', () => {
  const IMM = fromHex('e5f96f6f38320f0f33959cb4d3d656452117aadb');
  const MUT = fromHex('4a533d47ec9c7d95b1ad75f576cffc641853b750');
  const MUT_SALT = fromHex('411eba73b6f087ca51a3795d9c8c938d365e32c1');

  it('accepts the immutable vector and rejects a value that does not hash to the target', () => {
    expect(verifyItem(IMM, { vRaw: V })).toBeUndefined();
    expect(verifyItem(IMM, { vRaw: ascii('12:Hello World?') })?.code).toBe(203);
  });
  it('accepts the mutable vectors', () => {
    expect(verifyItem(MUT, { vRaw: V, k: PK, seq: 1n, sig: SIG_NO_SALT })).toBeUndefined();
    expect(verifyItem(MUT_SALT, { vRaw: V, k: PK, salt: SALT, seq: 1n, sig: SIG_SALT })).toBeUndefined();
  });
  it('rejects a mutable item under the wrong target, or with a bad signature', () => {
    expect(verifyItem(MUT, { vRaw: V, k: PK, salt: SALT, seq: 1n, sig: SIG_SALT })?.code).toBe(203);
    expect(verifyItem(MUT, { vRaw: V, k: PK, seq: 2n, sig: SIG_NO_SALT })?.code).toBe(206);
    expect(verifyItem(MUT, { vRaw: ascii('12:Hello World?'), k: PK, seq: 1n, sig: SIG_NO_SALT })?.code).toBe(206);
  });
});

describe('canonical values', () => {
  it('accepts canonical bencode of any type', () => {
    for (const v of ['12:Hello World!', 'i-5e', 'le', 'd1:ai1e1:bli2eee', '0:']) expect(isCanonicalValue(ascii(v))).toBe(true);
  });
  it('rejects unsorted or duplicate keys, padded numbers, junk and trailing bytes', () => {
    for (const v of ['d1:bi1e1:ai2ee', 'd1:ai1e1:ai2ee', 'i03e', '03:abc', 'i-0e', 'x', '1:ab', '1:a1:b', '']) {
      expect(isCanonicalValue(ascii(v)), v).toBe(false);
    }
  });
  it('checkValue reports size (205) before form (203)', () => {
    expect(checkValue(ascii('d1:bi1e1:ai2ee'))).toEqual({ code: 203, message: 'v is not canonical bencode' });
    expect(checkValue(new Uint8Array(1001))?.code).toBe(205);
    expect(checkValue(V)).toBeUndefined();
  });
});

describe('signMutableItem', () => {
  it('produces an item that readers accept under its target', () => {
    const seed = new Uint8Array(randomBytes(32));
    const vRaw = encode({ name: 'x', n: 3 });
    for (const salt of [undefined, new Uint8Array(0), SALT]) {
      const item = signMutableItem(seed, vRaw, 9n, salt);
      expect(hex(item.k)).toBe(hex(publicKeyFromSeed(seed)));
      expect(hex(item.target)).toBe(hex(mutableTarget(item.k, salt)));
      expect(item.salt === undefined).toBe(!salt || salt.length === 0);
      expect(verifyItem(item.target, item)).toBeUndefined();
    }
  });
  it('throws on values a storer would refuse', () => {
    const seed = new Uint8Array(32).fill(1);
    expect(() => signMutableItem(seed, new Uint8Array(1001), 1n)).toThrow(/too big/);
    expect(() => signMutableItem(seed, V, -1n)).toThrow(RangeError);
    expect(() => signMutableItem(seed, V, 1n, new Uint8Array(65))).toThrow(/salt/);
  });
});
