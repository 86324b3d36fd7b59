// The JSON view of KRPC replies (`query`, `--raw`): known keys decoded, the rest generic.
import { describe, expect, it } from 'vitest';
import { ScrapeBloom } from '../../../src/core/dht/bloom.js';
import { decodeMessage, encodeResponse } from '../../../src/core/wire/krpc-codec.js';
import { encodeNodes, encodePeer } from '../../../src/core/wire/compact.js';
import { fromHex } from '../../../src/core/wire/hex.js';
import type { BDict, KrpcResponse } from '../../../src/core/wire/types.js';
import { replyToJson } from '../../../src/output/krpc-json.js';

const ID = 'a1'.repeat(20);
const N1 = '0b'.repeat(20);
const N2 = '7e'.repeat(20); // all printable bytes: must still come out as hex, not "~~~~"
const id = (hex: string): Uint8Array => fromHex(hex, 20)!;

/** The reply dictionary as `query` gets it: encoded, then decoded from the datagram. */
function body(r: Record<string, unknown>): BDict {
  const decoded = decodeMessage(encodeResponse(new Uint8Array([1, 2]), r as never));
  if (!decoded.ok) throw new Error(decoded.error.message);
  return (decoded.value as KrpcResponse).rawBody;
}

function hexStrings(v: unknown): string[] {
  return JSON.stringify(v).match(/"hex:[^"]*"/g) ?? [];
}

describe('replyToJson', () => {
  it('find_node: id and compact nodes decoded, no hex: left', () => {
    const r = body({
      id: id(ID),
      nodes: encodeNodes([
        { id: id(N1), host: '127.0.0.1', port: 6881, family: 4 },
        { id: id(N2), host: '10.1.2.3', port: 51413, family: 4 },
      ]),
      nodes6: encodeNodes([{ id: id(N1), host: '2001:db8::1', port: 6882, family: 6 }]),
    });
    const json = replyToJson(r);
    expect(json).toEqual({
      id: ID,
      nodes: [
        { id: N1, address: '127.0.0.1:6881' },
        { id: N2, address: '10.1.2.3:51413' },
      ],
      nodes6: [{ id: N1, address: '[2001:db8::1]:6882' }],
    });
    expect(hexStrings(json)).toEqual([]);
  });

  it('get_peers: token as hex, values as addresses, BEP 33 filters with their estimates', () => {
    const seeds = new ScrapeBloom();
    for (let i = 1; i <= 20; i++) seeds.insertIp(`10.0.0.${i}`);
    const peers = new ScrapeBloom();
    const full = new ScrapeBloom(new Uint8Array(256).fill(0xff));
    const json = replyToJson(
      body({
        id: id(ID),
        token: new Uint8Array([0xde, 0xad, 0x20, 0x41]),
        values: [encodePeer({ host: '127.0.0.1', port: 40123, family: 4 }), encodePeer({ host: '::1', port: 7, family: 6 }), new Uint8Array([1, 2, 3])],
        BFsd: seeds.bits,
        BFpe: peers.bits,
        BFse: full.bits,
      }),
    );
    expect(json.token).toBe('dead2041');
    expect(json.values).toEqual(['127.0.0.1:40123', '[::1]:7', 'hex:010203']);
    const bfsd = json.BFsd as { estimate: number; hex: string };
    expect(bfsd.estimate).toBeGreaterThan(18);
    expect(bfsd.estimate).toBeLessThan(22);
    expect(bfsd.estimate).toBe(Math.round(bfsd.estimate * 10) / 10);
    expect(bfsd.hex).toMatch(/^[0-9a-f]{512}$/);
    expect(json.BFpe).toMatchObject({ estimate: 0 });
    expect(json.BFse).toMatchObject({ estimate: null, saturated: true });
  });

  it('sample_infohashes: samples as 40-hex infohashes, integers as they are', () => {
    const samples = new Uint8Array(60);
    samples.set(id(N1), 0);
    samples.set(id(N2), 20);
    samples.set(id(ID), 40);
    const json = replyToJson(body({ id: id(ID), interval: 21600, num: 3, samples }));
    expect(json).toEqual({ id: ID, interval: 21600, num: 3, samples: [N1, N2, ID] });
  });

  it('keeps the generic form for unknown keys and for known keys of the wrong shape', () => {
    const json = replyToJson(
      body({
        id: id(ID),
        nodes: new Uint8Array(27), // ragged: not a whole number of 26-byte records
        samples: new Uint8Array([0xff]),
        ip: encodePeer({ host: '192.0.2.7', port: 6881, family: 4 }),
        k: new Uint8Array(32).fill(0xab),
        x: 'hello',
        y2: new Uint8Array([0, 1]),
        big: 2n ** 60n,
      }),
    );
    expect(json.nodes).toBe(`hex:${'00'.repeat(27)}`);
    expect(json.samples).toBe('hex:ff');
    expect(json.ip).toBe('192.0.2.7:6881');
    expect(json.k).toBe('ab'.repeat(32));
    expect(json.x).toBe('hello');
    expect(json.y2).toBe('hex:0001');
    expect(json.big).toBe(String(2n ** 60n));
  });
});
