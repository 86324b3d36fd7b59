#!/usr/bin/env node
// `--version` is answered before anything else loads: importing oclif alone costs more than two
// start-ups of node. The line is oclif's own (Config.userAgent), but without oclif's `init` hooks,
// and a WSL machine shows as linux. Everything else is oclif's, imported through its `execute`
// entry: the package index adds a check of oclif's own engines (semver, ~50 modules) and nothing
// the run needs.
import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';

if (process.argv[2] === '--version') {
  const { name, version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${name}/${version} ${platform()}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}\n`);
} else {
  const { execute } = await import('@oclif/core/execute');
  await execute({ dir: import.meta.url });
}
