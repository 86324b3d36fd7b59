// `bitscrape report` opened the way a person opens it: in a real headless Chromium (Debian's
// chromium, installed by the pretest step). The page must load with no console error, every chart
// must have drawn marks with a size, and nothing may be wider than a 1280 px window.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/core/store/index.js';
import { openInChromium, type BrowserPage } from '../support/browser.js';
import { runCli, tempHome } from '../support/cli.js';

interface ChartCheck {
  kind: string;
  marks: number;
  drawn: number;
  width: number;
  height: number;
}

/** Per chart: how many marks it has, how many have a non-empty box, and its size on screen. */
const CHARTS = `[...document.querySelectorAll('svg.chart')].map((svg) => {
  const marks = [...svg.querySelectorAll('.mark')];
  const drawn = marks.filter((m) => { const b = m.getBBox(); return b.width > 0 && b.height > 0; }).length;
  const r = svg.getBoundingClientRect();
  return { kind: svg.dataset.chart, marks: marks.length, drawn, width: r.width, height: r.height };
})`;

async function openReport(file: string): Promise<BrowserPage> {
  return openInChromium(pathToFileURL(file).href, { width: 1280, height: 900 });
}

async function report(home: string, db: string, extra: string[] = []): Promise<string> {
  const out = join(home, 'report.html');
  const r = await runCli(['report', '--db', db, '-o', out, ...extra], { home });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^wrote .*report\.html: \d+ infohashes/);
  return out;
}

describe('bitscrape report in a real browser', () => {
  const home = tempHome();
  const db = join(home, 'crawl.db');
  const pages: BrowserPage[] = [];
  beforeAll(async () => {
    const crawl = await runCli(['crawl', '--testnet', '3000', '--seed', '5', '--db', db], { home, timeoutMs: 120_000 });
    expect(crawl.code, crawl.stderr).toBe(0);
  }, 150_000);
  afterAll(async () => {
    for (const p of pages) await p.close();
  });

  it('a crawl-only database draws discovery, cumulative, keyspace and client charts; scrape and metadata say they are missing', async () => {
    const file = await report(home, db);
    const page = await openReport(file);
    pages.push(page);
    const charts = await page.evaluate<ChartCheck[]>(CHARTS);
    expect(charts.map((c) => c.kind)).toEqual(['discovery-new', 'discovery-cumulative', 'keyspace', 'clients']);
    for (const c of charts) {
      expect(c.drawn, `${c.kind}: ${c.drawn} of ${c.marks} marks drawn`).toBeGreaterThan(0);
      expect(c.width).toBeGreaterThan(600);
      expect(c.width).toBeLessThanOrEqual(1280);
      expect(c.height).toBeGreaterThan(100);
    }
    // the heat strip has all 256 prefixes
    expect(charts.find((c) => c.kind === 'keyspace')!.marks).toBe(512);
    const text = await page.evaluate<string>('document.body.innerText');
    expect(text).toMatch(/No scrape results in this database/);
    expect(text).toMatch(/No torrent metadata in this database/);
    expect(text).toMatch(/answer BEP 51 sample_infohashes/);
    // every chart has a title and labelled axes
    const titles = await page.evaluate<string[]>(`[...document.querySelectorAll('svg.chart > title')].map((t) => t.textContent)`);
    expect(titles).toHaveLength(4);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
    expect(page.problems).toEqual([]);
  }, 90_000);

  it('with scrape results it draws the swarm histogram and the biggest swarms; network text is shown, not run', async () => {
    const store = SqliteStore.open(db);
    const some = [...store.listInfohashes({ limit: 30 })];
    store.updateScrape(some.map((r, i) => ({ infohash: Buffer.from(r.infohash, 'hex'), seeders: i * 7, leechers: i % 5, peers: i * 7 + (i % 5), scrapedAt: Date.now() })));
    // a node's client string comes from the network: it must arrive as text
    store.recordNodes([{ addr: '127.0.0.1:9', seenAt: Date.now(), client: '<img src=x onerror="console.error(1)">', bep51: false }]);
    // metadata for two of them, one with a hostile name
    for (const [i, name] of [[29, 'Big <b>bold</b> release'], [3, 'small one']] as const) {
      store.saveTorrent({
        infohash: Buffer.from(some[i].infohash, 'hex'),
        name,
        totalSize: i * 1_000_000,
        pieceLength: 262144,
        pieces: 4,
        private: false,
        version: '1',
        files: [{ path: 'video.mkv', length: i * 900_000 }, { path: 'notes.txt', length: i * 100_000 }],
        fetchedAt: Date.now(),
        sourceAddr: '127.0.0.1:6881',
        sourceClient: 'LT 2.0.8',
      });
    }
    store.close();
    const file = await report(home, db);
    expect(readFileSync(file, 'utf8')).not.toContain('<img');
    const page = await openReport(file);
    pages.push(page);
    const charts = await page.evaluate<ChartCheck[]>(CHARTS);
    const swarms = charts.find((c) => c.kind === 'swarms');
    expect(swarms?.drawn).toBeGreaterThan(0);
    const rows = await page.evaluate<number>(`document.querySelectorAll('#swarms table tbody tr').length`);
    expect(rows).toBe(20);
    expect(await page.evaluate<string>(`document.querySelector('#swarms table tbody td').textContent`)).toBe(some[29].infohash);
    const types = charts.find((c) => c.kind === 'file-types');
    expect(types?.marks).toBe(2);
    expect(types?.drawn).toBe(2);
    expect(await page.evaluate<string>(`document.querySelector('#metadata table tbody td').textContent`)).toBe('Big <b>bold</b> release');
    expect(await page.evaluate<number>(`document.querySelectorAll('#metadata table').length`)).toBe(2);
    expect(page.problems).toEqual([]);
  }, 90_000);

  it('an empty database gives a page that says so, with no chart and no error', async () => {
    const emptyDb = join(home, 'empty.db');
    SqliteStore.open(emptyDb).close();
    const file = await report(home, emptyDb);
    const page = await openReport(file);
    pages.push(page);
    expect(await page.evaluate<number>(`document.querySelectorAll('svg.chart').length`)).toBe(0);
    expect(await page.evaluate<string>('document.body.innerText')).toMatch(/This database holds nothing yet/);
    expect(page.problems).toEqual([]);
  }, 90_000);

  it('--since in the future leaves nothing to draw, and bad input is one line with exit 2', async () => {
    const future = await runCli(['report', '--db', db, '-o', '-', '--since', '2999-01-01T00:00:00Z'], { home });
    expect(future.code).toBe(0);
    expect(future.stdout).toMatch(/^<!doctype html>/);
    expect(future.stdout).toMatch(/holds nothing for this period/);
    const bad = await runCli(['report', '--db', db, '--since', 'yesterday-ish'], { home });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const dir = await runCli(['report', '--db', db, '-o', home], { home });
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/is a directory/);
    const missing = await runCli(['report', '--db', join(home, 'nope.db')], { home });
    expect(missing.code).toBe(2);
  }, 90_000);
});
