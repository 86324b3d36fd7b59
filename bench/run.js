// Bench runner: `node --expose-gc bench/run.js [name ...]` loads bench/<name>.ts through tsx
// (no build needed) and calls its exported run(). Without names: every bench, codec first.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const FIRST = ['codec'];
const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const requested = process.argv.slice(2);
const names = requested.length > 0 ? requested : [...FIRST.filter((n) => available.includes(n)), ...available.filter((n) => !FIRST.includes(n))];

let failed = false;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`bench: no bench/${name}.ts`);
    failed = true;
    continue;
  }
  console.log(`\n== ${name} ==`);
  const mod = await tsImport(`./${name}.ts`, import.meta.url);
  if (typeof mod.run !== 'function') {
    console.error(`bench: bench/${name}.ts exports no run()`);
    failed = true;
    continue;
  }
  try {
    await mod.run();
  } catch (err) {
    // one bench that cannot run (e.g. startup without a build) does not stop the others
    console.error(`bench: ${name}: ${err instanceof Error ? err.message : String(err)}`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
