// Files that must never be left half-written (routing tables, state files): write a temp file
// beside the target, fsync it, rename it over the target, then fsync the directory. On any
// failure the temp file is removed and the target is left as it was. A file we cannot use is
// moved aside, never overwritten.
import { randomBytes } from 'node:crypto';
import { link, lstat, open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/**
 * Renames `path` to `<path>.<label>-<UTC time>` (e.g. `routing.json.corrupt-20240501T120000Z`)
 * and returns the new name. Never replaces an existing file: link() fails on an existing name,
 * and the next free `-1`, `-2`… suffix is taken instead.
 */
export async function moveAside(path: string, label: string, now: Date = new Date()): Promise<string> {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  for (let n = 0; ; n++) {
    const dest = `${path}.${label}-${stamp}${n === 0 ? '' : `-${n}`}`;
    try {
      await link(path, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && n < 100) continue;
      // File systems without hard links: a plain rename, once the name is known to be free.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
      if (await exists(dest)) {
        if (n < 100) continue;
        throw err;
      }
      await rename(path, dest);
      await syncDir(dirname(path));
      return dest;
    }
    await unlink(path);
    await syncDir(dirname(path));
    return dest;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Makes a rename durable; not every file system can open a directory, which is fine. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}
