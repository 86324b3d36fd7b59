// Shared fixtures for the store tests: a fresh temp directory per test and test infohashes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bitscrape-store-'));
  dirs.push(dir);
  return dir;
}

/** A deterministic 20-byte infohash: `n` big-endian in the last four bytes, `fill` elsewhere. */
export function ih(n: number, fill = 0xab): Uint8Array {
  const bytes = new Uint8Array(20).fill(fill);
  new DataView(bytes.buffer).setUint32(16, n);
  return bytes;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
