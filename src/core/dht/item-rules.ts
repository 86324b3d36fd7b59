// BEP 44 (arbitrary data in the DHT): targets, the signed byte string, ed25519 signing and the
// limits a storer enforces. Pure apart from node:crypto; values are handled as their raw
// bencoded bytes, because hashing and signing are defined over those exact bytes.

import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { decode, encode } from '../wire/bencode.js';
import { KRPC_ERRORS } from '../wire/types.js';

/** A BEP 44 error as a storer answers it (KRPC error code + message). */
export interface Bep44Error {
  code: number;
  message: string;
}

export const MAX_VALUE_BYTES = 1000;
export const MAX_SALT_BYTES = 64;
export const MAX_SEQ = (1n << 63n) - 1n;
export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;
const SIGNATURE_BYTES = 64;

// DER headers that wrap a raw 32-byte ed25519 key so node:crypto can import it.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Target of an immutable item: sha1 of the bencoded value. */
export function immutableTarget(vBencoded: Uint8Array): Uint8Array {
  return sha1(vBencoded);
}

/** Target of a mutable item: sha1(public key ‖ salt); an empty salt is the same as none. */
export function mutableTarget(publicKey: Uint8Array, salt?: Uint8Array): Uint8Array {
  return salt && salt.length > 0 ? sha1(publicKey, salt) : sha1(publicKey);
}

/** The bytes a mutable item's signature covers: `[4:salt<len>:<salt>]3:seqi<seq>e1:v<v>`. */
export function signedBuffer(salt: Uint8Array | undefined, seq: bigint, vBencoded: Uint8Array): Uint8Array {
  const ascii = (s: string) => Buffer.from(s, 'latin1');
  const parts: Uint8Array[] = [];
  if (salt && salt.length > 0) parts.push(ascii(`4:salt${salt.length}:`), salt);
  parts.push(ascii(`3:seqi${seq}e1:v`), vBencoded);
  return new Uint8Array(Buffer.concat(parts));
}

// Importing a key costs an ASN.1 parse; a responder sees the same publishers again and again,
// so keep the KeyObjects. Bounded, because any peer can make us import a fresh key per put.
const KEY_CACHE_LIMIT = 1024;

class KeyCache {
  private readonly map = new Map<string, KeyObject>();
  get(raw: Uint8Array, make: () => KeyObject): KeyObject {
    const id = Buffer.from(raw).toString('hex');
    let key = this.map.get(id);
    if (!key) {
      key = make();
      if (this.map.size >= KEY_CACHE_LIMIT) this.map.delete(this.map.keys().next().value as string);
      this.map.set(id, key);
    }
    return key;
  }
}

const publicKeys = new KeyCache();
const privateKeys = new KeyCache();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return publicKeys.get(publicKey, () =>
    createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' }),
  );
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return privateKeys.get(seed, () =>
    createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' }),
  );
}

function requireSeed(seed: Uint8Array): void {
  if (seed.length !== SEED_BYTES) {
    throw new RangeError(`ed25519 seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  }
}

/** The 32-byte public key belonging to a 32-byte ed25519 seed. Throws RangeError on a wrong length. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  requireSeed(seed);
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
}

/** Signs `buffer` with a 32-byte seed (not a 64-byte expanded key). Throws RangeError on a wrong length. */
export function sign(seed: Uint8Array, buffer: Uint8Array): Uint8Array {
  requireSeed(seed);
  return new Uint8Array(edSign(null, buffer, privateKeyObject(seed)));
}

/** True when `sig` is a valid ed25519 signature of `buffer` by `publicKey`. Never throws. */
export function verify(publicKey: Uint8Array, buffer: Uint8Array, sig: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || sig.length !== SIGNATURE_BYTES) return false;
  try {
    return edVerify(null, buffer, publicKeyObject(publicKey), sig);
  } catch {
    // A key that is not a curve point fails to import: that is a bad signature, not a crash.
    return false;
  }
}

// ---- limits (undefined = fine) ----

export function checkValueSize(vBencoded: Uint8Array): Bep44Error | undefined {
  if (vBencoded.length < 1 || vBencoded.length > MAX_VALUE_BYTES) {
    return { code: KRPC_ERRORS.V_TOO_BIG, message: 'message (v field) too big' };
  }
  return undefined;
}

/**
 * True when `vBencoded` is one bencoded value in canonical form (sorted unique keys, no padded
 * numbers): the bytes are hashed and signed as they are, so a storer must be able to hand them
 * back unchanged to anyone who re-encodes them (libtorrent refuses such a put with 203).
 */
export function isCanonicalValue(vBencoded: Uint8Array): boolean {
  const decoded = decode(vBencoded);
  if (!decoded.ok) return false;
  return Buffer.from(encode(decoded.value)).equals(vBencoded);
}

/** Size (205) then canonical form (203) of a value about to be stored. */
export function checkValue(vBencoded: Uint8Array): Bep44Error | undefined {
  return (
    checkValueSize(vBencoded) ??
    (isCanonicalValue(vBencoded) ? undefined : { code: KRPC_ERRORS.PROTOCOL, message: 'v is not canonical bencode' })
  );
}

export function checkSalt(salt: Uint8Array | undefined): Bep44Error | undefined {
  if (salt && salt.length > MAX_SALT_BYTES) {
    return { code: KRPC_ERRORS.SALT_TOO_BIG, message: 'salt (salt field) too big' };
  }
  return undefined;
}

export function checkSeq(seq: bigint): Bep44Error | undefined {
  if (seq < 0n || seq > MAX_SEQ) {
    return { code: KRPC_ERRORS.PROTOCOL, message: 'invalid sequence number' };
  }
  return undefined;
}

function signatureError(): Bep44Error {
  return { code: KRPC_ERRORS.BAD_SIGNATURE, message: 'invalid signature' };
}

export function casMismatchError(): Bep44Error {
  return { code: KRPC_ERRORS.CAS_MISMATCH, message: 'CAS mismatch' };
}

export function seqTooOldError(): Bep44Error {
  return { code: KRPC_ERRORS.SEQ_TOO_OLD, message: 'old sequence number' };
}

/** An item as carried in a get response or a put query; `k` present = mutable. */
export interface Bep44Item {
  vRaw: Uint8Array;
  k?: Uint8Array;
  salt?: Uint8Array;
  seq?: bigint;
  sig?: Uint8Array;
}

/**
 * Checks a mutable item's shape, limits and signature (everything but the target).
 * Order follows libtorrent's put handler: 205, 207, 203 (seq / key lengths), 206.
 */
export function checkMutable(item: Bep44Item): Bep44Error | undefined {
  const { vRaw, k, salt, seq, sig } = item;
  const limits = checkValueSize(vRaw) ?? checkSalt(salt);
  if (limits) return limits;
  if (seq === undefined) return { code: KRPC_ERRORS.PROTOCOL, message: 'missing sequence number' };
  const bad = checkSeq(seq);
  if (bad) return bad;
  if (!k || k.length !== PUBLIC_KEY_BYTES) return { code: KRPC_ERRORS.PROTOCOL, message: 'invalid public key' };
  if (!sig || sig.length !== SIGNATURE_BYTES) return { code: KRPC_ERRORS.PROTOCOL, message: 'invalid signature length' };
  if (!verify(k, signedBuffer(salt, seq, vRaw), sig)) return signatureError();
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * What a reader checks on an item returned for `target`: immutable, sha1(v) == target;
 * mutable, sha1(k ‖ salt) == target plus a valid signature (and the storer limits).
 */
export function verifyItem(target: Uint8Array, item: Bep44Item): Bep44Error | undefined {
  if (item.k === undefined) {
    const size = checkValueSize(item.vRaw);
    if (size) return size;
    if (!sameBytes(immutableTarget(item.vRaw), target)) {
      return { code: KRPC_ERRORS.PROTOCOL, message: 'v does not hash to the target' };
    }
    return undefined;
  }
  // The hash is cheaper than the signature, so it goes first.
  if (item.k.length === PUBLIC_KEY_BYTES && !sameBytes(mutableTarget(item.k, item.salt), target)) {
    return { code: KRPC_ERRORS.PROTOCOL, message: 'k and salt do not hash to the target' };
  }
  return checkMutable(item);
}

/** A mutable item ready to put: its target, value bytes, key, seq, salt and signature. */
export interface SignedMutableItem {
  target: Uint8Array;
  vRaw: Uint8Array;
  k: Uint8Array;
  salt?: Uint8Array;
  seq: bigint;
  sig: Uint8Array;
}

/**
 * Signs a mutable item with a 32-byte seed. `vRaw` is the canonical bencoding of the value
 * (use `encode` from wire/bencode). Throws RangeError on a wrong seed length or a value, salt
 * or seq outside BEP 44's limits: that is a caller's mistake, not network input.
 */
export function signMutableItem(seed: Uint8Array, vRaw: Uint8Array, seq: bigint, salt?: Uint8Array): SignedMutableItem {
  const bad = checkValueSize(vRaw) ?? checkSalt(salt) ?? checkSeq(seq);
  if (bad) throw new RangeError(bad.message);
  const k = publicKeyFromSeed(seed);
  const sig = sign(seed, signedBuffer(salt, seq, vRaw));
  const useSalt = salt && salt.length > 0 ? salt : undefined;
  return { target: mutableTarget(k, useSalt), vRaw, k, ...(useSalt ? { salt: useSalt } : {}), seq, sig };
}
