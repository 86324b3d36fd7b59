import { SocketAddress, isIPv4, isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  decodeNodes,
  decodePeer,
  encodeNode,
  encodeNodes,
  encodePeer,
  formatIPv4,
  formatIPv6,
  parseIP,
  parseIPv4,
  parseIPv6,
} from '../../../src/core/wire/compact.js';
import { fromHex, toHex } from '../../../src/core/wire/hex.js';
import type { NodeInfo } from '../../../src/core/wire/types.js';

// Deterministic PRNG for the randomized comparisons against Node's own formatter.
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** What Node reports for a socket address (libuv inet_ntop). */
function nodeForm(text: string): string {
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

describe('IP text forms', () => {
  it('formats IPv4', () => {
    expect(formatIPv4(Uint8Array.of(1, 2, 3, 4))).toBe('1.2.3.4');
    expect(formatIPv4(Uint8Array.of(9, 255, 0, 10, 200), 1)).toBe('255.0.10.200');
  });

  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:DB8::0001', '2001:db8::1'],
    ['1:0:1:0:0:1:0:0', '1:0:1::1:0:0'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'], // a single zero group is not compressed
    ['0:2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], // IPv4-mapped keeps a dotted tail
    ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
    ['::1.2.3.4', '::1.2.3.4'], // IPv4-compatible too
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['::2', '::2'],
    ['::0.0.1.0', '::100'],
    ['fe80::1', 'fe80::1'],
  ])('parses %s and formats it as %s, like Node', (input, expected) => {
    const b = parseIPv6(input);
    expect(b).not.toBeNull();
    expect(formatIPv6(b!)).toBe(expected);
    expect(nodeForm(input)).toBe(expected);
  });

  it('formats random IPv6 addresses exactly as Node does', () => {
    const rnd = prng(42);
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(16);
      // Mostly zero groups, so runs of zeros and mapped forms come up often.
      for (let g = 0; g < 8; g++) {
        const r = rnd();
        const word = r < 0.5 ? 0 : r < 0.6 ? 0xffff : Math.floor(rnd() * 65536);
        b[2 * g] = word >> 8;
        b[2 * g + 1] = word & 0xff;
      }
      const ours = formatIPv6(b);
      expect(ours).toBe(nodeForm(ours));
      expect(toHex(parseIPv6(ours)!)).toBe(toHex(b));
    }
  });

  it.each([
    ['1.2.3.4', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['01.2.3.4', false],
    ['1.2.3.04', false],
    ['256.1.1.1', false],
    ['1.2.3', false],
    ['1.2.3.4.5', false],
    ['1..2.3', false],
    [' 1.2.3.4', false],
    ['1.2.3.4 ', false],
    ['1.2.3.0x4', false],
    ['', false],
  ])('parseIPv4(%j) accepts exactly what net.isIPv4 accepts', (input, valid) => {
    expect(isIPv4(input)).toBe(valid);
    expect(parseIPv4(input) !== null).toBe(valid);
  });

  it.each([
    '::',
    '::1',
    '1::',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '::ffff:1.2.3.4',
    'ABCD::ef',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    ':1::',
    '1::2:',
    '12345::',
    'g::',
    '1.2.3.4::',
    '::1.2.3',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '',
    ':',
  ])('parseIPv6(%j) agrees with net.isIPv6', (input) => {
    expect(parseIPv6(input) !== null).toBe(isIPv6(input));
  });

  it('rejects zone ids and brackets, which have no compact form', () => {
    expect(parseIPv6('fe80::1%eth0')).toBeNull();
    expect(parseIPv6('[::1]')).toBeNull();
  });

  it('parseIP picks the family from the text', () => {
    expect(parseIP('10.0.0.1')?.length).toBe(4);
    expect(parseIP('::1')?.length).toBe(16);
    expect(parseIP('example.com')).toBeNull();
  });
});

describe('compact peer info', () => {
  it('encodes and decodes IPv4 peers (6 bytes)', () => {
    const b = encodePeer({ host: '1.2.3.4', port: 6881, family: 4 });
    expect(toHex(b)).toBe('010203041ae1');
    expect(decodePeer(b)).toEqual({ host: '1.2.3.4', port: 6881, family: 4 });
  });

  it('encodes and decodes IPv6 peers (18 bytes)', () => {
    const b = encodePeer({ host: '2001:db8::1', port: 65535, family: 6 });
    expect(toHex(b)).toBe('20010db8000000000000000000000001ffff');
    expect(decodePeer(b)).toEqual({ host: '2001:db8::1', port: 65535, family: 6 });
  });

  it('decodes only 6 or 18 bytes', () => {
    expect(decodePeer(new Uint8Array(5))).toBeNull();
    expect(decodePeer(new Uint8Array(7))).toBeNull();
    expect(decodePeer(new Uint8Array(16))).toBeNull();
  });

  it('throws on our own bad data', () => {
    expect(() => encodePeer({ host: '1.2.3', port: 1, family: 4 })).toThrow(RangeError);
    expect(() => encodePeer({ host: '::1', port: 1, family: 4 })).toThrow(RangeError);
    expect(() => encodePeer({ host: '1.2.3.4', port: 65536, family: 4 })).toThrow(RangeError);
    expect(() => encodePeer({ host: '1.2.3.4', port: -1, family: 4 })).toThrow(RangeError);
  });
});

describe('compact node info', () => {
  const id = (n: number) => new Uint8Array(20).fill(n);

  it('encodes a node at 1.2.3.4:6881 as <id> 01020304 1ae1', () => {
    const b = encodeNode({ id: id(0xab), host: '1.2.3.4', port: 6881, family: 4 });
    expect(toHex(b)).toBe('ab'.repeat(20) + '010203041ae1');
  });

  it('round-trips lists of IPv4 (26) and IPv6 (38) nodes', () => {
    const v4: NodeInfo[] = [1, 2, 3].map((n) => ({ id: id(n), host: `10.0.0.${n}`, port: 1000 + n, family: 4 }));
    const b4 = encodeNodes(v4);
    expect(b4.length).toBe(78);
    expect(decodeNodes(b4, 4)).toEqual({ nodes: v4, ragged: false });

    const v6: NodeInfo[] = [1, 2].map((n) => ({ id: id(n), host: `2001:db8::${n}`, port: 2000 + n, family: 6 }));
    const b6 = encodeNodes(v6);
    expect(b6.length).toBe(76);
    expect(decodeNodes(b6, 6)).toEqual({ nodes: v6, ragged: false });
  });

  it('keeps whole records of a ragged list and says so', () => {
    const b = fromHex('11'.repeat(20) + '7f0000011ae1' + 'ffff')!;
    const res = decodeNodes(b, 4);
    expect(res.ragged).toBe(true);
    expect(res.nodes).toEqual([{ id: new Uint8Array(20).fill(0x11), host: '127.0.0.1', port: 6881, family: 4 }]);
    expect(decodeNodes(new Uint8Array(25), 4)).toEqual({ nodes: [], ragged: true });
  });

  it('refuses to mix families or encode a bad id', () => {
    expect(() =>
      encodeNodes([
        { id: id(1), host: '1.1.1.1', port: 1, family: 4 },
        { id: id(2), host: '::1', port: 1, family: 6 },
      ]),
    ).toThrow(RangeError);
    expect(() => encodeNodes([{ id: new Uint8Array(19), host: '1.1.1.1', port: 1, family: 4 }])).toThrow(RangeError);
    expect(encodeNodes([]).length).toBe(0);
  });
});
