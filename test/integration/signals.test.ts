// SIGINT / SIGTERM, the same on a terminal and off it (docs/output.md, exit codes): one-shot
// commands flush, save, print their summary and exit 130 / 143; the services exit 0. The terminal
// cases run under a real pseudo-terminal with a size, so the spinner (ora, and the signal-exit
// handler it brings) is on, as it is for a user.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ndjson, runCli, tempHome } from '../support/cli.js';
import { DEV_CLI, startInPty, type PtyRun } from '../support/pty.js';
import { fromHex } from '../../src/core/wire/hex.js';
import { FakeDht, swarm } from '../support/fake-scrape-dht.js';

const running: PtyRun[] = [];
afterAll(() => {
  for (const r of running) r.kill();
});

const lastJson = (stderr: string): Record<string, any> => JSON.parse(stderr.trim().split('\n').pop()!);
/**
 * The shell reports the command's exit status after it, so "exited 130" is told apart from "killed
 * by SIGINT" (script would report 130 for both; the shell stops without printing on the latter).
 */
const reportingStatus = (commandLine: string): string => `${commandLine}; echo "[exit $?]"`;
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe('Ctrl-C on a terminal (spinner on)', () => {
  it('crawl prints its summary, saves the traversal, exits 130; --resume carries it on', async () => {
    const home = tempHome();
    const db = join(home, 'c.db');
    const out = join(home, 'out.txt');
    const run = startInPty(reportingStatus(`${DEV_CLI} crawl --testnet 20000 --seed 3 --db ${q(db)} > ${q(out)}`), { env: { XDG_DATA_HOME: join(home, 'data') } });
    running.push(run);
    // the spinner's status line, with infohashes found (the parts after it may not fit the terminal)
    await run.waitFor(/\| [1-9]\d* infohashes/, 120_000);
    run.type('\x03');
    await run.exited;
    const terminal = run.output();
    expect(terminal, terminal.slice(-3000)).toContain('[exit 130]');
    expect(terminal).toMatch(/stopped by\s+aborted/);
    expect(terminal).toMatch(/state saved for --resume\s+yes/);
    const printed = readFileSync(out, 'utf8').trim().split('\n');
    expect(printed.length).toBeGreaterThan(0);
    for (const line of printed) expect(line).toMatch(/^[0-9a-f]{40}$/);

    const resumed = await runCli(['crawl', '--testnet', '20000', '--seed', '3', '--db', db, '--resume', '--json', '--max-queries', '50'], { home, timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const s = lastJson(resumed.stderr);
    expect(s.resumed).toBe(true);
    expect(s.resumed_from.unique_infohashes).toBeGreaterThanOrEqual(printed.length);
  }, 240_000);

  describe('scrape', () => {
    let dht: FakeDht;
    const IH = ['1'.repeat(40), '2'.repeat(40)];
    beforeAll(async () => {
      dht = await FakeDht.start(20);
      dht.store(fromHex(IH[0])!, swarm(3, 2));
      dht.store(fromHex(IH[1])!, swarm(1, 4, 11));
    });
    afterAll(async () => {
      await dht?.stop();
    });

    it('keeps the results it has: the table, the summary (interrupted), exit 130', async () => {
      const home = tempHome();
      const out = join(home, 'out.txt');
      // stdin stays open after two infohashes (blank lines follow, which scrape skips), so the
      // scrape is still running when Ctrl-C comes; the writer ignores SIGINT, or its end (EOF)
      // would race the signal, and stops when scrape is gone (SIGPIPE)
      const source = `(printf '%s\\n' ${IH.join(' ')}; trap '' INT; while sleep 0.2; do echo; done)`;
      const run = startInPty(
        reportingStatus(`${source} | ${DEV_CLI} scrape - --bootstrap ${dht.bootstrap} --fresh --timeout 500ms > ${q(out)}`),
        { env: { XDG_DATA_HOME: join(home, 'data') } },
      );
      running.push(run);
      await run.waitFor(/scraped 2\/2/, 90_000);
      run.type('\x03');
      const scriptCode = await run.exited;
      expect(run.output(), `script exit ${scriptCode}: ` + JSON.stringify(run.output().slice(-1500))).toContain('[exit 130]');
      expect(run.output()).toMatch(/scrape: 2 infohashes, 2 answered, 2 with peers.*\(interrupted\)/);
      const table = readFileSync(out, 'utf8');
      expect(table).toContain(IH[0]);
      expect(table).toContain(IH[1]);
    }, 150_000);
  });
});

describe('signals off a terminal', () => {
  it('crawl: SIGTERM flushes, saves and exits 143 with the summary', async () => {
    const home = tempHome();
    const db = join(home, 't.db');
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), 'crawl', '--testnet', '20000', '--json', '--db', db], {
      cwd: ROOT,
      env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', XDG_DATA_HOME: join(home, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no records in time; stderr: ${err}`)), 120_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 50) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    expect(await exited, err).toBe(143);
    const s = lastJson(err);
    expect(s).toMatchObject({ summary: 'crawl', stopped_by: 'aborted', state_saved: true });
    const printed = ndjson(out);
    expect(s.unique_infohashes).toBe(printed.length); // every record found was printed, none twice
  }, 180_000);

  it('routing save: SIGTERM ends the filling; nothing answered, so FILE is left alone; 143', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    try {
      const home = tempHome();
      const file = join(home, 'table.json');
      const args = ['routing', 'save', file, '--bootstrap', `127.0.0.1:${silent.address().port}`, '--fresh', '--duration', '120s', '--json'];
      const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), ...args], {
        cwd: ROOT,
        env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', XDG_DATA_HOME: join(home, 'data') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => silent.once('message', () => resolve())); // filling has begun
      child.kill('SIGTERM');
      expect(await exited, err).toBe(143);
      expect(err).toMatch(/no node answered/);
      expect(existsSync(file)).toBe(false);
    } finally {
      silent.close();
    }
  }, 90_000);

  it('a probe (ping of a silent node) ends on the first SIGINT with 130', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    try {
      const home = tempHome();
      const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), 'ping', `127.0.0.1:${silent.address().port}`, '--timeout', '60s', '--json'], {
        cwd: ROOT,
        env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', XDG_DATA_HOME: join(home, 'data') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      // the ping is on its way once our socket has received it
      await new Promise<void>((resolve) => silent.once('message', () => resolve()));
      child.kill('SIGINT');
      expect(await exited).toEqual({ code: 130, signal: null });
    } finally {
      silent.close();
    }
  }, 90_000);
});
