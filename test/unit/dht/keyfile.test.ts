import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyFromSeed, sign, verify } from '../../../src/core/dht/item-rules.js';
import { generateKeyFile, KeyFileError, readKeyFile } from '../../../src/core/dht/keyfile.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitscrape-keyfile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
let n = 0;
const fresh = () => join(dir, `key${n++}.json`);

async function readError(path: string): Promise<KeyFileError> {
  const err = await readKeyFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeyFileError);
  const e = err as KeyFileError;
  expect(e.message).not.toContain('\n');
  return e;
}

describe('generateKeyFile', () => {
  it('writes a 0600 JSON key whose seed derives its public key', async () => {
    const path = fresh();
    const pair = await generateKeyFile(path);
    expect(pair.seed.length).toBe(32);
    expect(hex(publicKeyFromSeed(pair.seed))).toBe(hex(pair.publicKey));
    const json = JSON.parse(await readFile(path, 'utf8'));
    expect(json).toEqual({ type: 'ed25519', seed: hex(pair.seed), public_key: hex(pair.publicKey) });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const sig = sign(pair.seed, Buffer.from('x'));
    expect(verify(pair.publicKey, Buffer.from('x'), sig)).toBe(true);
  });
  it('makes a different key every time', async () => {
    const a = await generateKeyFile(fresh());
    const b = await generateKeyFile(fresh());
    expect(hex(a.seed)).not.toBe(hex(b.seed));
  });
  it('never overwrites an existing file, and leaves no temp file behind', async () => {
    const path = fresh();
    await writeFile(path, 'precious');
    const before = (await readdir(dir)).sort();
    await expect(generateKeyFile(path)).rejects.toThrow(`key file ${path} already exists`);
    expect(await readFile(path, 'utf8')).toBe('precious');
    expect((await readdir(dir)).sort()).toEqual(before);
  });
  it('refuses a second generation onto its own key', async () => {
    const path = fresh();
    const first = await generateKeyFile(path);
    await expect(generateKeyFile(path)).rejects.toBeInstanceOf(KeyFileError);
    expect(hex((await readKeyFile(path)).seed)).toBe(hex(first.seed));
  });
  it('reports a missing directory as a one-line error', async () => {
    await expect(generateKeyFile(join(dir, 'nope', 'key.json'))).rejects.toThrow(/^cannot write key file .*ENOENT$/);
  });
});

describe('readKeyFile', () => {
  it('reads back what generateKeyFile wrote', async () => {
    const path = fresh();
    const pair = await generateKeyFile(path);
    const read = await readKeyFile(path);
    expect(hex(read.seed)).toBe(hex(pair.seed));
    expect(hex(read.publicKey)).toBe(hex(pair.publicKey));
  });
  it('accepts a file without public_key and derives it', async () => {
    const path = fresh();
    // RFC 8032 §7.1 TEST 1
    await writeFile(path, JSON.stringify({ seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60' }));
    expect(hex((await readKeyFile(path)).publicKey)).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
  });
  it('missing file', async () => {
    const path = join(dir, 'absent.json');
    expect((await readError(path)).message).toBe(`key file ${path} not found`);
  });
  it('not JSON', async () => {
    const path = fresh();
    await writeFile(path, '{"seed": ');
    expect((await readError(path)).message).toBe(`key file ${path} is not valid JSON`);
  });
  it('JSON that is not an object', async () => {
    const path = fresh();
    await writeFile(path, '[1,2]');
    expect((await readError(path)).message).toMatch(/not a JSON object/);
  });
  it('wrong key type', async () => {
    const path = fresh();
    await writeFile(path, JSON.stringify({ type: 'rsa', seed: '00'.repeat(32) }));
    expect((await readError(path)).message).toMatch(/unsupported key type 'rsa'/);
  });
  it('no seed', async () => {
    const path = fresh();
    await writeFile(path, JSON.stringify({ type: 'ed25519' }));
    expect((await readError(path)).message).toMatch(/has no "seed"/);
  });
  it('seed that is not hex', async () => {
    const path = fresh();
    await writeFile(path, JSON.stringify({ seed: 'zz'.repeat(32) }));
    expect((await readError(path)).message).toMatch(/seed must be a hex string/);
  });
  it('seed of the wrong length', async () => {
    const path = fresh();
    await writeFile(path, JSON.stringify({ seed: '00'.repeat(31) }));
    expect((await readError(path)).message).toMatch(/seed must be 32 bytes, got 31/);
  });
  it('64-byte expanded private key (BEP 44 test vector style)', async () => {
    const path = fresh();
    // The BEP 44 test vectors' private key: SHA-512-expanded, not a seed.
    const sk =
      'e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d' +
      'b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d';
    await writeFile(path, JSON.stringify({ private_key: sk, public_key: '77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548' }));
    expect((await readError(path)).message).toMatch(/64-byte expanded ed25519 keys .* cannot sign in Node; use a 32-byte seed/);
  });
  it('public_key of the wrong length', async () => {
    const path = fresh();
    await writeFile(path, JSON.stringify({ seed: '11'.repeat(32), public_key: '00'.repeat(33) }));
    expect((await readError(path)).message).toMatch(/public_key must be 32 bytes, got 33/);
  });
  it('public_key that does not belong to the seed', async () => {
    const path = fresh();
    const other = publicKeyFromSeed(new Uint8Array(32).fill(2));
    await writeFile(path, JSON.stringify({ type: 'ed25519', seed: '01'.repeat(32), public_key: hex(other) }));
    expect((await readError(path)).message).toBe(`key file ${path}: public_key does not belong to the seed`);
  });
});
