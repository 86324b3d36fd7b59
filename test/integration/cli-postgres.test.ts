// The commands with `--db postgres://…` (and BITSCRAPE_DB) against the run's throwaway
// PostgreSQL cluster, as a user runs them.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, ndjson, runCli, runCommand, tempHome } from '../support/cli.js';
import { cluster, freshDatabase, sql } from '../support/postgres-db.js';

describe('--db postgres://', () => {
  it('crawl writes the index; db stats, list, export and report read it; a second crawl sees what is known', async () => {
    const url = await freshDatabase();
    const home = tempHome();
    const crawl = await runCli(['crawl', '--testnet', '1500', '--seed', '4', '--db', url, '--json'], { home, timeoutMs: 120_000 });
    expect(crawl.code, crawl.stderr).toBe(0);
    const printed = ndjson(crawl.stdout);
    expect(printed.length).toBeGreaterThan(100);
    expect(crawl.stderr).not.toContain(cluster().password);
    const [{ n }] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM infohashes');
    expect(Number(n)).toBe(printed.length);

    const stats = await runCli(['db', 'stats', '--json'], { home, env: { BITSCRAPE_DB: url } });
    expect(stats.code, stats.stderr).toBe(0);
    const s = JSON.parse(stats.stdout) as { infohashes: number; nodes: number; clients: unknown[] };
    expect(s.infohashes).toBe(printed.length);
    expect(s.nodes).toBeGreaterThan(0);

    const exported = await runCli(['db', 'export', '--db', url, '--order', 'infohash'], { home });
    expect(exported.code, exported.stderr).toBe(0);
    const rows = ndjson(exported.stdout);
    expect(rows.map((r) => r.infohash).sort()).toEqual(printed.map((r) => r.infohash).sort());

    const list = await runCli(['db', 'list', '--db', url, '--limit', '5', '--json'], { home });
    expect(ndjson(list.stdout)).toHaveLength(5);

    const report = await runCli(['report', '--db', url, '-o', '-'], { home });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('data-chart="keyspace"');
    expect(report.stdout).not.toContain(cluster().password);

    const again = await runCli(['crawl', '--testnet', '1500', '--seed', '4', '--db', url, '--json', '--only-new'], { home, timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
  }, 240_000);

  it('a wrong password or a bad URL is one line and exit 2, an unreachable server one line and exit 1; the password is never shown', async () => {
    const c = cluster();
    const home = tempHome();
    const wrong = await runCli(['db', 'stats', '--db', `postgres://${c.user}:hunter2secret@${c.host}:${c.port}/postgres`], { home });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/authentication failed/);
    expect(wrong.stderr).not.toContain('hunter2secret');

    const down = await runCli(['crawl', '--testnet', '100', '--db', `postgres://${c.user}:hunter2secret@127.0.0.1:1/x`], { home });
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/cannot connect/);
    expect(down.stderr).not.toContain('hunter2secret');

    // PGPASSWORD works as with psql
    const url = await freshDatabase();
    const noPassword = url.replace(`:${encodeURIComponent(c.password)}@`, '@');
    const viaEnv = await runCli(['crawl', '--testnet', '200', '--db', noPassword, '--max-queries', '50'], { home, env: { PGPASSWORD: c.password } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stderr).not.toContain(c.password);
  }, 120_000);

  it('a URL without a password takes it from the password file, as psql does: PGPASSFILE, else ~/.pgpass; PGPASSWORD comes first', async () => {
    const c = cluster();
    const home = tempHome();
    const url = await freshDatabase();
    const noPassword = url.replace(`:${encodeURIComponent(c.password)}@`, '@');
    const database = new URL(url).pathname.slice(1);
    const line = (password: string): string => `# host:port:database:user:password\n${c.host}:${c.port}:${database}:${c.user}:${password.replace(/[\\:]/g, '\\$&')}\n`;
    const withoutEnv = { PGPASSWORD: undefined, PGPASSFILE: undefined };

    // PGPASSFILE names the file
    const file = join(home, 'passwords');
    writeFileSync(file, line(c.password), { mode: 0o600 });
    const viaFile = await runCli(['crawl', '--testnet', '200', '--db', noPassword], { home, env: { ...withoutEnv, PGPASSFILE: file } });
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect(viaFile.stderr).not.toContain(c.password);

    // ~/.pgpass; run without --no-warnings, so a warning of node-postgres (its own pgpass reading is deprecated) would show
    const userHome = join(home, 'user');
    mkdirSync(userHome);
    writeFileSync(join(userHome, '.pgpass'), `*:*:other:*:nope\n${line(c.password)}`, { mode: 0o600 });
    const stats = await runCommand(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'dev.js'), 'db', 'stats', '--db', noPassword, '--json'], { home, env: { ...withoutEnv, HOME: userHome } });
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stderr).toBe('');
    expect((JSON.parse(stats.stdout) as { infohashes: number }).infohashes).toBeGreaterThan(0);

    // a wrong password in the file: one line, exit 2, neither password shown
    writeFileSync(join(userHome, '.pgpass'), line('hunter2:from\\file'), { mode: 0o600 });
    const wrong = await runCli(['db', 'stats', '--db', noPassword], { home, env: { ...withoutEnv, HOME: userHome } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/authentication failed/);
    expect(wrong.stderr).not.toMatch(/hunter2|from\\?file/);
    expect(wrong.stderr).not.toContain(c.password);

    // PGPASSWORD wins over the file, as with psql
    const envFirst = await runCli(['db', 'stats', '--db', noPassword, '--json'], { home, env: { PGPASSWORD: c.password, PGPASSFILE: undefined, HOME: userHome } });
    expect(envFirst.code, envFirst.stderr).toBe(0);

    // a file others may read is ignored with psql's warning: no password, so authentication fails
    chmodSync(join(userHome, '.pgpass'), 0o644);
    writeFileSync(join(userHome, '.pgpass'), line(c.password));
    const loose = await runCli(['db', 'stats', '--db', noPassword], { home, env: { ...withoutEnv, HOME: userHome } });
    expect(loose.code).toBe(2);
    expect(loose.stderr).toMatch(/group or world access/);
    expect(loose.stderr).not.toContain(c.password);

    // a progress line and a summary of a human-readable crawl show the URL without the password
    const human = await runCli(['crawl', '--testnet', '200', '--db', url, '--max-queries', '50'], { home, env: { CI: undefined } });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).not.toContain(c.password);
  }, 180_000);
});

describe('db copy', () => {
  it('moves an SQLite index into PostgreSQL and back, idempotently, with scrape results, nodes and runs', async () => {
    const home = tempHome();
    const file = `${home}/c.db`;
    const crawl = await runCli(['crawl', '--testnet', '800', '--seed', '6', '--db', file], { home, timeoutMs: 120_000 });
    expect(crawl.code, crawl.stderr).toBe(0);
    const { SqliteStore } = await import('../../src/core/store/index.js');
    const s = SqliteStore.open(file);
    const first = [...s.listInfohashes({ limit: 3, order: 'infohash' })];
    s.updateScrape(first.map((r, i) => ({ infohash: Buffer.from(r.infohash, 'hex'), seeders: 10 + i, leechers: i, peers: 10 + 2 * i, scrapedAt: 1_800_000_000_000 })));
    s.saveTorrent({
      infohash: Buffer.from(first[0].infohash, 'hex'),
      name: 'Café holiday 2026',
      totalSize: 300,
      pieceLength: 16384,
      pieces: 1,
      private: false,
      version: '1',
      files: [{ path: 'beach/IMG_0001.JPG', length: 200 }, { path: 'notes.txt', length: 100 }],
      fetchedAt: 1_800_000_000_000,
      sourceAddr: '127.0.0.1:6881',
      sourceClient: 'LT 2.0.8',
    });
    s.close();

    const url = await freshDatabase();
    const copy = await runCli(['db', 'copy', '--from', file, '--to', url, '--json'], { home });
    expect(copy.code, copy.stderr).toBe(0);
    const summary = JSON.parse(copy.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(summary.to).not.toContain(cluster().password);
    expect(summary.newInfohashes).toBe(summary.infohashes);
    expect(summary.runs).toBe(1);
    expect(summary.torrents).toBe(1);
    const shown = await runCli(['db', 'show', first[0].infohash, '--db', url, '--json'], { home });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'Café holiday 2026', files: [{ path: 'beach/IMG_0001.JPG', length: 200 }, { path: 'notes.txt', length: 100 }] });
    const searched = await runCli(['db', 'search', 'cafe img_0001', '--db', url, '--json'], { home });
    expect(ndjson(searched.stdout).map((h) => h.infohash)).toEqual([first[0].infohash]);
    const again = await runCli(['db', 'copy', '--from', file, '--to', url, '--json'], { home });
    const second = JSON.parse(again.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(second).toMatchObject({ newInfohashes: 0, newNodes: 0, runs: 0 });

    const a = await runCli(['db', 'export', '--db', file, '--order', 'infohash'], { home });
    const b = await runCli(['db', 'export', '--db', url, '--order', 'infohash'], { home });
    expect(b.stdout).toBe(a.stdout);
    const statsA = await runCli(['db', 'stats', '--json', '--db', file], { home });
    const statsB = await runCli(['db', 'stats', '--json', '--db', url], { home });
    expect(JSON.parse(statsB.stdout)).toEqual(JSON.parse(statsA.stdout));

    // and back into a new file
    const back = `${home}/back.db`;
    expect((await runCli(['db', 'copy', '--from', url, '--to', back], { home })).code).toBe(0);
    expect((await runCli(['db', 'export', '--db', back, '--order', 'infohash'], { home })).stdout).toBe(a.stdout);
    const same = await runCli(['db', 'copy', '--from', file, '--to', file], { home });
    expect(same.code).toBe(2);
  }, 240_000);
});
