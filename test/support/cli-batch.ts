// Runs the CLI (bin/dev.js's oclif entry, in development mode) once per argument list given as
// JSON in argv[2], all in this one process, and prints [{code, stdout, stderr}] as JSON: many
// short runs (flag checks) for the price of one start-up. Only for runs that end without
// lasting side effects (sockets, timers): each must finish before the next starts.
import { run } from '@oclif/core';
import { resolve } from 'node:path';

const lists = JSON.parse(process.argv[2] ?? '[]') as string[][];
const root = resolve(import.meta.dirname, '..', '..', 'bin', 'dev.js');
process.env.NODE_ENV = 'development';

const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
const results: Array<{ code: number; stdout: string; stderr: string }> = [];
for (const argv of lists) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  let code = 0;
  try {
    await run(argv, root);
  } catch (err) {
    const e = err as { oclif?: { exit?: number } };
    code = e.oclif?.exit ?? 1;
    if (e.oclif?.exit === undefined) stderr += `uncaught: ${String(err)}\n`;
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  results.push({ code, stdout, stderr });
}
process.stdout.write(JSON.stringify(results) + '\n');
