// Human output as a person sees it: every command's tables and key-value blocks under a real
// 80-column pseudo-terminal, against real bitscrape nodes on 127.0.0.1 (the in-process testnet).
// No line may be wider than the terminal, and no row may be broken into fragments.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet, type TestnetState } from '../../src/core/dht/udp-testnet.js';
import { runCli, tempHome } from '../support/cli.js';
import { displayWidth } from '../../src/output/text.js';
import { plain, runInPty, widest, type PtyResult } from '../support/pty.js';

const COLS = 80;
const SHORT_ID = '[0-9a-f]{4}…[0-9a-f]{4}';
const ADDR = '127\\.0\\.0\\.1:\\d+';
/** Generous: the CLI starts through tsx on a machine shared with other test runs. */
const RUN_MS = 120_000;

let net: Testnet;
let state: TestnetState;
let home: string;
let routingFile: string;
let db: string;

beforeAll(async () => {
  net = await Testnet.start({ nodes: 10, infohashes: 3, seed: 21, fillMsPerNode: 2000 });
  state = net.state();
  home = tempHome();
  routingFile = join(home, 'routing.json');
  db = join(home, 'crawl.db');
  const saved = await runCli(['routing', 'save', routingFile, '--bootstrap', state.bootstrap, '--duration', '5s', '--fresh'], { home, timeoutMs: RUN_MS });
  expect(saved.code, saved.stderr).toBe(0);
  const crawled = await runCli(['crawl', '--testnet', '150', '--db', db, '--json'], { home, timeoutMs: RUN_MS });
  expect(crawled.code, crawled.stderr).toBe(0);
}, 4 * RUN_MS);

afterAll(async () => {
  await net?.close();
});

async function tty(args: string[], terminal: 'stdout' | 'stderr' = 'stdout', cols = COLS): Promise<PtyResult> {
  // CI=1 keeps the spinner off stderr when stderr is the terminal under test.
  const r = await runInPty(args, { cols, home, terminal, timeoutMs: RUN_MS, env: terminal === 'stderr' ? { CI: '1' } : {} });
  expect(widest(r.lines), r.lines.join('\n')).toBeLessThanOrEqual(cols);
  return r;
}

/** The lines after a table's header line (which must be there). */
function after(lines: string[], header: RegExp): string[] {
  const start = lines.findIndex((l) => header.test(l));
  expect(start, `no header ${header} in:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  return lines.slice(start + 1);
}

describe('human output at 80 columns', () => {
  it('ping: one line per node, an unanswered address wrapped only in its status column', async () => {
    const targets = state.nodes.slice(0, 3).map((n) => n.address);
    const r = await tty(['ping', ...targets, '127.0.0.1:9', '--timeout', '500ms', '--fresh']);
    expect(r.code).toBe(0);
    const ok = after(r.lines, /^address +id +client +rtt ms +our address +BEP 42 +status$/).filter((l) => l.endsWith(' ok'));
    expect(ok).toHaveLength(3);
    for (const l of ok) expect(l).toMatch(new RegExp(`^${ADDR} +${SHORT_ID} {2}BS \\S+ +[\\d.]+ {2}${ADDR} {2}exempt {2}ok$`));
    const dead = r.lines.findIndex((l) => l.startsWith('127.0.0.1:9 '));
    expect(r.lines[dead]).toMatch(/^127\.0\.0\.1:9 +timeout/);
    // Continuation lines carry only the status column's words.
    const statusAt = r.lines[dead].indexOf('timeout');
    for (const l of r.lines.slice(dead + 1)) expect(l.slice(0, statusAt).trim()).toBe('');
    expect(r.lines.slice(dead).join(' ').replace(/ +/g, ' ')).toMatch(/timeout after 2 attempts|timeout after 1 attempt/);
  }, RUN_MS);

  it('find-node and get-peers: every node on one line, ids shortened', async () => {
    const fn = await tty(['find-node', state.nodes[4].id, '--bootstrap', state.bootstrap, '--fresh']);
    expect(fn.code).toBe(0);
    const nodes = fn.lines.filter((l) => /^[0-9a-f]{4}…/.test(l));
    expect(nodes.length).toBeGreaterThanOrEqual(8);
    for (const l of nodes) expect(l).toMatch(new RegExp(`^${SHORT_ID} {2}${ADDR} +\\d+ +[\\d.]+ {2}BS \\S+$`));
    expect(fn.lines.filter((l) => l.trim() !== '')).toHaveLength(nodes.length + 1);

    const ih = state.infohashes[0];
    const gp = await tty(['get-peers', ih.infohash, '--bootstrap', state.bootstrap, '--fresh']);
    expect(gp.code).toBe(0);
    const peers = gp.lines.filter((l) => new RegExp(`^${ADDR} `).test(l));
    expect(peers.map((l) => l.split(' ')[0]).sort()).toEqual([...ih.announcers].sort());
    for (const l of peers) expect(l).toMatch(new RegExp(`^${ADDR} +${SHORT_ID}( ${SHORT_ID})*$`));
    const withTokens = gp.lines.filter((l) => new RegExp(`^${SHORT_ID} {2}${ADDR} +\\d+ {2}[0-9a-f]{8} {2}BS \\S+$`).test(l));
    expect(withTokens.length).toBeGreaterThanOrEqual(8);

    // The lookup summary on stderr: wrapped at spaces, continuation lines indented.
    const note = await tty(['find-node', state.nodes[4].id, '--bootstrap', state.bootstrap, '--fresh'], 'stderr');
    expect(note.lines.length).toBeGreaterThan(1);
    for (const l of note.lines.slice(1)) expect(l).toMatch(/^ {2}\S/);
    expect(note.lines.map((l) => l.trim()).join(' ')).toMatch(new RegExp(`^target ${state.nodes[4].id}: \\d+ nodes; \\d+ queries, \\d+ replies, \\d+ timeouts, \\d+ errors, \\d+ rounds, \\d+ ms \\(\\w+\\)$`));
  }, 3 * RUN_MS);

  it('sample and announce: one line per node', async () => {
    const holder = state.infohashes[0].holders[0];
    const s = await tty(['sample', holder, '--fresh']);
    expect(s.code).toBe(0);
    expect(s.lines[0]).toMatch(/^address +samples +num +interval +nodes +client +status$/);
    expect(s.lines[1]).toMatch(new RegExp(`^${holder.replace(/\./g, '\\.')} +[1-9]\\d* +[1-9]\\d* +\\d+ +\\d+ {2}BS \\S+ {2}ok$`));

    const a = await tty(['announce', state.infohashes[1].infohash, '--implied-port', '--bootstrap', state.bootstrap, '--fresh']);
    expect(a.code).toBe(0);
    const rows = a.lines.filter((l) => /^[0-9a-f]/.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const l of rows) expect(l).toMatch(new RegExp(`^(${SHORT_ID}|[0-9a-f]{40}) {2}${ADDR} +(yes|no)( .*)?$`));
  }, 2 * RUN_MS);

  it('routing show --nodes and routing load: key-value blocks and tables', async () => {
    const show = await tty(['routing', 'show', routingFile, '--nodes']);
    expect(show.code).toBe(0);
    expect(show.lines[0]).toMatch(/^routing file +\S+routing\.json$/);
    expect(show.lines).toContainEqual(expect.stringMatching(/^id +[0-9a-f]{40}$/));
    const buckets = after(show.lines, /^bucket +prefix bits +nodes +good +questionable +replacements +newest seen$/);
    expect(buckets[0]).toMatch(/^ +0 +\d+ +\d+ +\d+ +\d+ +\d+ {2}\S+ ago$/);
    const nodeRows = show.lines.filter((l) => new RegExp(`^ +\\d+ {2}${ADDR} {2}${SHORT_ID} {2}`).test(l));
    expect(nodeRows.length).toBeGreaterThanOrEqual(8);

    const load = await tty(['routing', 'load', routingFile, '--fresh']);
    expect(load.code).toBe(0);
    const alive = load.lines.filter((l) => new RegExp(`^${ADDR} {2}${SHORT_ID} {2}alive +[\\d.]+ {2}BS \\S+$`).test(l));
    expect(alive.length).toBe(nodeRows.length);
    expect(load.lines).toContainEqual(expect.stringMatching(new RegExp(`^nodes alive +${alive.length} of ${alive.length}$`)));
  }, 2 * RUN_MS);

  it('scrape --peers: one infohash per line, its peers under each other in the last column', async () => {
    const ih = state.infohashes[2];
    const r = await tty(['scrape', ih.infohash, '--peers', '--bootstrap', state.bootstrap, '--fresh']);
    expect(r.code).toBe(0);
    const at = r.lines.findIndex((l) => /^[0-9a-f]{4}…/.test(l) || l.startsWith(ih.infohash));
    expect(r.lines[at]).toMatch(new RegExp(`^(${SHORT_ID}|${ih.infohash}) +\\d+\\.\\d +\\d+\\.\\d +2 .* ${ADDR}$`));
    const column = r.lines[at].lastIndexOf(' ') + 1;
    expect(r.lines[at + 1].slice(0, column).trim()).toBe('');
    expect([r.lines[at].slice(column), r.lines[at + 1].slice(column)].sort()).toEqual([...ih.announcers].sort());
  }, RUN_MS);

  it('db list, db stats and the crawl summary on stderr', async () => {
    const list = await tty(['db', 'list', '--db', db, '--limit', '10']);
    expect(list.code).toBe(0);
    expect(list.lines[0]).toMatch(/^infohash +first seen +seen +source client +seeders +leechers$/);
    expect(list.lines.slice(1)).toHaveLength(10);
    for (const l of list.lines.slice(1)) expect(l).toMatch(new RegExp(`^${SHORT_ID} {2}\\d{4}-\\d\\d-\\d\\dT\\S+Z +\\d+ {2}\\S`));

    const stats = await tty(['db', 'stats', '--db', db]);
    expect(stats.code).toBe(0);
    expect(stats.lines[0]).toMatch(/^infohashes +\d+$/);
    const clients = after(stats.lines, /^client +nodes +BEP 51 nodes +infohashes sourced$/);
    expect(clients.length).toBeGreaterThanOrEqual(2);
    for (const l of clients) expect(l).toMatch(/^\S.* +\d+ +\d+ +\d+$/);

    const crawl = await tty(['crawl', '--testnet', '150'], 'stderr');
    expect(crawl.code).toBe(0);
    expect(crawl.lines).toContainEqual(expect.stringMatching(/^infohash recall +\d+(\.\d)?% \(/));
    // No database: figures about "new to the database" have no meaning and are not shown.
    expect(crawl.lines.join('\n')).not.toMatch(/new to the database|queries per new infohash| -$/m);
  }, 3 * RUN_MS);

  it('crawl: the spinner keeps its status line on one row of the terminal', async () => {
    // No CI here: the spinner runs, as for a person at the terminal.
    const r = await runInPty(['crawl', '--testnet', '1000'], { cols: COLS, home, terminal: 'stderr', timeoutMs: RUN_MS });
    expect(r.code).toBe(0);
    // ora draws each frame between the terminal's synchronized-output marks
    const frames = r.raw
      .split('\x1b[?2026h')
      .slice(1)
      .map((f) => plain(f.split('\x1b[?2026l')[0]));
    const status = frames.filter((f) => f.includes('keyspace'));
    expect(status.length, r.raw.slice(-2000)).toBeGreaterThan(0);
    for (const f of frames) expect(displayWidth(f), f).toBeLessThan(COLS);
    expect(frames.some((f) => f.includes(' | ')), status.join('\n')).toBe(true); // cut by parts, not to nothing
  }, RUN_MS);

  it('crawl --list-strategies wraps the description at 50 columns', async () => {
    const r = await tty(['crawl', '--list-strategies'], 'stdout', 50);
    expect(r.lines[0]).toMatch(/^strategy +plugin +description$/);
    expect(r.lines[1]).toMatch(/^keyspace +bitscrape +\S/);
    expect(r.lines.length).toBeGreaterThan(2);
  }, RUN_MS);
});
