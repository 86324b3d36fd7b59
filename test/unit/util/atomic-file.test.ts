import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moveAside } from '../../../src/core/util/atomic-file.js';

describe('moveAside', () => {
  it('renames a file to <name>.<label>-<UTC time> and never replaces an earlier one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-aside-'));
    const path = join(dir, 'routing.json');
    const at = new Date('2024-05-01T12:34:56.789Z');
    writeFileSync(path, 'first');
    const a = await moveAside(path, 'corrupt', at);
    expect(a).toBe(`${path}.corrupt-20240501T123456Z`);
    writeFileSync(path, 'second');
    const b = await moveAside(path, 'corrupt', at); // same second: the next free name
    expect(b).toBe(`${path}.corrupt-20240501T123456Z-1`);
    expect(readFileSync(a, 'utf8')).toBe('first');
    expect(readFileSync(b, 'utf8')).toBe('second');
    expect(readdirSync(dir).sort()).toEqual(['routing.json.corrupt-20240501T123456Z', 'routing.json.corrupt-20240501T123456Z-1']);
  });

  it('fails, leaving everything in place, when there is nothing to move', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitscrape-aside-'));
    await expect(moveAside(join(dir, 'nope.json'), 'corrupt')).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
