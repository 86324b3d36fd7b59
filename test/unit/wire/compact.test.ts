import { describe, expect, it } from 'vitest';
import { decodeNodes, decodePeer, encodeNode, encodeNodes, encodePeer } from '../../../src/core/wire/compact.js';
import { fromHex, toHex } from '../../../src/core/wire/hex.js';
import type { NodeInfo } from '../../../src/core/wire/types.js';

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
