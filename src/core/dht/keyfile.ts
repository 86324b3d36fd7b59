// The ed25519 key file used to sign BEP 44 mutable items:
//   {"type":"ed25519","seed":"<64 hex>","public_key":"<64 hex>"}, mode 0600.
// Errors are KeyFileError with a one-line message fit for a CLI.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { publicKeyFromSeed, PUBLIC_KEY_BYTES, SEED_BYTES } from './item-rules.js';
import { quote } from '../util/quote.js';

export interface Ed25519KeyPair {
  /** The 32-byte private seed (RFC 8032 form; what node:crypto signs with). */
  seed: Uint8Array;
  publicKey: Uint8Array;
}

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Creates a new key and writes it to `path`. Never overwrites: an existing file is an error.
 *
 * Atomicity: the JSON goes to a temp file in the same directory (created 'wx', mode 0600,
 * fsynced), which is then hard-linked to `path`. link() fails with EEXIST instead of replacing
 * (rename would silently overwrite), so the final name appears complete or not at all and an
 * existing key is never clobbered, even by a concurrent writer. On a file system without hard
 * links we fall back to creating `path` itself with 'wx': still never overwrites, and a torn
 * file from a crash would fail to parse rather than pass as a key.
 */
export async function generateKeyFile(path: string): Promise<Ed25519KeyPair> {
  const pair = generateKeyPair();
  const body = `${JSON.stringify({ type: 'ed25519', seed: toHex(pair.seed), public_key: toHex(pair.publicKey) }, null, 2)}\n`;
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeNew(temp, body);
  } catch (err) {
    throw new KeyFileError(`cannot write key file ${path}: ${describe(err)}`);
  }
  try {
    await link(temp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new KeyFileError(`key file ${path} already exists`);
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EXDEV') {
      await writeNew(path, body).catch((e: unknown) => {
        throw (e as NodeJS.ErrnoException).code === 'EEXIST'
          ? new KeyFileError(`key file ${path} already exists`)
          : new KeyFileError(`cannot write key file ${path}: ${describe(e)}`);
      });
    } else {
      throw new KeyFileError(`cannot write key file ${path}: ${describe(err)}`);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return pair;
}

/** Reads and checks a key file: lengths, hex, and that the seed derives the stored public key. */
export async function readKeyFile(path: string): Promise<Ed25519KeyPair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyFileError(`key file ${path} not found`);
    throw new KeyFileError(`cannot read key file ${path}: ${describe(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyFileError(`key file ${path} is not valid JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new KeyFileError(`key file ${path} is not a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  if (obj.type !== undefined && obj.type !== 'ed25519') {
    throw new KeyFileError(`key file ${path}: unsupported key type ${typeof obj.type === 'string' ? quote(obj.type) : typeof obj.type} (expected "ed25519")`);
  }
  // Also look under the names other tools use, to explain why their keys don't fit.
  const seedField = obj.seed ?? obj.private_key ?? obj.secret_key;
  if (seedField === undefined) throw new KeyFileError(`key file ${path} has no "seed"`);
  const seed = parseHex(path, 'seed', seedField);
  if (seed.length === 64) {
    throw new KeyFileError(
      `key file ${path}: 64-byte expanded ed25519 keys (BEP 44 test vectors, libtorrent) cannot sign in Node; use a 32-byte seed`,
    );
  }
  if (seed.length !== SEED_BYTES) {
    throw new KeyFileError(`key file ${path}: seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  }
  const derived = publicKeyFromSeed(seed);
  if (obj.public_key !== undefined) {
    const given = parseHex(path, 'public_key', obj.public_key);
    if (given.length !== PUBLIC_KEY_BYTES) {
      throw new KeyFileError(`key file ${path}: public_key must be ${PUBLIC_KEY_BYTES} bytes, got ${given.length}`);
    }
    if (!Buffer.from(given).equals(derived)) {
      throw new KeyFileError(`key file ${path}: public_key does not belong to the seed`);
    }
  }
  return { seed, publicKey: derived };
}

function generateKeyPair(): Ed25519KeyPair {
  // JWK is the one export that hands out the raw 32-byte seed (d) and public key (x).
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = new Uint8Array(Buffer.from(jwk.d as string, 'base64url'));
  const publicKey = new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
  return { seed, publicKey };
}

async function writeNew(path: string, body: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(body, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function parseHex(path: string, field: string, value: unknown): Uint8Array {
  if (typeof value !== 'string' || value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value)) {
    throw new KeyFileError(`key file ${path}: ${field} must be a hex string`);
  }
  return new Uint8Array(Buffer.from(value, 'hex'));
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? (e.message || String(err)).split('\n')[0];
}
