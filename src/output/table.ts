// Human output: cli-table3, plain (no colour codes) off a TTY or with NO_COLOR. cli-table3 is
// required on the first table, so --json runs never load it.
import { createRequire } from 'node:module';
import type CliTable3 from 'cli-table3';

const require = createRequire(import.meta.url);
let Table: typeof CliTable3 | undefined;

export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

export function renderTable(head: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const colour = useColour();
  Table ??= require('cli-table3') as typeof CliTable3;
  const table = new Table({
    head,
    style: colour ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
  });
  for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '' : String(c))));
  return table.toString();
}

/** Key/value table for single-record summaries. */
export function renderKeyValues(pairs: Array<[string, string | number | null | undefined]>): string {
  return renderTable(['field', 'value'], pairs.map(([k, v]) => [k, v]));
}
