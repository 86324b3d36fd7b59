// Every duration flag takes a value with a unit (`2s`, `500ms`), through the one parser: a bare
// number is refused ("give a unit, e.g. 2s"; `--timeout 2000` used to wait 33 minutes), and so are
// zero where the flag gives 0 no meaning, negative values, NaN, 1e309 and values beyond the flag's
// ceiling: one line on stderr, exit 2. --help shows defaults with their unit. The table is read
// from the command classes themselves, so a duration-like flag added later as a bare integer (as
// `crawl --min-interval` was) fails here.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationFlag } from '../../src/cli/base-command.js';
import { MAX_DURATION_MS, checkDuration } from '../../src/cli/duration.js';
import { ROOT, ndjson, runCli, runCliBatch, tempHome } from '../support/cli.js';

/** Names that say "a length of time". */
const DURATION_LIKE = /timeout|duration|interval|every|older-than|deadline|delay|wait|ttl|age$/;

/** Positional arguments each command needs to get as far as its flags. */
const ARGS: Record<string, string[]> = {
  ping: ['127.0.0.1:1'],
  'find-node': ['0000000000000000000000000000000000000000'],
  'get-peers': ['0000000000000000000000000000000000000000'],
  announce: ['0000000000000000000000000000000000000000', '--implied-port'],
  sample: ['127.0.0.1:1'],
  get: ['0000000000000000000000000000000000000000'],
  put: ['x'],
  query: ['127.0.0.1:1', 'ping'],
  'routing save': ['x.json'],
  'routing load': ['x.json'],
  'routing show': ['x.json'],
  scrape: ['--from-db'],
};

interface FlagDef {
  parse?: unknown;
  max?: number;
  zero?: string;
  default?: unknown;
  defaultHelp?: (ctx: unknown) => Promise<string>;
  description?: string;
}

interface DurationFlagRow {
  command: string;
  flag: string;
  def: FlagDef;
}

const durationParse = (durationFlag({ description: '' }) as FlagDef).parse;

function commandFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

async function allFlags(): Promise<Array<DurationFlagRow>> {
  const dir = join(ROOT, 'src', 'commands');
  const out: DurationFlagRow[] = [];
  for (const file of commandFiles(dir)) {
    const command = relative(dir, file).replace(/\.ts$/, '').split('/').join(' ');
    const mod = (await import(file)) as { default: { flags?: Record<string, FlagDef> } };
    for (const [flag, def] of Object.entries(mod.default.flags ?? {})) out.push({ command, flag, def });
  }
  return out;
}

async function durationFlags(): Promise<DurationFlagRow[]> {
  return (await allFlags()).filter((f) => f.def.parse === durationParse);
}

function expectOneLine(r: { code: number | null; stdout: string; stderr: string }, what: string): string {
  expect(r.code, `${what}: ${r.stderr}`).toBe(2);
  expect(r.stdout, what).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, what).toHaveLength(1);
  expect(lines[0], what).not.toMatch(/internal error/);
  return lines[0];
}

describe('duration flags', () => {
  it('every duration-like flag is a duration flag (no integers of seconds, no strings)', async () => {
    const flags = await allFlags();
    const durationLike = flags.filter((f) => DURATION_LIKE.test(f.flag));
    expect(durationLike.length).toBeGreaterThanOrEqual(20);
    for (const f of durationLike) expect(f.def.parse, `${f.command} --${f.flag} is not a duration flag`).toBe(durationParse);
    // --help says what 0 means wherever 0 is taken
    for (const f of await durationFlags()) {
      if (f.def.zero !== undefined) expect(f.def.description, `${f.command} --${f.flag}`).toMatch(/\b0: /);
    }
  });

  it('a bare number, zero where 0 means nothing, negative, NaN, 1e309 and beyond the ceiling: one line, exit 2, for every duration flag', async () => {
    const flags = await durationFlags();
    const cases: Array<{ row: DurationFlagRow; value: string; expect: RegExp }> = [];
    for (const row of flags) {
      const max = row.def.max ?? MAX_DURATION_MS;
      cases.push({ row, value: '2000', expect: /'2000' has no unit: give a unit, e\.g\. 2s/ });
      cases.push({ row, value: '-1s', expect: /invalid duration '-1s'/ });
      cases.push({ row, value: 'NaN', expect: /invalid duration 'NaN'/ });
      cases.push({ row, value: '1e309', expect: /invalid duration '1e309'/ });
      cases.push({ row, value: `${max + 1}ms`, expect: /is longer than the maximum/ });
      if (row.def.zero === undefined) {
        cases.push({ row, value: '0', expect: /must be more than 0/ });
        cases.push({ row, value: '0s', expect: /must be more than 0/ });
      }
    }
    const runs = await runCliBatch(cases.map((c) => [...c.row.command.split(' '), ...(ARGS[c.row.command] ?? []), `--${c.row.flag}`, c.value]));
    cases.forEach((c, i) => {
      const what = `${c.row.command} --${c.row.flag} ${c.value}`;
      const line = expectOneLine(runs[i], what);
      expect(line, what).toContain(`--${c.row.flag}: `);
      expect(line, what).toMatch(c.expect);
    });
  }, 180_000);

  it('defaults are shown with their unit in --help, and read back as the same value', async () => {
    for (const f of await durationFlags()) {
      if (typeof f.def.default !== 'number') continue;
      const shown = await f.def.defaultHelp!({});
      expect(shown, `${f.command} --${f.flag}`).toMatch(/^\d+(ms|s|m|h|d)$/);
      expect(checkDuration(shown, f.def as never)).toEqual({ ok: true, ms: f.def.default });
    }
    const [node, ping] = await runCliBatch([['node', '--help'], ['ping', '--help']]);
    expect(node.stdout).toContain('[default: 30s]');
    expect(node.stdout).toContain('[default: 10m]');
    expect(node.stdout).toContain('[default: 6h]');
    expect(ping.stdout).toContain('[default: 2s]');
    for (const help of [node.stdout, ping.stdout]) expect(help).not.toMatch(/\[default: \d+\]\s+(per-query|how often|BEP 51)/);
  }, 120_000);

  it('0 means off where --help says so: node --stats-every 0 prints no stats; crawl --min-interval 0 and 5s run', async () => {
    const home = tempHome();
    const [node, crawl0, crawl5] = await Promise.all([
      runCli(['node', '--port', '0', '--json', '--stats-every', '0', '--save-every', '0', '--duration', '2s'], { home }),
      runCli(['crawl', '--testnet', '30', '--json', '--min-interval', '0']),
      runCli(['crawl', '--testnet', '30', '--json', '--min-interval', '5s']),
    ]);
    expect(node.code, node.stderr).toBe(0);
    const events = ndjson(node.stdout).map((e) => e.event);
    expect(events).toContain('started');
    expect(events).not.toContain('stats');
    for (const r of [crawl0, crawl5]) {
      expect(r.code, r.stderr).toBe(0);
      expect(ndjson(r.stdout).length).toBeGreaterThan(0);
    }
    // whole seconds only for BEP 51 intervals
    const [half] = await runCliBatch([['crawl', '--testnet', '30', '--min-interval', '1500ms']]);
    expect(expectOneLine(half, 'min-interval 1500ms')).toMatch(/--min-interval: duration '1500ms' is not whole seconds/);
  }, 120_000);

  it('integers likewise: a seed beyond 32 bits (it would wrap to another world) is one line, exit 2', async () => {
    const runs = await runCliBatch([
      ['crawl', '--testnet', '10', '--seed', '99999999999999999999'],
      ['testnet', '--seed', '4294967296'],
      ['testnet', '--seed', '-1'],
    ]);
    for (const r of runs) expect(expectOneLine(r, r.stderr)).toMatch(/--seed: /);
  }, 120_000);

  it('--since takes the same durations (or a date), never a bare number', async () => {
    const runs = await runCliBatch([
      ['db', 'list', '--since', '5'],
      ['db', 'list', '--since', '-1h'],
      ['db', 'list', '--since', '99999999999999999999d'],
    ]);
    expect(expectOneLine(runs[0], '--since 5')).toMatch(/--since '5': give a unit, e\.g\. 6h/);
    expectOneLine(runs[1], '--since -1h');
    expect(expectOneLine(runs[2], '--since huge')).toMatch(/longer than the maximum/);
  }, 120_000);
});
