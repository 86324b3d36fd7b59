// The pretest step (scripts/test-deps.sh) is what makes `npm ci && npm test` the whole set-up on a
// fresh machine: it must pass silently when everything is there, and as a non-root user name the
// missing Debian packages with the one command to run, and fail.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const SCRIPT = join(ROOT, 'scripts', 'test-deps.sh');

function run(list: string | undefined, asNobody = false, script = SCRIPT): { code: number | null; stderr: string } {
  const env = { ...process.env, ...(list ? { BITSCRAPE_TEST_DEPS: list } : {}) };
  const cmd = asNobody ? ['runuser', ['-u', 'nobody', '--', 'bash', script]] as const : ['bash', [script]] as const;
  const r = spawnSync(cmd[0], [...cmd[1]], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

describe('scripts/test-deps.sh (pretest)', () => {
  it('passes silently when the test packages are installed (the real list)', () => {
    const r = run(undefined);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('as a non-root user, names the missing packages and the command to install them, and fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-deps-'));
    chmodSync(dir, 0o755);
    const list = join(dir, 'deps.txt');
    writeFileSync(list, '# comment\nbash|true\nbitscrape-no-such-package|false\n');
    chmodSync(list, 0o644);
    // a copy nobody can read, wherever the checkout lives
    const script = join(dir, 'test-deps.sh');
    copyFileSync(SCRIPT, script);
    chmodSync(script, 0o755);
    const r = run(list, true, script);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not installed: bitscrape-no-such-package');
    expect(r.stderr).toContain('apt-get install -y bitscrape-no-such-package');
    expect(r.stderr).not.toContain(' bash');
  });
});
