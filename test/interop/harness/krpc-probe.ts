// Runs krpc_probe.py, our independent Python KRPC client, for checks that must not rely on
// bitscrape's own wire code.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { HARNESS_DIR, SYSTEM_PYTHON } from './libtorrent-network.js';

export const PROBE = join(HARNESS_DIR, 'krpc_probe.py');

export interface ProbeResult {
  /** 0 reply, 2 KRPC error reply, 3 timeout (krpc_probe.py's exit status). */
  status: number;
  /** The probe's JSON line: the decoded message with ids as hex, compact lists expanded. */
  reply: Record<string, unknown>;
}

/**
 * `method` is one of krpc_probe.py's commands (ping, find_node, get_peers, announce_peer,
 * sample_infohashes, get, put, raw); `args` are its flags, e.g. ['--info-hash', hex].
 */
export function krpcProbe(host: string, port: number, method: string, args: string[] = [], timeoutMs = 10_000): Promise<ProbeResult> {
  const argv = ['-B', PROBE, host, String(port), method, ...args, '--json'];
  return new Promise((resolve, reject) => {
    execFile(SYSTEM_PYTHON, argv, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ status, reply: JSON.parse(line) as Record<string, unknown> });
      } catch {
        reject(new Error(`krpc_probe.py ${method} failed (status ${status}): ${stderr.trim() || stdout.trim()}`));
      }
    });
  });
}
