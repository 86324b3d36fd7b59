// Every size flag (counts, limits, concurrency, simulated sizes) has a ceiling stated in its
// --help text, and a value beyond it is one line on stderr and exit 2, not an allocation failure
// ("crawl --testnet-infohashes 1e9": internal error) or a database error ("db list --limit
// 99999999999999999999": datatype mismatch). The table is read from the command classes
// themselves, so a size flag added later without a ceiling fails here.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Flags } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { ROOT, ndjson, runCli, runCliBatch, tempHome } from '../support/cli.js';

/** Integer flags that name something rather than count it. */
const NOT_SIZES = new Set(['seed', 'port', 'base-port', 'peer-port']);

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

interface SizeFlag {
  command: string;
  flag: string;
  max: number | undefined;
  description: string;
}

const integerParse = Flags.integer().parse;

function commandFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

async function sizeFlags(): Promise<SizeFlag[]> {
  const dir = join(ROOT, 'src', 'commands');
  const out: SizeFlag[] = [];
  for (const file of commandFiles(dir)) {
    const command = relative(dir, file).replace(/\.ts$/, '').split('/').join(' ');
    const mod = (await import(file)) as { default: { flags?: Record<string, { parse?: unknown; max?: number; description?: string }> } };
    for (const [flag, def] of Object.entries(mod.default.flags ?? {})) {
      if (def.parse !== integerParse || NOT_SIZES.has(flag)) continue;
      out.push({ command, flag, max: def.max, description: def.description ?? '' });
    }
  }
  return out;
}

describe('size flags', () => {
  it('every size flag has a ceiling, stated in its --help text', async () => {
    const flags = await sizeFlags();
    expect(flags.length).toBeGreaterThanOrEqual(25);
    for (const f of flags) {
      expect(f.max, `${f.command} --${f.flag} has no ceiling`).toBeTypeOf('number');
      expect(f.description, `${f.command} --${f.flag}: --help does not state the ceiling`).toContain(`at most ${f.max}`);
    }
  });

  it('a value beyond the ceiling is one line on stderr and exit 2, for every size flag', async () => {
    const flags = (await sizeFlags()).filter((f) => f.max !== undefined);
    const runs = await runCliBatch(flags.map((f) => [...f.command.split(' '), ...(ARGS[f.command] ?? []), `--${f.flag}`, String(f.max! + 1)]));
    flags.forEach((f, i) => {
      const r = runs[i];
      const what = `${f.command} --${f.flag} ${f.max! + 1}: ${r.stderr}`;
      expect(r.code, what).toBe(2);
      expect(r.stdout, what).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, what).toHaveLength(1);
      expect(lines[0], what).toContain(`--${f.flag}`);
      expect(lines[0], what).toContain(`less than or equal to ${f.max}`);
    });
  }, 120_000);

  it('the values from the report: huge simulated sizes and limits are refused up front', async () => {
    const home = tempHome();
    const runs = await Promise.all([
      runCli(['crawl', '--testnet', '100', '--testnet-infohashes', '1000000000'], { home }),
      runCli(['db', 'list', '--limit', '99999999999999999999'], { home }),
    ]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).not.toMatch(/internal error|datatype mismatch/);
    }
  }, 120_000);

  it('a limit at its ceiling works on a real database (no datatype mismatch)', async () => {
    const home = tempHome();
    const db = join(home, 'c.db');
    const crawl = await runCli(['crawl', '--testnet', '40', '--db', db, '--json', '--max-queries', '1000000000000'], { home });
    expect(crawl.code, crawl.stderr).toBe(0);
    const printed = ndjson(crawl.stdout).length;
    expect(printed).toBeGreaterThan(0);
    const [list, exported] = await Promise.all([
      runCli(['db', 'list', '--db', db, '--json', '--limit', '1000000000000'], { home }),
      runCli(['db', 'export', '--db', db, '--limit', '1000000000000'], { home }),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(ndjson(list.stdout)).toHaveLength(printed);
    expect(exported.code, exported.stderr).toBe(0);
    expect(ndjson(exported.stdout)).toHaveLength(printed);
  }, 120_000);
});
