// Finds a range of loopback ports that is free for UDP and TCP, and reserves it with a lock
// file so that concurrent test workers (or other checkouts on the same machine) starting
// their own libtorrent networks never pick overlapping ranges: libtorrent binds with
// SO_REUSEADDR, so two networks on one port would share it silently.
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Ranges are handed out in aligned blocks below Linux's ephemeral range (32768+). */
export const PORT_BLOCK_SIZE = 256;
const FIRST_PORT = 20_000;
const BLOCK_COUNT = Math.floor((32_768 - FIRST_PORT) / PORT_BLOCK_SIZE);

export interface PortReservation {
  basePort: number;
  release(): void;
}

function lockPath(block: number): string {
  return join(tmpdir(), `bitscrape-interop-ports-${FIRST_PORT + block * PORT_BLOCK_SIZE}.lock`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the lock file, or takes over one whose owner process is gone. */
function tryLock(block: number): boolean {
  const path = lockPath(block);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      let owner = NaN;
      try {
        owner = Number(readFileSync(path, 'utf8'));
      } catch {
        // removed meanwhile: try again
      }
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) return false;
      try {
        unlinkSync(path);
      } catch {
        // someone else cleaned it up first
      }
    }
  }
  return false;
}

function unlock(block: number): void {
  try {
    unlinkSync(lockPath(block));
  } catch {
    // already gone
  }
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    // node sets SO_REUSEADDR like libtorrent does: TIME_WAIT leftovers don't count as taken
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Hosts that port `base + i` must be free on, for node i. */
export type HostsOfNode = (index: number) => readonly string[];

/** True when node i can bind UDP and TCP on base+i on each of its hosts, for every i < count. */
export async function portsFree(hostsOf: HostsOfNode, base: number, count: number): Promise<boolean> {
  for (let i = 0; i < count; i++) {
    for (const host of hostsOf(i)) {
      if (!(await udpFree(host, base + i)) || !(await tcpFree(host, base + i))) return false;
    }
  }
  return true;
}

/**
 * Reserves `count` consecutive ports, port base+i free on each of `hostsOf(i)`.
 * Starts at a random block so parallel callers rarely race for the same lock.
 */
export async function reservePortRange(count: number, hostsOf: HostsOfNode): Promise<PortReservation> {
  const blocks = Math.ceil(count / PORT_BLOCK_SIZE);
  if (blocks > BLOCK_COUNT) throw new Error(`cannot reserve ${count} ports`);
  const start = Math.floor(Math.random() * BLOCK_COUNT);
  for (let n = 0; n < BLOCK_COUNT; n++) {
    const first = (start + n) % BLOCK_COUNT;
    if (first + blocks > BLOCK_COUNT) continue;
    const held: number[] = [];
    for (let b = first; b < first + blocks && tryLock(b); b++) held.push(b);
    const basePort = FIRST_PORT + first * PORT_BLOCK_SIZE;
    if (held.length === blocks && (await portsFree(hostsOf, basePort, count))) {
      let released = false;
      return {
        basePort,
        release: () => {
          if (released) return;
          released = true;
          for (const b of held) unlock(b);
        },
      };
    }
    for (const b of held) unlock(b);
  }
  throw new Error(`no free range of ${count} loopback ports between ${FIRST_PORT} and 32767`);
}
