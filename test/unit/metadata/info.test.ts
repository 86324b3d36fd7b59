import { describe, expect, it } from 'vitest';
import { decodeInfo } from '../../../src/core/metadata/info.js';
import { encode } from '../../../src/core/wire/bencode.js';
import type { BEncodable } from '../../../src/core/wire/types.js';

const pieces = (n: number) => new Uint8Array(20 * n);
const dec = (v: BEncodable) => decodeInfo(encode(v));

describe('decodeInfo', () => {
  it('reads a single-file v1 dictionary', () => {
    expect(dec({ name: 'a.iso', length: 40_000, 'piece length': 16384, pieces: pieces(3) })).toEqual({
      ok: true,
      value: { name: 'a.iso', files: [{ path: 'a.iso', length: 40_000 }], totalSize: 40_000, pieceLength: 16384, pieces: 3, private: false, version: 1 },
    });
  });

  it('reads a multi-file dictionary, preferring name.utf-8 and path.utf-8, skipping pad files', () => {
    const r = dec({
      name: Uint8Array.from([0x82, 0xa0]), // Shift-JIS
      'name.utf-8': 'あ',
      'piece length': 32768,
      pieces: pieces(1),
      private: 1,
      files: [
        { length: 10, path: ['x', 'y.txt'], 'path.utf-8': ['x', 'ÿ.txt'] },
        { length: 5, path: ['.pad', '5'], attr: 'p' },
        { length: 20, path: ['z.bin'] },
      ],
    });
    expect(r.ok && r.value).toMatchObject({
      name: 'あ',
      files: [
        { path: 'x/ÿ.txt', length: 10 },
        { path: 'z.bin', length: 20 },
      ],
      totalSize: 30,
      private: true,
    });
  });

  it('keeps names that are not UTF-8, escaped', () => {
    const r = dec({ name: Uint8Array.from([0x41, 0xe9]), 'piece length': 16384, pieces: pieces(1), files: [{ length: 1, path: [Uint8Array.from([0xff])] }] });
    expect(r.ok && r.value.name).toBe('A\\xe9');
    expect(r.ok && r.value.files[0].path).toBe('\\xff');
  });

  it('reads a v2-only file tree (BEP 52)', () => {
    const leaf = (length: number) => ({ '': { length, 'pieces root': new Uint8Array(32) } });
    const r = dec({
      name: 'v2',
      'meta version': 2,
      'piece length': 16384,
      'file tree': { docs: { 'a.txt': leaf(100), 'b.txt': leaf(40_000) }, 'c.bin': leaf(0) },
    });
    expect(r.ok && r.value).toEqual({
      name: 'v2',
      files: [
        { path: 'c.bin', length: 0 },
        { path: 'docs/a.txt', length: 100 },
        { path: 'docs/b.txt', length: 40_000 },
      ],
      totalSize: 40_100,
      pieceLength: 16384,
      pieces: 4, // per file: 0 + 1 + 3
      private: false,
      version: 2,
    });
  });

  it('reads a hybrid (v1 list and v2 tree)', () => {
    const r = dec({
      name: 'h',
      'meta version': 2,
      'piece length': 16384,
      pieces: pieces(1),
      length: 7,
      'file tree': { h: { '': { length: 7 } } },
    });
    expect(r.ok && r.value).toMatchObject({ version: 'hybrid', files: [{ path: 'h', length: 7 }], pieces: 1 });
  });

  it('refuses what it cannot read', () => {
    const bad: BEncodable[] = [
      { length: 1, 'piece length': 16384, pieces: pieces(1) }, // no name
      { name: 'x', length: 1, 'piece length': 0, pieces: pieces(1) },
      { name: 'x', length: -1, 'piece length': 16384, pieces: pieces(1) },
      { name: 'x', 'piece length': 16384, pieces: pieces(1) }, // neither files nor length
      { name: 'x', length: 1, 'piece length': 16384, pieces: new Uint8Array(19) },
      { name: 'x', files: [], 'piece length': 16384, pieces: pieces(1) },
      { name: 'x', files: [{ length: 1, path: [] }], 'piece length': 16384, pieces: pieces(1) },
      { name: 'x', files: [{ length: 1, path: [5] }], 'piece length': 16384, pieces: pieces(1) },
      { name: 'x', 'meta version': 3, 'piece length': 16384, 'file tree': {} },
      { name: 'x', 'meta version': 2, 'piece length': 16384 },
      { name: 'x', 'meta version': 2, 'piece length': 16384, 'file tree': { a: { '': { length: 'no' } } } },
      [1, 2],
    ];
    for (const b of bad) expect(dec(b).ok, JSON.stringify(b, (_k, v) => (v instanceof Uint8Array ? `<${v.length}>` : v))).toBe(false);
    expect(decodeInfo(new TextEncoder().encode('d4:name1:x')).ok).toBe(false);
  });
});
