// The datagrams a CLI run sent, recorded at the socket by datagram-log.cjs: for checks of the
// per-destination politeness rules on what actually left, not on what the limiter meant to send.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PRELOAD = join(import.meta.dirname, 'datagram-log.cjs');

/** Environment for a CLI child that records its datagrams into file (pass to runCli's env). */
export function datagramLogEnv(file: string): Record<string, string> {
  const inherited = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return { NODE_OPTIONS: `${inherited}--require "${PRELOAD}"`, BITSCRAPE_DATAGRAM_LOG: file };
}

export interface Datagram {
  /** performance.now() of the child, ms. */
  at: number;
  /** host:port */
  to: string;
}

export function readDatagramLog(file: string): Datagram[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as Array<[number, string]>).map(([at, to]) => ({ at, to }));
}

/** The most datagrams sent to one destination within any span shorter than windowMs, and where. */
export function maxPerDestinationInWindow(log: readonly Datagram[], windowMs: number): { max: number; to: string | null } {
  const byDest = new Map<string, number[]>();
  for (const d of log) {
    let times = byDest.get(d.to);
    if (!times) byDest.set(d.to, (times = []));
    times.push(d.at);
  }
  let best = { max: 0, to: null as string | null };
  for (const [to, times] of byDest) {
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j] - times[i] >= windowMs) i++;
      if (j - i + 1 > best.max) best = { max: j - i + 1, to };
    }
  }
  return best;
}
