// Writes oclif.manifest.json, the last step of `npm run build`: every command's id, flags, args
// and help text in one file, so the built CLI (bin/run.js) answers `--help`, finds a command and
// parses its flags without importing every command module at start-up. oclif itself builds it
// (the same code path as the `oclif manifest` command), loading the compiled commands from dist/.
// bin/dev.js ignores the file and reads the sources.
//
//   node scripts/oclif-manifest.js
import { Plugin } from '@oclif/core';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The manifest of the bitscrape commands under `root`, built from the command modules themselves. */
export async function buildManifest(root = ROOT) {
  const plugin = new Plugin({ root, isRoot: true, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true });
  await plugin.load();
  return plugin.manifest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const manifest = await buildManifest();
  // the project's one atomic writer, compiled a moment ago by tsc
  const { writeFileAtomic } = await import('../dist/core/util/atomic-file.js');
  const out = join(ROOT, 'oclif.manifest.json');
  await writeFileAtomic(out, JSON.stringify(manifest, null, 2) + '\n');
  console.log(`wrote ${out}: ${Object.keys(manifest.commands).length} commands`);
}
