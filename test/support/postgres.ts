// A throwaway PostgreSQL cluster for one test run (Debian's `postgresql`, installed by the pretest
// step): initdb into a temp directory, listen on 127.0.0.1 at a free port, password
// authentication for TCP so URLs with a password are tested as users write them. PostgreSQL
// refuses to run as root, so under root the cluster runs as the `postgres` user the package made.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresCluster {
  /** postgres://bitscrape:PASSWORD@127.0.0.1:PORT — add a database name. */
  base: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Immediate shutdown (SIGQUIT: no checkpoint, crash recovery on restart), data kept. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory. */
function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (npm test installs it as root)');
  return join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a server binary as the cluster's owner (the postgres user when we are root); setpriv execs, so signals reach it. */
function asOwner(bin: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', bin, ...args]] : [bin, args];
}

interface Running {
  halt(signal: NodeJS.Signals): Promise<void>;
}

/** Starts the server and waits until it accepts connections. */
async function launch(cmd: string, args: string[]): Promise<Running> {
  const server = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (d: Buffer) => {
    if (log.length < 20_000) log += d.toString();
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (/ready to accept connections/.test(log)) break;
    if (server.exitCode !== null) throw new Error(`postgres exited: ${log}`);
    if (Date.now() > deadline) {
      server.kill('SIGKILL');
      throw new Error(`postgres did not start within 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    async halt(signal) {
      if (server.exitCode !== null || server.signalCode !== null) return;
      server.kill(signal);
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (!stopped) {
        server.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export interface StartPostgresOptions {
  /** Commits reach the WAL before they return (synchronous_commit on), so a crash() loses no commit. */
  durable?: boolean;
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'bitscrape-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, password + '\n');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  chmodSync(dir, 0o700);
  const [initCmd, initArgs] = asOwner(join(bin, 'initdb'), ['-D', data, '-U', 'bitscrape', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync']);
  execFileSync(initCmd, initArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  // fsync off and a small footprint: a test cluster that an OS crash may lose (a server crash
  // loses nothing committed when durable; otherwise the last commits may be lost too)
  const options = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', `synchronous_commit=${opts.durable ? 'on' : 'off'}`, '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'shared_buffers=32MB'];
  const [cmd, args] = asOwner(join(bin, 'postgres'), options);
  let server = await launch(cmd, args);
  return {
    base: `postgres://bitscrape:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    user: 'bitscrape',
    password,
    async crash() {
      await server.halt('SIGQUIT');
    },
    async restart() {
      server = await launch(cmd, args);
    },
    async stop() {
      await server.halt('SIGINT'); // fast shutdown
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's PostgreSQL cluster (test files named *postgres*.test.ts); null when not started. */
    postgres: { base: string; host: string; port: number; user: string; password: string } | null;
    postgresError: string | null;
  }
}
