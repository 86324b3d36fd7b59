import { describe, expect, it } from 'vitest';
import { parseInfohashInput } from '../../../src/cli/infohash-input.js';
import { toHex } from '../../../src/core/wire/hex.js';

const HEX = 'c9e15763f722f23e98a29decdfae341b98d53056';

function hexOf(text: string): string {
  const r = parseInfohashInput(text);
  if (!r.ok) throw new Error(`expected ok for ${text}: ${JSON.stringify(r)}`);
  return toHex(r.infohash);
}

function errorOf(text: string): string {
  const r = parseInfohashInput(text);
  if (r.ok || r.skip) throw new Error(`expected an error for ${text}`);
  return r.error;
}

describe('parseInfohashInput', () => {
  it('reads 40 hex digits in either case, trimmed', () => {
    expect(hexOf(HEX)).toBe(HEX);
    expect(hexOf(`  ${HEX.toUpperCase()}\t`)).toBe(HEX);
    const r = parseInfohashInput(HEX);
    expect(r.ok && r.infohash.length).toBe(20);
  });

  it('reads magnet links, hex and base32 forms', () => {
    expect(hexOf(`magnet:?xt=urn:btih:${HEX}&dn=debian&tr=udp%3A%2F%2Ftracker.example%3A6969`)).toBe(HEX);
    expect(hexOf(`magnet:?xt=urn:btih:${HEX.toUpperCase()}`)).toBe(HEX);
    // base32 of the same 20 bytes
    const base32 = 'ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW';
    expect(hexOf(`magnet:?xt=urn:btih:${base32}`)).toBe(HEX);
  });

  it('refuses magnet links without a v1 infohash or with garbage in its place', () => {
    expect(errorOf('magnet:?dn=nothing')).toMatch(/without a BitTorrent v1 infohash/);
    expect(errorOf(`magnet:?xt=urn:btih:${'z'.repeat(40)}`)).toMatch(/btih is not 40 hex digits or 32 base32/);
    expect(errorOf(`magnet:?xt=urn:btmh:1220${'a'.repeat(64)}`)).toMatch(/v1 infohash/);
  });

  // The btih value must be exactly 40 hex digits or exactly 32 base32 (RFC 4648) characters,
  // either case; nothing is cut, padded or reinterpreted.
  const BASE32 = 'ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW'; // the same 20 bytes as HEX
  const magnets: Array<[string, string, string | null]> = [
    ['40 hex', `magnet:?xt=urn:btih:${HEX}`, HEX],
    ['40 hex, upper case', `magnet:?xt=urn:btih:${HEX.toUpperCase()}`, HEX],
    ['32 base32', `magnet:?xt=urn:btih:${BASE32}`, HEX],
    ['32 base32, lower case', `magnet:?xt=urn:btih:${BASE32.toLowerCase()}`, HEX],
    ['upper-case scheme and urn', `MAGNET:?xt=URN:BTIH:${HEX}`, HEX],
    ['percent-encoded xt', `magnet:?xt=urn%3Abtih%3A${HEX}`, HEX],
    ['other parameters first', `magnet:?dn=debian&tr=udp%3A%2F%2Ft.example%3A6969&xt=urn:btih:${HEX}`, HEX],
    ['a broken escape in dn does not hide the infohash', `magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, HEX],
    ['hybrid v1 + v2 link', `magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1220${'a'.repeat(64)}`, HEX],
    ['the same btih twice (hex and base32)', `magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${BASE32}`, HEX],
    ['39 hex digits', `magnet:?xt=urn:btih:${HEX.slice(1)}`, null],
    ['41 hex digits', `magnet:?xt=urn:btih:${HEX}0`, null],
    ['39 hex digits of one letter', `magnet:?xt=urn:btih:${'a'.repeat(39)}`, null],
    ['31 base32 characters', `magnet:?xt=urn:btih:${BASE32.slice(1)}`, null],
    ['33 base32 characters', `magnet:?xt=urn:btih:${BASE32}A`, null],
    ['32 characters outside base32 (0, 1, 8, 9)', `magnet:?xt=urn:btih:${'0189'.repeat(8)}`, null],
    ['base32 with padding', `magnet:?xt=urn:btih:${BASE32}====`, null],
    ['40 characters with a non-hex one', `magnet:?xt=urn:btih:${HEX.slice(1)}g`, null],
    ['empty btih', 'magnet:?xt=urn:btih:', null],
    ['btih with a trailing encoded space', `magnet:?xt=urn:btih:${HEX}%20`, null],
    ['two different btih', `magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, null],
    ['no query part', `magnet:xt=urn:btih:${HEX}`, null],
  ];
  it.each(magnets)('magnet link: %s', (_name, uri, expected) => {
    const r = parseInfohashInput(uri);
    if (expected === null) {
      expect(r.ok, JSON.stringify(r)).toBe(false);
      expect(!r.ok && !r.skip && r.error.length).toBeGreaterThan(0);
    } else {
      expect(r.ok && toHex(r.infohash)).toBe(expected);
    }
  });

  it('reads NDJSON records with an infohash field (crawl --json output)', () => {
    expect(hexOf(JSON.stringify({ infohash: HEX, first_seen: '2024-01-01T00:00:00.000Z', source: '1.2.3.4:6881' }))).toBe(HEX);
  });

  it('skips NDJSON records without an infohash field, silently', () => {
    expect(parseInfohashInput('{"summary":{"infohashes":3}}')).toEqual({ ok: false, skip: true });
    expect(parseInfohashInput('{}')).toEqual({ ok: false, skip: true });
  });

  it('reports bad records and bad lines with a one-line reason', () => {
    expect(errorOf('{"infohash": "abc"}')).toMatch(/"infohash" field is not 40 hex digits/);
    expect(errorOf('{"infohash": 42}')).toMatch(/not 40 hex digits: 42/);
    expect(errorOf('{"infohash": null}')).toMatch(/not 40 hex digits: null/);
    expect(errorOf('{"infohash": ')).toMatch(/invalid JSON/);
    expect(errorOf('[1,2]')).toMatch(/not an infohash/);
    expect(errorOf(HEX.slice(1))).toMatch(/not an infohash \(40 hex digits\)/);
    expect(errorOf(`${HEX}0`)).toMatch(/not an infohash/);
    expect(errorOf('g'.repeat(40))).toMatch(/not an infohash/);
    expect(errorOf('')).toBe('empty input');
  });

  it('keeps error messages to one short line', () => {
    const e = errorOf(`nonsense\x00with\ncontrol ${'x'.repeat(500)}`);
    expect(e).not.toMatch(/[\n\x00]/);
    expect(e.length).toBeLessThan(200); // a 64-character prefix, escapes, the length
  });
});
