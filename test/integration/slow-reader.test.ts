// Slow and stuck stdout readers (a child whose stdout pipe we stop reading): `node --json` drops
// and counts events instead of queueing them without bound; a crawl waits for its reader and
// loses no record once the reader reads again; and a stuck reader never keeps SIGTERM from ending
// a run promptly.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, ndjson, runCli, tempHome } from '../support/cli.js';
import { encode } from '../../src/core/wire/bencode.js';

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Child {
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
  /** Exit code, or 'timeout' when it did not exit within ms. */
  exitWithin(ms: number): Promise<number | null | 'timeout'>;
}

/** Starts the CLI with stdout as a pipe that nobody reads until the test says so. */
function start(args: string[], home: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(ROOT, 'bin', 'dev.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, BITSCRAPE_LOOPBACK_ONLY: '1', NO_COLOR: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout.pause();
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => err,
    exitWithin: (ms) => Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]),
  };
}

/** Reads the rest of a child's stdout (after it exited, what the pipe still holds). */
function readAll(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout.on('end', () => resolve(out));
    child.stdout.resume();
  });
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lastJson = (stderr: string): Record<string, any> => JSON.parse(stderr.trim().split('\n').pop()!);

describe('a reader that does not read', () => {
  it('node --json under a flood of get_peers keeps its output bounded, counts dropped events, and obeys SIGTERM', async () => {
    const home = tempHome();
    const node = start(['node', '--port', '0', '--json', '--inbound-rate', '0', '--stats-every', '1h', '--routing-file', join(home, 'routing.json')], home);
    // the first line (started) tells the port; then nobody reads any more
    const firstLine = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const onData = (d: Buffer): void => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        node.child.stdout.off('data', onData);
        node.child.stdout.pause();
        resolve(buf.slice(0, nl));
      };
      node.child.stdout.on('data', onData);
      node.child.stdout.resume();
      setTimeout(() => reject(new Error(`node did not start: ${node.stderr()}`)), 60_000);
    });
    const started = JSON.parse(firstLine) as { event: string; addresses: string[] };
    expect(started.event).toBe('started');
    const port = Number(started.addresses[0].split(':').pop());

    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
    let pong = false;
    sock.on('message', (msg) => {
      if (msg.includes('1:t2:zz')) pong = true;
    });
    try {
      const id = Buffer.alloc(20, 7);
      const FLOOD = 30_000; // ~170 bytes of event each: about 5 MB, five times the bound
      for (let i = 0; i < FLOOD; i++) {
        const ih = Buffer.alloc(20);
        ih.writeUInt32BE(i + 1, 0);
        const t = Buffer.alloc(2);
        t.writeUInt16BE(i % 65_000, 0);
        sock.send(encode({ a: { id, info_hash: ih }, q: 'get_peers', t, y: 'q' }), port, '127.0.0.1');
        if (i % 200 === 199) await new Promise((r) => setTimeout(r, 2)); // bounded pace: the kernel keeps most of them
      }
      // datagrams are handled in order: once a ping is answered, the flood has been seen (the
      // ping is sent again until then, as a full socket buffer may drop it)
      const ping = encode({ a: { id }, q: 'ping', t: 'zz', y: 'q' });
      const again = setInterval(() => sock.send(ping, port, '127.0.0.1'), 500);
      try {
        sock.send(ping, port, '127.0.0.1');
        await until(() => pong, 60_000, 'the ping after the flood');
      } finally {
        clearInterval(again);
      }

      const sent = Date.now();
      node.child.kill('SIGTERM');
      const code = await node.exitWithin(15_000);
      expect(code, node.stderr()).toBe(0);
      const tookMs = Date.now() - sent;
      expect(tookMs).toBeLessThan(15_000);

      const summary = lastJson(node.stderr());
      expect(summary).toMatchObject({ summary: 'node', reason: 'signal' });
      expect(summary.infohashes_seen).toBeGreaterThan(10_000);
      expect(summary.events_dropped).toBeGreaterThan(0);
      const rest = await readAll(node.child);
      // the queue never held more than its bound (1 MiB) beyond what the pipe itself buffers
      expect(rest.length).toBeLessThan(1.5 * 1024 * 1024);
      const delivered = ndjson(rest).filter((r) => r.event === 'infohash').length;
      expect(delivered + summary.events_dropped).toBeLessThanOrEqual(summary.infohashes_seen);
      expect(delivered).toBeGreaterThan(0);
    } finally {
      sock.close();
    }
  }, 180_000);

  it('crawl waits for a paused reader and loses no record once it reads again', async () => {
    const args = ['crawl', '--testnet', '1000', '--seed', '9', '--json', '--no-db'];
    // the same crawl with a reader that keeps up: what to expect, and how long it takes here
    const t0 = Date.now();
    const free = await runCli(args, { timeoutMs: 120_000 });
    const freeMs = Date.now() - t0;
    expect(free.code, free.stderr).toBe(0);
    const expected = new Set(ndjson(free.stdout).map((r) => r.infohash as string));
    expect(expected.size).toBeGreaterThan(800); // far more than the pipe buffers hold

    const home = tempHome();
    const crawl = start(args, home);
    await until(() => crawl.child.stdout.readableLength > 0, 120_000, 'the first records');
    // longer than the whole crawl took with a reader: without waiting, it would be over by now
    await new Promise((r) => setTimeout(r, Math.max(5000, freeMs)));
    expect(crawl.child.exitCode).toBeNull();
    expect(crawl.stderr()).not.toMatch(/"summary":"crawl"/);

    const out = readAll(crawl.child);
    expect(await crawl.exitWithin(120_000), crawl.stderr()).toBe(0);
    const records = ndjson(await out).map((r) => r.infohash as string);
    const summary = lastJson(crawl.stderr());
    expect(records.length).toBe(summary.unique_infohashes);
    expect(new Set(records).size).toBe(records.length);
    expect(new Set(records)).toEqual(expected);
  }, 300_000);

  it('crawl with a stuck reader: SIGTERM still ends it promptly, with its summary and 143', async () => {
    const home = tempHome();
    const crawl = start(['crawl', '--testnet', '20000', '--json', '--db', join(home, 's.db')], home);
    await until(() => crawl.child.stdout.readableLength > 0, 120_000, 'the first records');
    await new Promise((r) => setTimeout(r, 2000)); // now the pipe is full and the crawl waits
    const sent = Date.now();
    crawl.child.kill('SIGTERM');
    expect(await crawl.exitWithin(15_000), crawl.stderr()).toBe(143);
    expect(Date.now() - sent).toBeLessThan(15_000);
    expect(lastJson(crawl.stderr())).toMatchObject({ summary: 'crawl', stopped_by: 'aborted', state_saved: true });
  }, 180_000);
});
