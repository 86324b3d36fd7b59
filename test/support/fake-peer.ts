// A scripted BitTorrent peer on 127.0.0.1 for the metadata fetcher's hostile cases: it serves an
// info dictionary over BEP 9/10 honestly, or misbehaves in one chosen way. Every socket it opens
// is closed by stop(); nothing it sends leaves loopback.
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { encode } from '../../src/core/wire/bencode.js';
import {
  HANDSHAKE_LENGTH,
  METADATA_PIECE_LENGTH,
  encodeExtended,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataData,
  encodeMetadataReject,
  metadataPieceLength,
  metadataPieces,
  readFrame,
} from '../../src/core/wire/peer-wire.js';

export type FakePeerMode =
  | 'honest'
  | 'size-zero' // metadata_size 0
  | 'size-over' // metadata_size above the 8 MiB cap
  | 'piece-out-of-range' // answers with a piece index past the end
  | 'short-data' // a piece one byte short
  | 'long-data' // a piece one byte long
  | 'hash-mismatch' // a well-formed dictionary of the right size that hashes to something else
  | 'reject'
  | 'silent' // accepts the connection, never sends a byte
  | 'trickle' // sends its handshake one byte at a time, slowly
  | 'bad-bencode' // malformed bencode in the ut_metadata data message
  | 'bad-ext-handshake' // malformed bencode in the extension handshake
  | 'other-infohash' // handshakes for another infohash
  | 'no-extensions' // no BEP 10 bit
  | 'no-ut-metadata'; // extension handshake without ut_metadata

/** The ut_metadata id this peer asks us to use. */
const PEER_UT_ID = 3;

export interface FakePeer {
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** ut_metadata requests received. */
  readonly requests: number;
  stop(): Promise<void>;
}

export async function startFakePeer(infohash: Uint8Array, info: Uint8Array, mode: FakePeerMode, opts: { trickleMs?: number } = {}): Promise<FakePeer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let requests = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'silent') return;
    const peerId = new Uint8Array(20).fill(0x46);
    if (mode === 'trickle') {
      const bytes = encodeHandshake(infohash, peerId);
      let i = 0;
      const t = setInterval(() => {
        if (i >= bytes.length || socket.destroyed) return clearInterval(t);
        socket.write(bytes.subarray(i, ++i));
      }, opts.trickleMs ?? 100);
      timers.add(t);
      return;
    }
    const ih = mode === 'other-infohash' ? infohash.map((b) => b ^ 0xff) : infohash;
    socket.write(encodeHandshake(ih, peerId, { extensions: mode !== 'no-extensions' }));
    const size = mode === 'size-zero' ? 0 : mode === 'size-over' ? 8 * 1024 * 1024 + 1 : info.length;
    if (mode === 'bad-ext-handshake') socket.write(encodeExtended(0, Buffer.from('d1:md11:ut_metadatai3ee13:metadata_sizei5')));
    else if (mode === 'no-ut-metadata') socket.write(encodeExtended(0, encode({ m: { ut_pex: 2 }, metadata_size: size })));
    else socket.write(encodeExtendedHandshake({ utMetadata: PEER_UT_ID, metadataSize: size, client: `fake/${mode}` }));
    // Something a real peer sends that the fetcher must skip: a bitfield.
    socket.write(encodeMessage(5, new Uint8Array(4)));

    let buf = Buffer.alloc(0);
    let handshaken = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!handshaken) {
        if (buf.length < HANDSHAKE_LENGTH) return;
        buf = buf.subarray(HANDSHAKE_LENGTH);
        handshaken = true;
      }
      for (;;) {
        const f = readFrame(buf);
        if (f.kind !== 'message' && f.kind !== 'keepalive') break;
        const end = f.end;
        if (f.kind === 'message' && f.id === 20 && f.payload[0] === PEER_UT_ID) {
          requests++;
          const piece = Number(/piecei(\d+)e/.exec(Buffer.from(f.payload.subarray(1)).toString('latin1'))?.[1] ?? 0);
          answer(socket, piece);
        }
        buf = buf.subarray(end);
      }
    });
  });

  const answer = (socket: Socket, piece: number): void => {
    const size = info.length;
    const at = piece * METADATA_PIECE_LENGTH;
    const data = info.subarray(at, at + metadataPieceLength(size, piece));
    switch (mode) {
      case 'reject':
        return void socket.write(encodeMetadataReject(1, piece));
      case 'piece-out-of-range':
        return void socket.write(encodeMetadataData(1, metadataPieces(size), size, data));
      case 'short-data':
        return void socket.write(encodeMetadataData(1, piece, size, data.subarray(0, data.length - 1)));
      case 'long-data':
        return void socket.write(encodeMetadataData(1, piece, size, Buffer.concat([data, Buffer.from('x')])));
      case 'hash-mismatch': {
        const other = Buffer.from(data);
        other[other.length - 2] ^= 0x01; // one bit off: the right size, another hash
        return void socket.write(encodeMetadataData(1, piece, size, other));
      }
      case 'bad-bencode': {
        const body = Buffer.concat([Buffer.from(`d8:msg_typei1e5:piecei${piece}e10:total_sizei0${size}ee`), data]);
        return void socket.write(encodeExtended(1, body));
      }
      default:
        return void socket.write(encodeMetadataData(1, piece, size, data));
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fake peer: no address');
  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A valid v1 multi-file info dictionary of about `bytes` bytes, and its infohash. */
export function makeInfo(opts: { files?: number; name?: string | Uint8Array; private?: boolean } = {}): { info: Uint8Array; infohash: Uint8Array } {
  const files = Array.from({ length: opts.files ?? 3 }, (_, i) => ({ length: 1000 + i, path: ['dir', `file-${i}-${'n'.repeat(40)}.bin`] }));
  const dict = {
    files,
    name: opts.name ?? 'fake torrent',
    'piece length': 16384,
    pieces: new Uint8Array(20 * Math.ceil(files.reduce((a, f) => a + f.length, 0) / 16384)),
    ...(opts.private ? { private: 1 } : {}),
  };
  const info = encode(dict);
  return { info, infohash: sha1(info) };
}

export function sha1(b: Uint8Array): Uint8Array {
  return createHash('sha1').update(b).digest();
}
