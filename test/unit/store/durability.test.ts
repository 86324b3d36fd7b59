// Two handles on one file (WAL), and what survives a kill -9.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/core/store/sqlite-store.js';
import { ih, tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('two handles on one database', () => {
  it('each reads what the other committed', () => {
    const path = join(tempDir(), 'crawl.db');
    const a = new SqliteStore(path);
    const b = new SqliteStore(path);
    expect(b.created).toBe(false);

    a.recordInfohashes([{ infohash: ih(1), seenAt: 1 }]);
    expect(b.has(ih(1))).toBe(true);
    expect(b.recordInfohashes([{ infohash: ih(1), seenAt: 2 }])[0].isNew).toBe(false);

    b.saveState('keyspace', { at: 'b' });
    expect(a.loadState('keyspace')).toEqual({ at: 'b' });
    b.recordNodes([{ addr: '127.0.0.1:1', seenAt: 3 }]);
    expect(a.stats().nodes).toBe(1);
    a.close();
    b.close();
  });

  it('a reader keeps its snapshot while the other handle writes', () => {
    const path = join(tempDir(), 'crawl.db');
    const writer = new SqliteStore(path);
    const reader = new SqliteStore(path);
    writer.recordInfohashes([1, 2, 3].map((n) => ({ infohash: ih(n), seenAt: n })));

    const rows = reader.listInfohashes();
    expect(rows.next().done).toBe(false); // read transaction open from here
    writer.recordInfohashes([{ infohash: ih(4), seenAt: 4 }]); // not blocked by the reader
    expect([...rows]).toHaveLength(2); // the rest of the old snapshot: rows 2 and 3
    expect([...reader.listInfohashes()]).toHaveLength(4);
    writer.close();
    reader.close();
  });
});

describe('kill -9', () => {
  it('loses at most the batch still buffered', async () => {
    const path = join(tempDir(), 'crawl.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'crash-writer.ts'), path, '1050', '100'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`child not ready: ${stderr}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.trim());
        }
      });
      child.on('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
    });
    expect(ready).toBe('ready 50');
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const store = new SqliteStore(path);
    expect(store.stats().infohashes).toBe(1000);
    const probe = (n: number) => {
      const h = new Uint8Array(20);
      new DataView(h.buffer).setUint32(16, n);
      return store.has(h);
    };
    expect(probe(999)).toBe(true);
    expect(probe(1000)).toBe(false);
    store.close();
  });
});
