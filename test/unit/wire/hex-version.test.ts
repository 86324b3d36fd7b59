import { describe, expect, it } from 'vitest';
import { fromHex, idFromHex, toHex } from '../../../src/core/wire/hex.js';
import { decodeVersion } from '../../../src/core/wire/version.js';

describe('hex', () => {
  it('round-trips bytes as lowercase hex', () => {
    const b = Uint8Array.of(0, 1, 0xab, 0xff);
    expect(toHex(b)).toBe('0001abff');
    expect(fromHex('0001ABff')).toEqual(b);
    expect(toHex(new Uint8Array(0))).toBe('');
  });

  it('rejects odd lengths, non-hex chars and wrong sizes', () => {
    expect(fromHex('abc')).toBeNull();
    expect(fromHex('zz')).toBeNull();
    expect(fromHex('0x12')).toBeNull();
    expect(fromHex('ab', 2)).toBeNull();
  });

  it('parses ids from exactly 40 hex chars', () => {
    const hex = '4a533d47ec9c7d95b1ad75f576cffc641853b750';
    expect(toHex(idFromHex(hex)!)).toBe(hex);
    expect(idFromHex(hex.toUpperCase())).toEqual(idFromHex(hex));
    expect(idFromHex(hex.slice(2))).toBeNull();
    expect(idFromHex(hex + '00')).toBeNull();
    expect(idFromHex(hex.slice(1) + 'g')).toBeNull();
  });
});

describe('client version tag', () => {
  const tag = (...b: number[]) => Uint8Array.from(b);
  const L = (s: string) => [...s].map((c) => c.charCodeAt(0));

  it('reads libtorrent as major.minor.tiny', () => {
    expect(decodeVersion(tag(...L('LT'), 2, 0x08))).toEqual({ client: 'LT 2.0.8', name: 'libtorrent (Rasterbar)', hex: '4c540208' });
    expect(decodeVersion(tag(...L('LT'), 1, 0x2f)).client).toBe('LT 1.2.15');
  });

  it('reads other known clients as a 16-bit version number', () => {
    expect(decodeVersion(tag(...L('ml'), 0, 12))).toMatchObject({ client: 'ml 12', name: 'mldht' });
    expect(decodeVersion(tag(...L('UT'), 0x01, 0x02))).toMatchObject({ client: 'UT 258', name: 'µTorrent' });
    expect(decodeVersion(tag(...L('GR'), 0, 1)).name).toBe('GetRight');
    expect(decodeVersion(tag(...L('lt'), 0x0d, 0x60)).name).toBe('libTorrent (rakshasa)');
    expect(decodeVersion(tag(...L('TR'), 0, 4)).name).toBe('Transmission');
  });

  it('falls back to letters + hex for unknown codes and odd lengths', () => {
    expect(decodeVersion(tag(...L('XY'), 0x0a, 0x1b))).toEqual({ client: 'XY 0a1b', name: null, hex: '58590a1b' });
    expect(decodeVersion(tag(...L('LT'), 1))).toMatchObject({ client: 'LT 01', hex: '4c5401' });
    expect(decodeVersion(tag(...L('ZZ')))).toMatchObject({ client: 'ZZ', name: null });
  });

  it('gives no client for binary or missing tags', () => {
    expect(decodeVersion(tag(0, 1, 2, 3))).toEqual({ client: null, name: null, hex: '00010203' });
    expect(decodeVersion(tag(0x4c))).toEqual({ client: null, name: null, hex: '4c' });
    expect(decodeVersion(undefined)).toEqual({ client: null, name: null, hex: '' });
    expect(decodeVersion(new Uint8Array(0))).toEqual({ client: null, name: null, hex: '' });
  });
});
