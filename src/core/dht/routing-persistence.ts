// Saving and loading the routing table as a small versioned JSON document:
//   {version: 1, id: hex, saved_at: ISO, nodes: [{id, host, port, last_seen: ISO, flags}]}
// Saves are atomic (temp file in the same directory, fsync, rename), so a crash or a failed
// write leaves the previous file intact. Loads return one-line errors, never throw.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Result } from '../wire/types.js';
import { ipFamily } from '../wire/ip.js';
import { equals, idFromHex, idToHex, isHexId, type NodeId } from './node-id.js';
import { NodeFlag, RoutingTable, type RoutingEntry, type RoutingTableOptions } from './routing-table.js';

const ROUTING_FILE_VERSION = 1;

export interface RoutingFileNode {
  id: string;
  host: string;
  port: number;
  last_seen: string;
  flags: number;
}

export interface RoutingFile {
  version: typeof ROUTING_FILE_VERSION;
  id: string;
  saved_at: string;
  nodes: RoutingFileNode[];
}

/**
 * The table as a document. Clock times become wall-clock times via `wallNow` (the wall time
 * that corresponds to the table clock's now). Bad nodes are not worth saving.
 */
export function toRoutingFile(table: RoutingTable, wallNow: number = Date.now()): RoutingFile {
  const now = table.clock.now();
  const nodes: RoutingFileNode[] = [];
  for (const e of table.entries()) {
    if (table.stateOf(e) === 'bad') continue;
    nodes.push({
      id: idToHex(e.id),
      host: e.host,
      port: e.port,
      last_seen: new Date(wallNow - Math.max(0, now - e.lastSeen)).toISOString(),
      flags: e.flags & ~(NodeFlag.BAD | NodeFlag.RESTORED),
    });
  }
  return { version: ROUTING_FILE_VERSION, id: idToHex(table.id), saved_at: new Date(wallNow).toISOString(), nodes };
}

/** Validates a parsed document; errors name the offending field (and node index). */
function validateRoutingFile(doc: unknown): Result<RoutingFile, string> {
  if (!isObject(doc)) return fail('expected a JSON object');
  if (doc.version === undefined) return fail('version: missing');
  if (doc.version !== ROUTING_FILE_VERSION) {
    return fail(`unsupported version ${JSON.stringify(doc.version)} (this build reads version ${ROUTING_FILE_VERSION})`);
  }
  if (!isHexId(doc.id)) return fail('id: expected 40 hex digits');
  if (!isIsoTime(doc.saved_at)) return fail('saved_at: expected an ISO 8601 time');
  if (!Array.isArray(doc.nodes)) return fail('nodes: expected an array');
  const nodes: RoutingFileNode[] = [];
  for (let i = 0; i < doc.nodes.length; i++) {
    const n: unknown = doc.nodes[i];
    const at = `nodes[${i}]`;
    if (!isObject(n)) return fail(`${at}: expected an object`);
    if (!isHexId(n.id)) return fail(`${at}.id: expected 40 hex digits`);
    if (typeof n.host !== 'string' || ipFamily(n.host) === 0) return fail(`${at}.host: expected an IP address`);
    if (!Number.isInteger(n.port) || (n.port as number) < 1 || (n.port as number) > 65535) return fail(`${at}.port: expected an integer 1-65535`);
    if (!isIsoTime(n.last_seen)) return fail(`${at}.last_seen: expected an ISO 8601 time`);
    if (!Number.isInteger(n.flags) || (n.flags as number) < 0 || (n.flags as number) > 0xff) return fail(`${at}.flags: expected an integer 0-255`);
    nodes.push({ id: (n.id as string).toLowerCase(), host: n.host, port: n.port as number, last_seen: n.last_seen as string, flags: n.flags as number });
  }
  return { ok: true, value: { version: ROUTING_FILE_VERSION, id: (doc.id as string).toLowerCase(), saved_at: doc.saved_at as string, nodes } };
}

/** Parses document text (no path in the messages). */
export function parseRoutingFile(text: string): Result<RoutingFile, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON, truncated or corrupt (${oneLine(err)})`);
  }
  return validateRoutingFile(doc);
}

/** Why a routing file did not load: absent, unreadable (permissions, a directory), or its content. */
export type RoutingLoadFailure = 'missing' | 'unreadable' | 'invalid';

export type RoutingLoadResult = { ok: true; value: RoutingFile } | { ok: false; error: string; kind: RoutingLoadFailure };

export async function loadRoutingFile(path: string): Promise<RoutingLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, kind: 'missing', error: `routing file not found: ${path}` };
    return { ok: false, kind: 'unreadable', error: `cannot read routing file ${path}: ${oneLine(err)}` };
  }
  const parsed = parseRoutingFile(text);
  if (!parsed.ok) return { ok: false, kind: 'invalid', error: `routing file ${path}: ${parsed.error}` };
  return parsed;
}

/**
 * Writes the table atomically: a temp file next to `path`, fsync, rename over `path`, fsync of
 * the directory. On any failure the temp file is removed and `path` is left as it was.
 */
export async function saveRoutingFile(path: string, table: RoutingTable, wallNow: number = Date.now()): Promise<Result<{ nodes: number }, string>> {
  const doc = toRoutingFile(table, wallNow);
  try {
    await writeFileAtomic(path, JSON.stringify(doc, null, 1) + '\n');
  } catch (err) {
    return fail(`cannot save routing file ${path}: ${oneLine(err)}`);
  }
  return { ok: true, value: { nodes: doc.nodes.length } };
}

export interface RestoreOptions extends Omit<RoutingTableOptions, 'id'> {
  /** Our id for this run; omitted or equal to the file's id means the file's id is kept. */
  id?: NodeId;
  /** Wall time matching the clock's now; default Date.now(). */
  wallNow?: number;
}

export interface RestoreResult {
  table: RoutingTable;
  /** True when the file's id was kept and nodes went back to their buckets as saved. */
  keptId: boolean;
  /** Nodes live in the table afterwards. */
  live: number;
}

/**
 * Builds a table from a loaded document. Same id: nodes return to the buckets they were in.
 * New id: every node is re-inserted through normal admission into the new layout.
 */
export function restoreRoutingTable(file: RoutingFile, opts: RestoreOptions): RestoreResult {
  const fileId = idFromHex(file.id);
  if (!fileId.ok) throw new TypeError('restoreRoutingTable needs a validated RoutingFile');
  const keptId = opts.id === undefined || equals(opts.id, fileId.value);
  const { id: _ignored, wallNow = Date.now(), ...tableOpts } = opts;
  const table = new RoutingTable({ ...tableOpts, id: keptId ? fileId.value : opts.id! });
  const now = table.clock.now();
  const entries: RoutingEntry[] = [];
  for (const n of file.nodes) {
    const id = idFromHex(n.id);
    const family = ipFamily(n.host);
    if (!id.ok || family === 0) continue;
    const age = Math.max(0, wallNow - Date.parse(n.last_seen));
    const lastSeen = now - age;
    entries.push({
      id: id.value,
      host: n.host,
      port: n.port,
      family,
      lastSeen,
      lastReplied: n.flags & NodeFlag.VERIFIED ? lastSeen : 0,
      failures: 0,
      rtt: -1,
      flags: (n.flags & ~NodeFlag.BAD) | NodeFlag.RESTORED,
    });
  }
  const live = keptId ? table.restoreEntries(entries) : table.reinsertEntries(entries);
  return { table, keptId, live };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function isIsoTime(v: unknown): v is string {
  return typeof v === 'string' && ISO_TIME.test(v) && !Number.isNaN(Date.parse(v));
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function fail<T>(error: string): Result<T, string> {
  return { ok: false, error };
}
