import { describe, expect, it } from 'vitest';
import { encode } from '../../../src/core/wire/bencode.js';
import {
  HANDSHAKE_LENGTH,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  encodeExtended,
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
  textOf,
} from '../../../src/core/wire/peer-wire.js';

const ih = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
const pid = Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i);
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The body of an extended message (after the length, id 20 and sub-id). */
function extBody(frame: Uint8Array): Uint8Array {
  const f = readFrame(frame);
  if (f.kind !== 'message') throw new Error('not a message');
  return f.payload.subarray(1);
}

describe('BEP 3 handshake', () => {
  it('round-trips with the extension bit', () => {
    const hs = encodeHandshake(ih, pid);
    expect(hs.length).toBe(HANDSHAKE_LENGTH);
    expect(hs[25] & 0x10).toBe(0x10);
    const r = parseHandshake(hs);
    expect(r.ok && r.value.extensions).toBe(true);
    expect(r.ok && Buffer.from(r.value.infohash).equals(Buffer.from(ih))).toBe(true);
    expect(r.ok && Buffer.from(r.value.peerId).equals(Buffer.from(pid))).toBe(true);
  });

  it('reads a peer without the extension bit', () => {
    const r = parseHandshake(encodeHandshake(ih, pid, { extensions: false, dht: true }));
    expect(r.ok && r.value.extensions).toBe(false);
    expect(r.ok && r.value.dht).toBe(true);
  });

  it('refuses a short handshake and another protocol', () => {
    expect(parseHandshake(encodeHandshake(ih, pid).subarray(0, 67)).ok).toBe(false);
    const other = encodeHandshake(ih, pid);
    other[5] = 0x78;
    expect(parseHandshake(other).ok).toBe(false);
    other[0] = 18;
    expect(parseHandshake(other).ok).toBe(false);
  });
});

describe('framing', () => {
  it('reads messages, keep-alives and partial input', () => {
    const buf = Buffer.concat([new Uint8Array(4), encodeMessage(5, latin1('abc')), encodeMessage(1)]);
    const a = readFrame(buf, 0);
    expect(a).toEqual({ kind: 'keepalive', end: 4 });
    const b = readFrame(buf, 4);
    expect(b.kind === 'message' && b.id === 5 && Buffer.from(b.payload).toString()).toBe('abc');
    const c = readFrame(buf, b.kind === 'message' ? b.end : 0);
    expect(c.kind === 'message' && c.id === 1 && c.payload.length === 0).toBe(true);
    expect(readFrame(buf.subarray(0, 3)).kind).toBe('partial');
    expect(readFrame(buf.subarray(4, 10)).kind).toBe('partial');
  });

  it('refuses an over-long length before the body arrives', () => {
    const f = readFrame(Uint8Array.from([0x7f, 0xff, 0xff, 0xff, 1]), 0, 1024);
    expect(f.kind).toBe('error');
    expect(f.kind === 'error' && f.error.code).toBe('too_long');
    expect(readFrame(Uint8Array.from([0xff, 0xff, 0xff, 0xff])).kind).toBe('error');
  });
});

describe('BEP 10 extension handshake', () => {
  it('round-trips m, metadata_size and v', () => {
    const r = parseExtendedHandshake(extBody(encodeExtendedHandshake({ utMetadata: 3, metadataSize: 40_000, client: 'libtorrent/2.0.8.0' })));
    expect(r).toEqual({ ok: true, value: { utMetadata: 3, metadataSize: 40_000, client: 'libtorrent/2.0.8.0' } });
  });

  it('reads a peer without ut_metadata or without metadata', () => {
    expect(parseExtendedHandshake(encode({ m: { ut_pex: 1 } }))).toEqual({ ok: true, value: { utMetadata: null, metadataSize: null, client: null } });
    expect(parseExtendedHandshake(encode({ m: { ut_metadata: 0 }, metadata_size: 5 }))).toMatchObject({ ok: true, value: { utMetadata: null } });
    expect(parseExtendedHandshake(encode({ m: { ut_metadata: 2 } }))).toMatchObject({ ok: true, value: { utMetadata: 2, metadataSize: null } });
  });

  it('refuses metadata_size 0, negative and above the cap', () => {
    for (const size of [0, -1, MAX_METADATA_SIZE + 1, 2 ** 40]) {
      const r = parseExtendedHandshake(encode({ m: { ut_metadata: 1 }, metadata_size: size }));
      expect(r.ok, String(size)).toBe(false);
    }
    expect(parseExtendedHandshake(encode({ m: { ut_metadata: 1 }, metadata_size: MAX_METADATA_SIZE })).ok).toBe(true);
  });

  it('refuses malformed handshakes', () => {
    for (const body of [latin1('d1:md11:ut_metadatai1eeex'), latin1('d1:md11:ut_metadatai1ee'), latin1('li1ee'), encode({ m: 5 }), encode({ m: { ut_metadata: 300 } }), encode({ m: {}, metadata_size: latin1('12') }), encode({ v: 5 }), latin1('d1:mde')]) {
      expect(parseExtendedHandshake(body).ok, Buffer.from(body).toString('latin1')).toBe(false);
    }
  });

  it('keeps a client name that is not UTF-8, escaped, and cuts long ones', () => {
    expect(parseExtendedHandshake(encode({ v: Uint8Array.from([0x41, 0xff, 0x42]) }))).toMatchObject({ ok: true, value: { client: 'A\\xffB' } });
    const r = parseExtendedHandshake(encode({ v: 'x'.repeat(1000) }));
    expect(r.ok && r.value.client?.length).toBe(64);
  });
});

describe('BEP 9 ut_metadata', () => {
  const size = 2 * METADATA_PIECE_LENGTH + 100;

  it('counts pieces', () => {
    expect(metadataPieces(1)).toBe(1);
    expect(metadataPieces(METADATA_PIECE_LENGTH)).toBe(1);
    expect(metadataPieces(size)).toBe(3);
    expect(metadataPieceLength(size, 2)).toBe(100);
  });

  it('round-trips request, reject and data', () => {
    expect(parseMetadataMessage(extBody(encodeMetadataRequest(2, 1)), size)).toEqual({ ok: true, value: { type: 'request', piece: 1 } });
    expect(parseMetadataMessage(extBody(encodeMetadataReject(2, 2)), size)).toEqual({ ok: true, value: { type: 'reject', piece: 2 } });
    const data = new Uint8Array(100).fill(7);
    const r = parseMetadataMessage(extBody(encodeMetadataData(2, 2, size, data)), size);
    expect(r.ok && r.value.type === 'data' && r.value.piece === 2 && Buffer.from(r.value.data).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses a piece out of range', () => {
    for (const piece of [-1, 3, 1000]) {
      expect(parseMetadataMessage(encode({ msg_type: 0, piece }), size).ok).toBe(false);
      expect(parseMetadataMessage(extBody(encodeMetadataData(1, piece, size, new Uint8Array(100))), size).ok).toBe(false);
    }
  });

  it('refuses data longer or shorter than the piece, and a wrong total_size', () => {
    expect(parseMetadataMessage(extBody(encodeMetadataData(1, 0, size, new Uint8Array(METADATA_PIECE_LENGTH - 1))), size).ok).toBe(false);
    expect(parseMetadataMessage(extBody(encodeMetadataData(1, 0, size, new Uint8Array(METADATA_PIECE_LENGTH + 1))), size).ok).toBe(false);
    expect(parseMetadataMessage(extBody(encodeMetadataData(1, 2, size, new Uint8Array(101))), size).ok).toBe(false);
    expect(parseMetadataMessage(extBody(encodeMetadataData(1, 2, size + 1, new Uint8Array(100))), size).ok).toBe(false);
    expect(parseMetadataMessage(extBody(encodeMetadataData(1, 0, size, new Uint8Array(METADATA_PIECE_LENGTH))), size).ok).toBe(true);
  });

  it('refuses malformed bencode, unknown types and bytes after a request', () => {
    const bodies = [
      latin1('d8:msg_typei0e5:piecei0e'),
      latin1('d8:msg_typei0e5:piecei00ee'),
      latin1('i0e'),
      encode({ msg_type: 7, piece: 0 }),
      encode({ msg_type: 0 }),
      encode({ piece: 0 }),
      encode({ msg_type: 1, piece: 0 }),
      Buffer.concat([encode({ msg_type: 0, piece: 0 }), latin1('xx')]),
      latin1(''),
    ];
    for (const b of bodies) expect(parseMetadataMessage(b, size).ok, Buffer.from(b).toString('latin1')).toBe(false);
  });

  it('wraps bodies as extended messages with the peer\'s id', () => {
    const f = readFrame(encodeExtended(9, latin1('de')));
    expect(f.kind === 'message' && f.id === 20 && f.payload[0]).toBe(9);
  });
});

describe('textOf', () => {
  it('decodes UTF-8 and escapes anything else', () => {
    expect(textOf(Buffer.from('Ünïcode ✓'))).toBe('Ünïcode ✓');
    expect(textOf(Uint8Array.from([0x63, 0x61, 0x66, 0xe9]))).toBe('caf\\xe9');
    expect(textOf(Uint8Array.from([0x5c, 0xe9]))).toBe('\\x5c\\xe9');
  });
});
