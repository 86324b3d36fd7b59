// Human output: cli-table3, plain (no colour codes) off a TTY or with NO_COLOR.
import Table from 'cli-table3';

export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

export function renderTable(head: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const colour = useColour();
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
