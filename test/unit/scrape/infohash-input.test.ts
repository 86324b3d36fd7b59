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
    expect(errorOf(`magnet:?xt=urn:btih:${'z'.repeat(40)}`)).toMatch(/without a BitTorrent v1 infohash/);
    expect(errorOf(`magnet:?xt=urn:btmh:1220${'a'.repeat(64)}`)).toMatch(/v1 infohash/);
    expect(errorOf(`magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`)).toMatch(/unreadable magnet link/);
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
    expect(e.length).toBeLessThan(150);
  });
});
