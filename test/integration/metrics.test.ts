// `--metrics HOST:PORT`: Prometheus text at /metrics while the command runs, fetched the way a
// Prometheus server fetches it, during the run.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, type RunningCli } from '../support/cli.js';

const running: RunningCli[] = [];
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

/** One UDP datagram to the node; resolves with its reply, or null after 3 s. */
function udp(port: number, data: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, 3000);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(msg);
    });
    s.send(data, port, '127.0.0.1');
  });
}

/** The value of one sample line, e.g. `bitscrape_queries_received_total{method="ping"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('node --metrics', () => {
  it('serves queries received, answered, malformed datagrams and the routing table while it runs', async () => {
    const node = startCli(['node', '--fresh', '--port', '0', '--json', '--metrics', '127.0.0.1:0', '--stats-every', '1h']);
    running.push(node);
    const started = JSON.parse(await node.waitForLine(/"event":"started"/)) as { addresses: string[]; metrics: string };
    expect(started.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const port = Number(started.addresses[0].split(':').pop());

    const ping = Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe');
    expect(await udp(port, ping)).not.toBeNull();
    expect(await udp(port, ping)).not.toBeNull();
    await udp(port, Buffer.from('this is not bencode'));

    const res = await fetch(started.metrics);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'bitscrape_queries_received_total{method="ping"}')).toBe(2);
    expect(sample(text, 'bitscrape_queries_answered_total')).toBe(2);
    expect(sample(text, 'bitscrape_datagrams_malformed_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'bitscrape_routing_table_nodes{state="good"}')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^# TYPE bitscrape_queries_received_total counter$/m);
    expect(text).toMatch(/^bitscrape_process_resident_memory_bytes \d+/m);

    expect((await fetch(started.metrics.replace('/metrics', '/'))).status).toBe(404);

    node.child.kill('SIGTERM');
    const end = await node.exited;
    expect(end.code).toBe(0);
    // the endpoint goes away with the node
    await expect(fetch(started.metrics)).rejects.toThrow();
  }, 60_000);

  it('a bad --metrics value is one line and exit 2', async () => {
    for (const bad of ['nothost:9', '127.0.0.1:99999', 'example.com:9464']) {
      const r = await runCli(['node', '--fresh', '--metrics', bad, '--duration', '1s']);
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--metrics/);
    }
  }, 60_000);
});

describe('crawl --metrics', () => {
  it('serves the crawl figures, queries and store write times while it runs; progress lines under --json', async () => {
    const home = (await import('../support/cli.js')).tempHome();
    const crawl = startCli(['crawl', '--testnet', '20000', '--seed', '4', '--json', '--db', `${home}/c.db`, '--metrics', '127.0.0.1:0'], {
      home,
      env: { BITSCRAPE_PROGRESS_EVERY_MS: '200' },
    });
    running.push(crawl);
    await crawl.waitForLine(/"infohash"/, 90_000);
    // the figures are the crawl's statistics, updated with each progress report
    const deadline = Date.now() + 60_000;
    while (!crawl.stderr().includes('{"progress":"crawl"') && Date.now() < deadline && crawl.child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    const url = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(crawl.stderr())?.[1];
    expect(url, crawl.stderr()).toBeDefined();
    const text = await (await fetch(url!)).text();
    expect(sample(text, 'bitscrape_crawl_queries_total')).toBeGreaterThan(0);
    expect(sample(text, 'bitscrape_crawl_progress')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'bitscrape_infohashes_found_total')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^# TYPE bitscrape_store_write_seconds histogram$/m);
    // the figures are checked: stop the crawl as Ctrl-C would rather than wait out its pass (long on a loaded machine)
    crawl.child.kill('SIGINT');
    const r = await crawl.exited;
    expect([130, 0], r.stderr).toContain(r.code); // 0 only if the pass had already ended
    const progress = r.stderr.split('\n').filter((l) => l.startsWith('{"progress":"crawl"'));
    expect(progress.length).toBeGreaterThan(0);
    expect(JSON.parse(progress[0])).toMatchObject({ progress: 'crawl' });
    expect(typeof JSON.parse(progress[0]).queries_sent).toBe('number');
  }, 150_000);
});
