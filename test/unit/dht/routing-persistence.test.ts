import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commonPrefixBits, idToHex, randomId } from '../../../src/core/dht/node-id.js';
import {
  loadRoutingFile,
  parseRoutingFile,
  restoreRoutingTable,
  saveRoutingFile,
  toRoutingFile,
  type RoutingFileNode,
} from '../../../src/core/dht/routing-persistence.js';
import { NodeFlag, RoutingTable } from '../../../src/core/dht/routing-table.js';
import { prng, randomBytesFrom } from '../../support/fake-engine.js';
import { VirtualClock } from '../../../src/core/net/virtual-clock.js';

// Lets one test make the next rename or write fail, the way a full disk or a crash would.
const faults = vi.hoisted(() => ({ rename: null as Error | null, write: null as Error | null }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    rename: async (from: string, to: string) => {
      if (faults.rename) {
        const err = faults.rename;
        faults.rename = null;
        throw err;
      }
      return real.rename(from, to);
    },
    open: async (...args: Parameters<typeof real.open>) => {
      const fh = await real.open(...args);
      if (faults.write) {
        const err = faults.write;
        faults.write = null;
        const writeFileOrig = fh.writeFile.bind(fh);
        fh.writeFile = async (data: unknown) => {
          await writeFileOrig(String(data).slice(0, 40)); // half-written, then the disk fills
          throw err;
        };
      }
      return fh;
    },
  };
});

const MIN = 60_000;
const WALL = Date.parse('2024-05-01T12:00:00.000Z');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitscrape-routing-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function populated(n = 300): { table: RoutingTable; clock: VirtualClock } {
  const clock = new VirtualClock({ startMs: 5 * MIN });
  const table = new RoutingTable({ id: randomId(), clock });
  for (let i = 0; i < n; i++) {
    const id = randomId();
    if (i % 2 === 0) id.set(table.id.subarray(0, 2)); // plenty of close nodes: a deep table
    table.onReply({ id, host: `127.0.${(i >> 8) & 255}.${i & 255}`, port: 10000 + i, family: 4 }, i % 3 === 0 ? NodeFlag.SUPPORTS_SAMPLE : 0);
    clock.advance(1000);
  }
  return { table, clock };
}

/** CPU milliseconds this process has used since `from`. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

function layout(t: RoutingTable): string[][] {
  return t.bucketViews().map((b) => b.entries.map((e) => idToHex(e.id)).sort());
}

describe('routing file', () => {
  it('round-trips through a file with the same id: same buckets, same flags', async () => {
    const { table } = populated();
    expect(table.bucketCount).toBeGreaterThan(5);
    const path = join(dir, 'routing.json');
    const saved = await saveRoutingFile(path, table, WALL);
    expect(saved).toEqual({ ok: true, value: { nodes: table.size } });
    const doc = JSON.parse(await readFile(path, 'utf8'));
    expect(doc.version).toBe(1);
    expect(doc.id).toBe(idToHex(table.id));
    expect(doc.saved_at).toBe('2024-05-01T12:00:00.000Z');
    expect(Object.keys(doc.nodes[0]).sort()).toEqual(['flags', 'host', 'id', 'last_seen', 'port']);

    const loaded = await loadRoutingFile(path);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const clock = new VirtualClock();
    const { table: back, keptId, live } = restoreRoutingTable(loaded.value, { clock, wallNow: WALL + 2 * MIN });
    expect(keptId).toBe(true);
    expect(live).toBe(table.size);
    expect(idToHex(back.id)).toBe(idToHex(table.id));
    expect(layout(back)).toEqual(layout(table));
    for (const e of table.entries()) {
      const r = back.get(e.id)!;
      expect(r.flags).toBe(e.flags | NodeFlag.RESTORED); // not heard from in this run yet
      expect(`${r.host}:${r.port}`).toBe(`${e.host}:${e.port}`);
      // Age is preserved (whole ms), shifted by the two minutes between save and load.
      expect(clock.now() - r.lastSeen).toBe(table.clock.now() - e.lastSeen + 2 * MIN);
    }
  });

  it('restored nodes give way to nodes that answer in this run, keep their slot once they answer, and are saved unmarked', () => {
    const { table } = populated();
    const { table: back } = restoreRoutingTable(toRoutingFile(table, WALL), { clock: new VirtualClock({ startMs: 60 * MIN }), wallNow: WALL });
    const far = back.bucketViews()[0].entries.slice();
    expect(far).toHaveLength(back.k); // full, every entry good (answered a few minutes ago)
    expect(far.every((e) => back.stateOf(e) === 'good')).toBe(true);

    const answers = back.onReply(far[2]); // heard from again: an ordinary entry now
    expect(back.get(far[2].id)!.flags & NodeFlag.RESTORED).toBe(0);
    expect(answers.status).toBe('updated');
    const newcomers = Array.from({ length: back.k }, (_, i) => {
      const id = randomId();
      id[0] = ((back.id[0] ^ 0x80) & 0x80) | (id[0] & 0x7f); // first bit differs from ours: bucket 0
      return back.onReply({ id, host: '10.0.0.1', port: 20000 + i, family: 4 });
    });
    // Seven restored entries made way; the one that answered keeps its slot, and the eighth waits.
    expect(newcomers.slice(0, back.k - 1).map((r) => r.status)).toEqual(new Array(back.k - 1).fill('added'));
    expect(newcomers.flatMap((r) => r.evicted).map((e) => idToHex(e.id)).sort()).toEqual(far.filter((_, i) => i !== 2).map((e) => idToHex(e.id)).sort());
    expect(newcomers[back.k - 1].status).toBe('replacement');
    expect(back.get(far[2].id)).toBeDefined();
    expect(toRoutingFile(back, WALL).nodes.every((n) => (n.flags & NodeFlag.RESTORED) === 0)).toBe(true);
  });

  it('re-inserts every node when a new id is generated', async () => {
    const { table } = populated(200);
    const path = join(dir, 'routing.json');
    await saveRoutingFile(path, table, WALL);
    const loaded = await loadRoutingFile(path);
    if (!loaded.ok) throw new Error(loaded.error);
    const newId = randomId();
    const { table: back, keptId } = restoreRoutingTable(loaded.value, { clock: new VirtualClock(), id: newId, wallNow: WALL });
    expect(keptId).toBe(false);
    expect(idToHex(back.id)).toBe(idToHex(newId));
    const views = back.bucketViews();
    for (const e of table.entries()) {
      const placed = back.get(e.id);
      if (placed) continue;
      // Only a node whose new bucket is already full may be left out.
      expect(views[back.bucketIndexOf(e.id)].entries.length).toBe(back.k);
    }
    views.forEach((b, i) => {
      for (const e of b.entries) {
        if (i < views.length - 1) expect(commonPrefixBits(e.id, newId)).toBe(i);
      }
    });
    expect(back.size).toBeGreaterThan(0);
  });

  it('keeps unverified-looking nodes out of live buckets on re-insert', () => {
    const file = {
      version: 1 as const,
      id: idToHex(randomId()),
      saved_at: '2024-05-01T12:00:00.000Z',
      nodes: [{ id: idToHex(randomId()), host: '127.0.0.1', port: 1, last_seen: '2024-05-01T11:59:00.000Z', flags: 0 }],
    };
    const { table } = restoreRoutingTable(file, { clock: new VirtualClock(), id: randomId(), wallNow: WALL });
    expect(table.size).toBe(0);
    expect(table.bucketViews()[0].replacements.length).toBe(1);
  });

  it('restores a 100,000-node file in well under the old quadratic time, with the right buckets', () => {
    // A foreign or hand-made file: far more nodes than a table keeps, with repeated ids and
    // repeated endpoints. Restoring used to scan the one unsplit bucket per node (84 s for 100k).
    const N = 100_000;
    const rand = prng(42);
    const own = randomBytesFrom(rand, 20);
    const nodes: RoutingFileNode[] = [];
    for (let i = 0; i < N; i++) {
      let id = idToHex(randomBytesFrom(rand, 20));
      let host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      if (i % 10 === 9) id = nodes[i - 5].id; // same id elsewhere: the first one wins
      if (i % 13 === 12) host = nodes[i - 7].host; // same endpoint, other id: the first one wins
      nodes.push({ id, host, port: 6881, last_seen: new Date(WALL - (i + 1) * 1000).toISOString(), flags: NodeFlag.VERIFIED });
    }
    const text = JSON.stringify({ version: 1, id: idToHex(own), saved_at: new Date(WALL).toISOString(), nodes });

    // CPU time of this process, not wall time, so that other work on the machine does not
    // count; 5 s is generous (about 1 s here), the old code needed minutes.
    const started = process.cpuUsage();
    const parsed = parseRoutingFile(text);
    if (!parsed.ok) throw new Error(parsed.error);
    const { table, keptId, live } = restoreRoutingTable(parsed.value, { clock: new VirtualClock({ startMs: WALL }), wallNow: WALL });
    expect(cpuMs(started)).toBeLessThan(5000);
    expect(keptId).toBe(true);

    // The reference: first occurrence of an endpoint or an id wins; the home bucket splits
    // while it holds more than k; each bucket keeps its k freshest live, the next ones cached.
    const seenEp = new Set<string>();
    const seenId = new Set<string>();
    const kept: Array<{ id: string; bits: number; age: number }> = [];
    nodes.forEach((n, i) => {
      const ep = `${n.host}|${n.port}`;
      if (seenEp.has(ep) || seenId.has(n.id)) return;
      seenEp.add(ep);
      seenId.add(n.id);
      kept.push({ id: n.id, bits: commonPrefixBits(Buffer.from(n.id, 'hex'), own), age: i });
    });
    const byBits: Array<typeof kept> = Array.from({ length: 161 }, () => []);
    for (const e of kept) byBits[e.bits].push(e); // in file order, i.e. freshest first
    let home = 0;
    for (let deeper = kept.length; deeper > table.k; home++) deeper -= byBits[home].length;
    expect(table.bucketCount).toBe(home + 1);
    const views = table.bucketViews();
    let liveTotal = 0;
    const allIds = new Set<string>();
    for (const view of views) {
      const members = view.index < home ? byBits[view.index] : byBits.slice(home).flat().sort((a, b) => a.age - b.age);
      expect(view.entries.map((e) => idToHex(e.id)).sort()).toEqual(members.slice(0, table.k).map((e) => e.id).sort());
      expect(view.replacements.map((e) => idToHex(e.id)).sort()).toEqual(members.slice(table.k, 2 * table.k).map((e) => e.id).sort());
      for (const e of [...view.entries, ...view.replacements]) {
        expect(allIds.has(idToHex(e.id))).toBe(false);
        allIds.add(idToHex(e.id));
        expect(table.getByEndpoint(e.host, e.port)).toBe(e);
      }
      liveTotal += view.entries.length;
    }
    expect(live).toBe(liveTotal);
    expect(table.size).toBe(liveTotal);

    // A new id re-inserts the same 100k nodes through normal admission, also fast.
    const again = process.cpuUsage();
    const other = restoreRoutingTable(parsed.value, { clock: new VirtualClock({ startMs: WALL }), wallNow: WALL, id: randomBytesFrom(rand, 20) });
    expect(cpuMs(again)).toBeLessThan(5000);
    expect(other.keptId).toBe(false);
    const ids = other.table.entries().map((e) => idToHex(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const view of other.table.bucketViews()) expect(view.entries.length).toBeLessThanOrEqual(other.table.k);
  }, 120_000);

  it('leaves bad nodes out of the file', () => {
    const { table } = populated(20);
    const victim = table.entries()[0];
    table.markBad(victim);
    const doc = toRoutingFile(table, WALL);
    expect(doc.nodes.map((n) => n.id)).not.toContain(idToHex(victim.id));
    expect(doc.nodes.length).toBe(table.size - 1);
  });

  it('reports a missing file in one line', async () => {
    const r = await loadRoutingFile(join(dir, 'nope.json'));
    expect(r).toEqual({ ok: false, kind: 'missing', error: `routing file not found: ${join(dir, 'nope.json')}` });
    // A directory in its place cannot be read: a different failure from a corrupt file.
    expect(await loadRoutingFile(dir)).toMatchObject({ ok: false, kind: 'unreadable' });
  });

  it('reports truncated and corrupt files in one line', async () => {
    const { table } = populated(50);
    const path = join(dir, 'routing.json');
    await saveRoutingFile(path, table, WALL);
    const full = (await readFile(path)).length;
    await truncate(path, Math.floor(full / 2));
    const r = await loadRoutingFile(path);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe('invalid');
      expect(r.error).toMatch(/^routing file .*routing\.json: not valid JSON, truncated or corrupt \(/);
      expect(r.error).not.toContain('\n');
    }
    await writeFile(path, '');
    expect((await loadRoutingFile(path)).ok).toBe(false);
    await writeFile(path, '\u0000\u0001garbage');
    const g = await loadRoutingFile(path);
    expect(!g.ok && g.error.includes('not valid JSON')).toBe(true);
  });

  it('names the wrong version and the bad field with its index', () => {
    const good = {
      version: 1,
      id: 'a'.repeat(40),
      saved_at: '2024-05-01T12:00:00.000Z',
      nodes: [
        { id: 'b'.repeat(40), host: '127.0.0.1', port: 1, last_seen: '2024-05-01T12:00:00.000Z', flags: 8 },
        { id: 'c'.repeat(40), host: '::1', port: 2, last_seen: '2024-05-01T12:00:00Z', flags: 0 },
      ],
    };
    expect(parseRoutingFile(JSON.stringify(good)).ok).toBe(true);
    const cases: Array<[(d: any) => void, string]> = [
      [(d) => (d.version = 2), 'unsupported version 2 (this build reads version 1)'],
      [(d) => delete d.version, 'version: missing'],
      [(d) => (d.id = 'xyz'), 'id: expected 40 hex digits'],
      [(d) => (d.saved_at = 'yesterday'), 'saved_at: expected an ISO 8601 time'],
      [(d) => (d.nodes = {}), 'nodes: expected an array'],
      [(d) => (d.nodes[1] = 5), 'nodes[1]: expected an object'],
      [(d) => (d.nodes[1].id = 'c'.repeat(39)), 'nodes[1].id: expected 40 hex digits'],
      [(d) => (d.nodes[0].host = 'example.org'), 'nodes[0].host: expected an IP address'],
      [(d) => (d.nodes[1].port = 0), 'nodes[1].port: expected an integer 1-65535'],
      [(d) => (d.nodes[1].port = '80'), 'nodes[1].port: expected an integer 1-65535'],
      [(d) => (d.nodes[0].last_seen = 12), 'nodes[0].last_seen: expected an ISO 8601 time'],
      [(d) => (d.nodes[0].flags = -1), 'nodes[0].flags: expected an integer 0-255'],
    ];
    for (const [mutate, message] of cases) {
      const doc = structuredClone(good);
      mutate(doc);
      expect(parseRoutingFile(JSON.stringify(doc))).toEqual({ ok: false, error: message });
    }
    expect(parseRoutingFile('[]')).toEqual({ ok: false, error: 'expected a JSON object' });
  });

  it('a failed save never clobbers the good file and leaves no temp file', async () => {
    const { table } = populated(30);
    const path = join(dir, 'routing.json');
    expect((await saveRoutingFile(path, table, WALL)).ok).toBe(true);
    const good = await readFile(path, 'utf8');
    table.onReply({ id: randomId(), host: '127.9.9.9', port: 9, family: 4 });

    faults.write = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const r1 = await saveRoutingFile(path, table, WALL);
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.error).toBe(`cannot save routing file ${path}: ENOSPC: no space left on device, write`);
    expect(await readFile(path, 'utf8')).toBe(good);

    faults.rename = new Error('EIO: i/o error, rename');
    const r2 = await saveRoutingFile(path, table, WALL);
    expect(r2.ok).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(good);
    expect(await readdir(dir)).toEqual(['routing.json']);

    // A directory that does not exist: an error, not an exception.
    const r3 = await saveRoutingFile(join(dir, 'missing', 'r.json'), table, WALL);
    expect(r3.ok).toBe(false);

    // And a working save replaces the file.
    expect((await saveRoutingFile(path, table, WALL + 60_000)).ok).toBe(true); // a later saved_at: the content must differ
    expect(await readFile(path, 'utf8')).not.toBe(good);
    expect(await readdir(dir)).toEqual(['routing.json']);
  });
});
