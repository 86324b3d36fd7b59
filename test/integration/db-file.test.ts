// The database file when something is wrong with it: another application's SQLite file, a
// directory, a file the user may not write, a disk that fills up mid-run. Refusals come before
// any network work, change nothing and are one line with exit 2; a full disk is one line saying
// what happened and what was kept, exit 1, and what it says was kept is in the database.
// Tests run as root: `runuser -u nobody` gives a user the permissions apply to, and
// `prlimit --fsize` a file size limit that fails writes as a full disk does.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../../src/core/dht/udp-testnet.js';
import { ROOT, ndjson, runCli, startCli, tempHome, type CliResult } from '../support/cli.js';

const AS_NOBODY = ['runuser', '-u', 'nobody', '--'];
const fsizeLimit = (bytes: number): string[] => ['prlimit', `--fsize=${bytes}`, '--'];

/** A home directory (and its XDG dirs) that `nobody` may use. */
function sharedHome(): string {
  const home = tempHome();
  chmodSync(home, 0o777);
  return home;
}

async function run(args: string[], opts: { prefix?: string[]; home?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return startCli(args, { timeoutMs: 120_000, ...opts }).exited;
}

function expectOneLine(r: CliResult, code: number, pattern: RegExp): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  return lines[0];
}

function journalMode(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('journal_mode', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('refused database files', () => {
  it("leaves another application's SQLite file unchanged: same bytes, same journal mode, one line, exit 2", async () => {
    const home = tempHome();
    const path = join(home, 'notes.sqlite');
    const db = new Database(path);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('keep me')");
    db.close();
    const before = readFileSync(path);
    expect(journalMode(path)).toBe('delete');
    const [crawl, scrape] = await Promise.all([
      runCli(['crawl', '--testnet', '20', '--db', path], { home }),
      runCli(['scrape', '--from-db', '--db', path], { home }),
    ]);
    for (const r of [crawl, scrape]) expectOneLine(r, 2, /is a SQLite database but not a bitscrape one/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(journalMode(path)).toBe('delete');
    expect(existsSync(`${path}-wal`)).toBe(false);
  }, 120_000);

  it('a --db that is a directory is one line and exit 2, for every command that opens the database', async () => {
    const home = tempHome();
    const dir = join(home, 'crawl.db');
    mkdirSync(dir);
    const runs = await Promise.all([
      runCli(['crawl', '--testnet', '20', '--db', dir], { home }),
      runCli(['db', 'list', '--db', dir], { home }),
      runCli(['scrape', '--from-db', '--db', dir], { home }),
    ]);
    for (const r of runs) expectOneLine(r, 2, new RegExp(`${dir}: is a directory, not a database file$`));
  }, 120_000);
});

describe('a database the user may not write (as nobody)', () => {
  let home: string;
  let db: string;

  beforeAll(async () => {
    // nobody must be able to run the CLI from this checkout at all
    execFileSync('runuser', ['-u', 'nobody', '--', 'test', '-r', join(ROOT, 'bin', 'dev.js')]);
    home = sharedHome();
    db = join(home, 'crawl.db');
    const made = await runCli(['crawl', '--testnet', '20', '--db', db, '--json'], { home });
    expect(made.code, made.stderr).toBe(0);
    chmodSync(db, 0o644); // root's file: nobody reads it, cannot write it
  }, 120_000);

  it('is refused at open, before any work: one line, exit 2, the file unchanged', async () => {
    const before = readFileSync(db);
    const r = await run(['crawl', '--testnet', '2000', '--db', db, '--json'], { prefix: AS_NOBODY, home });
    expectOneLine(r, 2, new RegExp(`^crawl: ${db}: cannot write to the database \\(attempt to write a readonly database\\)`));
    expect(r.stdout).toBe(''); // no crawl ran
    expect(readFileSync(db).equals(before)).toBe(true);
    // reading it is fine
    const list = await run(['db', 'list', '--db', db, '--json', '--limit', '3'], { prefix: AS_NOBODY, home });
    expect(list.code, list.stderr).toBe(0);
    expect(ndjson(list.stdout)).toHaveLength(3);
  }, 120_000);

  it('a writable file in a directory nobody may write is refused the same way (WAL needs files beside it)', async () => {
    const dir = join(home, 'locked');
    mkdirSync(dir);
    const path = join(dir, 'crawl.db');
    writeFileSync(path, readFileSync(db));
    chmodSync(path, 0o666);
    chmodSync(dir, 0o755);
    const r = await run(['crawl', '--testnet', '2000', '--db', path, '--json'], { prefix: AS_NOBODY, home });
    expectOneLine(r, 2, /cannot write to the database/);
    expect(r.stdout).toBe('');
  }, 120_000);
});

describe('a disk that fills up mid-run (prlimit --fsize)', () => {
  /** The count in "the N infohashes stored before it are kept". */
  function keptCount(line: string): number {
    const m = /; the (\d+) infohashes stored before it are kept|; no infohash was stored/.exec(line);
    expect(m, line).not.toBeNull();
    return m![1] === undefined ? 0 : Number(m![1]);
  }

  async function storedInfohashes(db: string, home: string): Promise<Set<string>> {
    const r = await runCli(['db', 'export', '--db', db], { home });
    expect(r.code, r.stderr).toBe(0);
    return new Set(ndjson(r.stdout).map((x) => x.infohash as string));
  }

  it('crawl --testnet: one line with what was kept, exit 1, and everything printed is in the database', async () => {
    const home = tempHome();
    const db = join(home, 'crawl.db');
    const r = await run(['crawl', '--testnet', '3000', '--db', db, '--json'], { prefix: fsizeLimit(200_000), home });
    const line = expectOneLine(r, 1, new RegExp(`^crawl: ${db}: database write failed: .+; (the \\d+ infohashes stored before it are kept|no infohash was stored)`));
    const printed = ndjson(r.stdout).map((x) => x.infohash as string);
    expect(keptCount(line)).toBe(printed.length);
    const stored = await storedInfohashes(db, home);
    expect(stored.size).toBe(printed.length);
    for (const ih of printed) expect(stored.has(ih)).toBe(true);
  }, 180_000);

  describe('on a live DHT (a loopback testnet)', () => {
    let net: Testnet;
    let common: string[];
    beforeAll(async () => {
      net = await Testnet.start({ nodes: 12, infohashes: 600, seed: 3, fillMsPerNode: 1000 });
      common = ['--bootstrap', net.state().bootstrap, '--fresh', '--json'];
    }, 120_000);
    afterAll(() => net.close());

    it('crawl: one line with what was kept, exit 1', async () => {
      const home = tempHome();
      const db = join(home, 'crawl.db');
      // Room for the new database (about 91 KB of WAL for schema v5) and little more.
      const r = await run(['crawl', ...common, '--min-interval', '0', '--db', db], { prefix: fsizeLimit(130_000), home });
      const line = expectOneLine(r, 1, new RegExp(`^crawl: ${db}: database write failed: `));
      const printed = ndjson(r.stdout).map((x) => x.infohash as string);
      expect(keptCount(line)).toBe(printed.length);
      expect((await storedInfohashes(db, home)).size).toBe(printed.length);
    }, 180_000);

    it('scrape --from-db: one line with what was kept, exit 1', async () => {
      const home = tempHome();
      const db = join(home, 'crawl.db');
      // Thousands of rows, so that even a few results dirty many pages of the table.
      const filled = await run(['crawl', '--testnet', '5000', '--db', db, '--json'], { home });
      expect(filled.code, filled.stderr).toBe(0);
      // Room for the -shm file (32 KB) and the WAL's first frames, not for the results' pages.
      const r = await run(['scrape', '--from-db', '--db', db, ...common, '--limit', '30'], { prefix: fsizeLimit(40_000), home });
      expectOneLine(r, 1, new RegExp(`^scrape: ${db}: database write failed: .+; no result was stored$`));
      expect(ndjson(r.stdout).length).toBeGreaterThan(0); // results were printed, then not stored
      const stats = ndjson((await runCli(['db', 'stats', '--db', db, '--json'], { home })).stdout)[0];
      expect(stats.scraped).toBe(0);
    }, 240_000);
  });
});
