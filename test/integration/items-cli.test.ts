// `bitscrape put / get / keygen` as a user runs them, against a loopback network of bitscrape
// responders with item handlers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mutableTarget } from '../../src/core/dht/item-rules.js';
import { ndjson, runCli, tempHome } from '../support/cli.js';
import { startItemNetwork, type ItemTestNetwork } from './items-network.js';

const VECTOR_K = Buffer.from('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548', 'hex');
const VECTOR_SALT_SIG = Buffer.from(
  '6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08',
  'hex',
);

// Each CLI run starts node + tsx (several seconds on a busy machine); a test runs a handful.
vi.setConfig({ testTimeout: 150_000 });

let net: ItemTestNetwork;
let dht: string[];
beforeAll(async () => {
  net = await startItemNetwork(10);
  dht = ['--bootstrap', net.bootstrap, '--fresh', '--timeout', '1s'];
});
afterAll(async () => {
  await net?.close();
});

function oneLineError(stderr: string): void {
  expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('put / get immutable', () => {
  it('put "Hello World!" prints the BEP 44 target and get reads the value back as text', async () => {
    const human = await runCli(['put', 'Hello World!', ...dht]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^target +e5f96f6f38320f0f33959cb4d3d656452117aadb$/);

    const r = await runCli(['get', 'e5f96f6f38320f0f33959cb4d3d656452117aadb', ...dht, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = ndjson(r.stdout);
    expect(rec).toMatchObject({
      target: 'e5f96f6f38320f0f33959cb4d3d656452117aadb',
      found: true,
      kind: 'immutable',
      value: 'Hello World!',
      value_encoding: 'utf8',
      value_type: 'string',
      v_hex: Buffer.from('12:Hello World!').toString('hex'),
      holders: 8,
      bad_items: 0,
    });
    expect(rec.nodes_answered as number).toBeGreaterThanOrEqual(8);
  });

  it('binary values from a file come back as hex; dict values from --bencoded and stdin keep their bytes', async () => {
    const home = tempHome();
    const file = join(home, 'blob.bin');
    writeFileSync(file, Buffer.from([0xff, 0x00, 0xfe, 0x41]));
    const [blob, dict, stdin] = await Promise.all([
      runCli(['put', '--value-file', file, ...dht, '--json']),
      runCli(['put', '--bencoded', 'd3:agei42e4:name3:bobe', ...dht, '--json']),
      runCli(['put', '-', ...dht, '--json'], { input: 'from stdin' }),
    ]);
    for (const r of [blob, dict, stdin]) expect(r.code, r.stderr).toBe(0);
    const [gotBlob, gotDict, gotStdin] = await Promise.all(
      [blob, dict, stdin].map((r) => runCli(['get', String(ndjson(r.stdout)[0].target), ...dht, '--json'])),
    );
    expect(ndjson(gotBlob.stdout)[0]).toMatchObject({ value: 'ff00fe41', value_encoding: 'hex', value_type: 'string' });
    // A dict is shown as its (canonical) bencoding.
    expect(ndjson(dict.stdout)[0].stored).toBe(8);
    expect(ndjson(gotDict.stdout)[0]).toMatchObject({ value: 'd3:agei42e4:name3:bobe', value_encoding: 'utf8', value_type: 'bencoded' });
    expect(ndjson(gotStdin.stdout)[0]).toMatchObject({ value: 'from stdin', value_encoding: 'utf8' });
  });

  it('get of a target nobody stores exits 1 with one line', async () => {
    const r = await runCli(['get', '00'.repeat(20), ...dht]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no valid item found/);
  });
});

describe('put / get mutable', () => {
  it('keygen, put with a salt (seq 1 then 2), get by public key; a stale --cas is refused', async () => {
    const home = tempHome();
    const key = join(home, 'my.key');
    const kg = await runCli(['keygen', key, '--json']);
    expect(kg.code, kg.stderr).toBe(0);
    const { public_key: pk } = ndjson(kg.stdout)[0] as { public_key: string };
    expect(pk).toMatch(/^[0-9a-f]{64}$/);

    const first = await runCli(['put', '--key', key, '--salt', 'status', 'first', ...dht, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const r1 = ndjson(first.stdout)[0];
    expect(r1).toMatchObject({ kind: 'mutable', seq: 1, previous_seq: null, k: pk, salt: 'status', stored: 8 });
    expect(r1.target).toBe(Buffer.from(mutableTarget(Buffer.from(pk, 'hex'), Buffer.from('status'))).toString('hex'));

    const second = await runCli(['put', '--key', key, '--salt', 'status', 'second', ...dht, '--json']);
    expect(ndjson(second.stdout)[0]).toMatchObject({ seq: 2, previous_seq: 1, stored: 8 });

    const got = await runCli(['get', '--pubkey', pk, '--salt', 'status', ...dht, '--json']);
    expect(got.code, got.stderr).toBe(0);
    expect(ndjson(got.stdout)[0]).toMatchObject({ found: true, kind: 'mutable', seq: 2, value: 'second', k: pk, salt: 'status', holders: 8, bad_items: 0 });

    const cas = await runCli(['put', '--key', key, '--salt', 'status', '--cas', '1', 'third', ...dht, '--json']);
    expect(cas.code).toBe(1);
    expect(ndjson(cas.stdout)[0]).toMatchObject({ refused: 'cas_mismatch', current_seq: 2, stored: 0 });
    oneLineError(cas.stderr);
    expect(cas.stderr).toMatch(/cas mismatch: the DHT holds seq 2, not 1/);

    // Without the salt the target differs: nothing there.
    const noSalt = await runCli(['get', '--pubkey', pk, ...dht]);
    expect(noSalt.code).toBe(1);
  });

  it('reads and verifies the BEP 44 signed test vector (salt "foobar") through get --pubkey', async () => {
    const salt = Buffer.from('foobar');
    for (const n of net.nodes.slice(0, 8)) {
      const ok = n.store.putMutable({ k: VECTOR_K, salt, seq: 1n, sig: VECTOR_SALT_SIG, vRaw: Buffer.from('12:Hello World!') });
      expect(ok.ok).toBe(true);
    }
    const r = await runCli(['get', '--pubkey', VECTOR_K.toString('hex'), '--salt', 'foobar', ...dht, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(ndjson(r.stdout)[0]).toMatchObject({
      target: '411eba73b6f087ca51a3795d9c8c938d365e32c1',
      seq: 1,
      sig: VECTOR_SALT_SIG.toString('hex'),
      value: 'Hello World!',
      bad_items: 0,
    });
  });
});

describe('bad input: one line, exit 2, no traffic needed', () => {
  it('rejects oversized and non-canonical values, existing and expanded key files', async () => {
    const home = tempHome();
    const key = join(home, 'k.key');
    const expanded = join(home, 'expanded.key');
    writeFileSync(expanded, JSON.stringify({ seed: 'ab'.repeat(64), public_key: VECTOR_K.toString('hex') }));
    await runCli(['keygen', key]);
    const runs = await Promise.all([
      runCli(['put', 'a'.repeat(997), ...dht]),
      runCli(['put', '--bencoded', 'd1:bi1e1:ai2ee', ...dht]),
      runCli(['keygen', key]),
      runCli(['put', '--key', expanded, 'x', ...dht]),
      runCli(['get', 'nothex', ...dht]),
    ]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      oneLineError(r.stderr);
    }
    expect(runs[0].stderr).toMatch(/1001 bytes bencoded; BEP 44 allows at most 1000/);
    expect(runs[1].stderr).toMatch(/canonical/);
    expect(runs[2].stderr).toMatch(/already exists/);
    expect(runs[3].stderr).toMatch(/64-byte expanded/);
    expect(runs[4].stderr).toMatch(/40 hex/);
  });
});
