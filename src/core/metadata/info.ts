// Decoding an info dictionary (BEP 3 v1, BEP 52 v2 `file tree`, and hybrids carrying both) into
// what a person reads: name, files with sizes, piece length and count, private flag. Names prefer
// `name.utf-8` / `path.utf-8`; bytes that are not UTF-8 are kept, escaped (textOf), never a
// failure. Anything structurally wrong (a missing name, a negative length, a pieces string that
// is not whole SHA-1 hashes) is an error: the dictionary hashed right, but we do not guess.
import { decode } from '../wire/bencode.js';
import { MAX_METADATA_SIZE, textOf } from '../wire/peer-wire.js';
import type { BDict, BValue, Result } from '../wire/types.js';

export interface InfoFile {
  /** Path components joined with '/'. */
  path: string;
  length: number;
}

export interface TorrentInfo {
  name: string;
  files: InfoFile[];
  totalSize: number;
  pieceLength: number;
  pieces: number;
  private: boolean;
  /** 1: v1 only, 2: v2 only, 'hybrid': both. */
  version: 1 | 2 | 'hybrid';
}

/** BEP 52 nests a directory per level; deeper trees than this are refused. */
const MAX_TREE_DEPTH = 64;
/** Most files listed; the token cap of the decoder bounds it too. */
export const MAX_FILES = 200_000;

function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

function isLength(v: BValue | undefined): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function decodeInfo(bytes: Uint8Array): Result<TorrentInfo, string> {
  const r = decode(bytes, {
    maxDepth: MAX_TREE_DEPTH + 4,
    maxTokens: Math.min(bytes.length, MAX_METADATA_SIZE),
    maxStringLength: MAX_METADATA_SIZE,
  });
  if (!r.ok) return { ok: false, error: `info dictionary: ${r.error.message}` };
  const info = r.value;
  if (!isDict(info)) return { ok: false, error: 'info dictionary is not a dictionary' };
  const nameBytes = bytesOf(info['name.utf-8']) ?? bytesOf(info.name);
  if (!nameBytes) return { ok: false, error: 'info dictionary has no name' };
  const pieceLength = info['piece length'];
  if (!isLength(pieceLength) || pieceLength === 0) return { ok: false, error: 'info dictionary: bad piece length' };
  const priv = info.private;
  const isPrivate = priv === 1;

  const hasV1 = info.pieces !== undefined;
  const metaVersion = info['meta version'];
  const hasV2 = metaVersion !== undefined;
  if (hasV2 && metaVersion !== 2) return { ok: false, error: `info dictionary: unknown meta version ${String(metaVersion)}` };
  const name = textOf(nameBytes);

  let files: InfoFile[] = [];
  if (hasV2) {
    const tree = info['file tree'];
    if (!isDict(tree)) return { ok: false, error: 'info dictionary: v2 without a file tree' };
    const out: InfoFile[] = [];
    const err = walkTree(tree, [], out, 0);
    if (err) return { ok: false, error: `info dictionary: ${err}` };
    // A single-file v2 torrent's tree is { name: { '': {...} } }: the path is the name itself.
    files = out;
  }
  // A hybrid lists its files twice; the v1 list keeps the author's order (the tree is sorted).
  if (hasV2 && !hasV1) {
    // the tree's files, read above
  } else if (info.files !== undefined) {
    const list = info.files;
    if (!Array.isArray(list) || list.length === 0) return { ok: false, error: 'info dictionary: files is not a non-empty list' };
    if (list.length > MAX_FILES) return { ok: false, error: `info dictionary: more than ${MAX_FILES} files` };
    files = [];
    for (const f of list) {
      if (!isDict(f) || !isLength(f.length)) return { ok: false, error: 'info dictionary: a file without a valid length' };
      const path = f['path.utf-8'] ?? f.path;
      if (!Array.isArray(path) || path.length === 0 || !path.every((p) => p instanceof Uint8Array)) {
        return { ok: false, error: 'info dictionary: a file without a valid path' };
      }
      // BEP 47 pad files are an artefact of piece alignment, not content.
      if (isPadFile(f)) continue;
      files.push({ path: (path as Uint8Array[]).map(textOf).join('/'), length: f.length });
    }
  } else {
    if (!isLength(info.length)) return { ok: false, error: 'info dictionary: neither files nor a valid length' };
    files = [{ path: name, length: info.length }];
  }

  let pieces: number;
  let totalSize = 0;
  for (const f of files) totalSize += f.length;
  if (!Number.isSafeInteger(totalSize)) return { ok: false, error: 'info dictionary: total size too large' };
  if (hasV1) {
    const p = info.pieces;
    if (!(p instanceof Uint8Array) || p.length % 20 !== 0) return { ok: false, error: 'info dictionary: pieces is not a list of SHA-1 hashes' };
    pieces = p.length / 20;
  } else {
    // v2 only: every file starts on a piece boundary.
    pieces = 0;
    for (const f of files) pieces += Math.ceil(f.length / pieceLength);
  }
  return {
    ok: true,
    value: { name, files, totalSize, pieceLength, pieces, private: isPrivate, version: hasV1 && hasV2 ? 'hybrid' : hasV2 ? 2 : 1 },
  };
}

function bytesOf(v: BValue | undefined): Uint8Array | null {
  return v instanceof Uint8Array ? v : null;
}

function isPadFile(f: BDict): boolean {
  const attr = f.attr;
  if (attr instanceof Uint8Array && attr.includes(0x70 /* p */)) return true;
  return false;
}

/** BEP 52: a directory maps names to subtrees; a file is a name mapping to { '': { length, ... } }. */
function walkTree(dir: BDict, prefix: string[], out: InfoFile[], depth: number): string | null {
  if (depth > MAX_TREE_DEPTH) return 'file tree too deep';
  for (const [rawName, node] of Object.entries(dir)) {
    if (!isDict(node)) return 'file tree entry is not a dictionary';
    // Keys are latin1 strings of the raw bytes; decode them as names.
    const name = textOf(Uint8Array.from(rawName, (c) => c.charCodeAt(0)));
    const leaf = node[''];
    if (leaf !== undefined) {
      if (!isDict(leaf) || !isLength(leaf.length)) return 'file tree file without a valid length';
      if (isPadFile(leaf)) continue;
      out.push({ path: [...prefix, name].join('/'), length: leaf.length });
      if (out.length > MAX_FILES) return `more than ${MAX_FILES} files`;
      continue;
    }
    const err = walkTree(node, [...prefix, name], out, depth + 1);
    if (err) return err;
  }
  return null;
}
