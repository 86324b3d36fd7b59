// Seeded mutation fuzzing of the peer-wire and ut_metadata parsers (and of the info-dictionary
// decoder). Valid handshakes, frames, extension handshakes, ut_metadata messages and info
// dictionaries are mutated (byte flips, bencode-significant bytes, truncations, insertions,
// deletions, duplications, splices, digit nudges); every result must parse without throwing,
// and whatever a parser accepts must keep the limits it promises:
//   - a handshake is accepted only with the exact protocol string, and reports the bytes it had;
//   - a frame never reaches past the input and never exceeds the length cap;
//   - an extension handshake's metadata_size is 1..8 MiB and its ut_metadata id 1..255;
//   - a ut_metadata message's piece is in range, a data message carries exactly the piece's
//     bytes and the announced total_size, a request/reject is nothing but its dictionary.
// FUZZ_ITERATIONS sets the number of mutated inputs (default 100000; `npm run fuzz` is the KRPC one).
import { describe, expect, it } from 'vitest';
import { decodeInfo } from '../../../src/core/metadata/info.js';
import { decode, encode } from '../../../src/core/wire/bencode.js';
import {
  HANDSHAKE_LENGTH,
  MAX_CLIENT_LENGTH,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataData,
  encodeMetadataReject,
  encodeMetadataRequest,
  metadataPieceLength,
  metadataPieces,
  parseExtendedHandshake,
  parseHandshake,
  parseMetadataMessage,
  readFrame,
} from '../../../src/core/wire/peer-wire.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x70656572);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = mulberry32(SEED);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
const pick = <T>(xs: ArrayLike<T>): T => xs[int(xs.length)];
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The body of a framed extended message (after length, id 20 and sub-id). */
const body = (frame: Uint8Array) => frame.subarray(6);

const SIZE = 2 * METADATA_PIECE_LENGTH + 1234;
const SIGNIFICANT = latin1('dlie:0123456789-');
const SNIPPETS = ['e', 'i0e', 'i-1e', 'i03e', '0:', '1:', '99999:', 'de', 'le', '8:msg_typei1e', '5:piecei3e', '10:total_sizei0e', '13:metadata_sizei0e', '1:md11:ut_metadatai0ee', 'i8388609e'].map(latin1);

function mutate(src: Uint8Array, all: Uint8Array[]): Uint8Array {
  let b: Uint8Array = src.slice();
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    const at = int(b.length + 1);
    switch (int(9)) {
      case 0:
        if (b.length > 0) b[int(b.length)] = int(256);
        break;
      case 1:
        if (b.length > 0) b[int(b.length)] = pick(SIGNIFICANT);
        break;
      case 2:
        b = b.subarray(0, int(b.length + 1));
        break;
      case 3:
        b = concat(b.subarray(0, at), bytes(1 + int(4)), b.subarray(at));
        break;
      case 4:
        b = concat(b.subarray(0, at), pick(SNIPPETS), b.subarray(at));
        break;
      case 5:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(8))));
        break;
      case 6: {
        const len = 1 + int(30);
        b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at));
        break;
      }
      case 7: {
        const other = pick(all);
        b = concat(b.subarray(0, at), other.subarray(int(other.length)));
        break;
      }
      case 8: {
        const digits: number[] = [];
        for (let i = 0; i < Math.min(b.length, 200); i++) if (b[i] >= 0x30 && b[i] <= 0x39) digits.push(i);
        if (digits.length > 0) {
          const i = pick(digits);
          b[i] = 0x30 + ((b[i] - 0x30 + (rand() < 0.5 ? 1 : 9)) % 10);
        }
        break;
      }
    }
  }
  return b;
}

function checkHandshake(b: Uint8Array): void {
  const r = parseHandshake(b);
  if (!r.ok) return;
  expect(b.length).toBeGreaterThanOrEqual(HANDSHAKE_LENGTH);
  expect(Buffer.from(b.subarray(0, 20)).toString('latin1')).toBe('\x13BitTorrent protocol');
  expect(Buffer.from(r.value.infohash).equals(Buffer.from(b.subarray(28, 48)))).toBe(true);
  expect(r.value.extensions).toBe((b[25] & 0x10) !== 0);
}

function checkFrames(b: Uint8Array): void {
  let off = 0;
  for (let n = 0; n < 1000; n++) {
    const f = readFrame(b, off, 1024);
    if (f.kind === 'partial' || f.kind === 'error') return;
    expect(f.end).toBeGreaterThan(off);
    expect(f.end).toBeLessThanOrEqual(b.length);
    if (f.kind === 'message') expect(f.payload.length).toBeLessThan(1024);
    off = f.end;
  }
}

function checkExtendedHandshake(b: Uint8Array): void {
  const r = parseExtendedHandshake(b);
  if (!r.ok) return;
  expect(decode(b, { maxDepth: 4, maxTokens: 512, maxStringLength: 4096 }).ok).toBe(true);
  const { metadataSize, utMetadata, client } = r.value;
  if (metadataSize !== null) expect(metadataSize >= 1 && metadataSize <= MAX_METADATA_SIZE).toBe(true);
  if (utMetadata !== null) expect(utMetadata >= 1 && utMetadata <= 255).toBe(true);
  if (client !== null) expect([...client].length).toBeLessThanOrEqual(MAX_CLIENT_LENGTH);
}

function checkMetadataMessage(b: Uint8Array, size: number): void {
  const r = parseMetadataMessage(b, size);
  if (!r.ok) return;
  const m = r.value;
  expect(m.piece >= 0 && m.piece < metadataPieces(size)).toBe(true);
  if (m.type === 'data') {
    expect(m.totalSize).toBe(size);
    expect(m.data.length).toBe(metadataPieceLength(size, m.piece));
    expect(m.data.buffer === b.buffer && m.data.byteOffset + m.data.length === b.byteOffset + b.length).toBe(true);
  } else {
    expect(decode(b).ok).toBe(true);
  }
}

describe(`peer-wire fuzz (${ITERATIONS} mutations, seed ${SEED})`, () => {
  const ih = bytes(20);
  const handshakes = [encodeHandshake(ih, bytes(20)), encodeHandshake(ih, bytes(20), { extensions: false, dht: true })];
  const extHandshakes = [
    body(encodeExtendedHandshake({ utMetadata: 3, metadataSize: SIZE, client: 'libtorrent/2.0.8.0' })),
    encode({ m: { ut_metadata: 2, ut_pex: 1, lt_donthave: 7 }, metadata_size: 88, p: 6881, reqq: 500, v: 'µTorrent 3.5', yourip: bytes(4) }),
    encode({ m: { ut_pex: 1 } }),
  ];
  const piece = (i: number) => bytes(metadataPieceLength(SIZE, i));
  const utMessages = [
    body(encodeMetadataRequest(1, 0)),
    body(encodeMetadataRequest(1, 2)),
    body(encodeMetadataReject(1, 1)),
    body(encodeMetadataData(1, 2, SIZE, piece(2))),
    body(encodeMetadataData(1, 0, SIZE, piece(0))),
  ];
  const frames = [concat(encodeMessage(5, bytes(4)), new Uint8Array(4), encodeMessage(20, concat(Uint8Array.of(1), utMessages[0]))), encodeMessage(1)];
  const all = [...handshakes, ...extHandshakes, ...utMessages, ...frames];

  it('every mutated input parses without throwing and within the promised limits', () => {
    let accepted = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const kind = i % 4;
      if (kind === 0) {
        const b = mutate(pick(handshakes), all);
        checkHandshake(b);
        checkFrames(b);
      } else if (kind === 1) {
        const b = mutate(pick(extHandshakes), all);
        checkExtendedHandshake(b);
        if (parseExtendedHandshake(b).ok) accepted++;
      } else if (kind === 2) {
        const b = mutate(pick(utMessages), all);
        checkMetadataMessage(b, SIZE);
        checkMetadataMessage(b, 88);
        if (parseMetadataMessage(b, SIZE).ok) accepted++;
      } else {
        checkFrames(mutate(pick(frames), all));
      }
    }
    // the mutations are not all rejections: the accepting paths were exercised too
    expect(accepted).toBeGreaterThan(ITERATIONS / 100);
  });

  it('the info-dictionary decoder never throws on mutated dictionaries', () => {
    const infos = [
      encode({ name: 'a', length: 5, 'piece length': 16384, pieces: bytes(20) }),
      encode({ name: 'dir', 'piece length': 16384, pieces: bytes(40), files: [{ length: 1, path: ['a', 'b'] }, { length: 2, path: ['c'], attr: 'p' }] }),
      encode({ name: 'v2', 'meta version': 2, 'piece length': 16384, 'file tree': { d: { f: { '': { length: 3, 'pieces root': bytes(32) } } } } }),
    ];
    const n = Math.max(1000, Math.floor(ITERATIONS / 5));
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const r = decodeInfo(mutate(pick(infos), infos));
      if (r.ok) {
        ok++;
        expect(r.value.totalSize).toBe(r.value.files.reduce((a, f) => a + f.length, 0));
        expect(r.value.pieceLength).toBeGreaterThan(0);
      }
    }
    expect(ok).toBeGreaterThan(0);
  });
});
