// `testnet` stops on SIGTERM / Ctrl-C during its start-up, not only once the network is ready.
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliEnv, cliNodeArgs, ROOT, tempHome } from '../support/cli.js';

/** UDP sockets the process holds: how far its start-up got. */
function sockets(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  } catch {
    return 0;
  }
}

describe('testnet start-up', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} while the nodes are still starting stops it, exit 0`, async () => {
      const home = tempHome();
      // far more nodes than start within the test's time: only the signal can end this run
      const child = spawn(process.execPath, [...cliNodeArgs(), 'testnet', '--nodes', '1500', '--infohashes', '5', '--json'], {
        cwd: ROOT,
        env: cliEnv(home),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const hardStop = setTimeout(() => child.kill('SIGKILL'), 110_000);
      try {
        // wait (bounded) until the start-up is under way: its node sockets are being bound
        const until = Date.now() + 60_000;
        while (sockets(child.pid!) < 50 && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
        expect(sockets(child.pid!), stderr).toBeGreaterThanOrEqual(50);
        const sentAt = Date.now();
        child.kill(sig);
        const code = await exited;
        expect(code, stderr).toBe(0);
        expect(Date.now() - sentAt, stderr).toBeLessThan(30_000);
        expect(stdout).toBe(''); // never ready: no state printed
        expect(stderr).toMatch(new RegExp(`stopped by ${sig} during start-up`));
      } finally {
        clearTimeout(hardStop);
        child.kill('SIGKILL');
      }
    }, 120_000);
  }
});
