// Errors a command reports as one line. exitCode follows docs/architecture.md ("Errors at the
// edge"): 2 = usage / bad input, 1 = nothing answered or nothing found. Input echoed in a
// message goes through quote().
import { printable } from '../core/util/quote.js';

export { printable, printableBlock, quote } from '../core/util/quote.js';

/** The longest error line printed; a message quoting input properly never comes close. */
const MAX_LINE = 300;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = 2) {
    super(message);
    this.name = 'CliError';
  }
}

export class BadInputError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

export class NothingFoundError extends CliError {
  constructor(message: string) {
    super(message, 1);
  }
}

/**
 * The first meaningful line of any error, for the one-line report (later lines are often a
 * stack), made printable and cut to a bounded length: the last guard for messages from code that
 * echoes input without quote() (libraries, oclif).
 */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return line === undefined ? 'unknown error' : bounded(line);
}

/**
 * oclif's parse errors put the detail on the lines after the first ("Parsing --duration" /
 * "invalid duration ..."): join them into one line, without its advice ("Note: ...", "See more help").
 */
export function parseErrorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const advice = message.search(/\n\s*(Note:|See more help with)/);
  // "Parsing --timeout\n\t<detail>" reads as "--timeout: <detail>"
  const line = (advice >= 0 ? message.slice(0, advice) : message)
    .replace(/^Parsing (--[\w-]+)\s*\n/, '$1: ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join(' ')
    .replace(/\s+/g, ' ');
  if (line === '') return 'unknown error';
  return bounded(line);
}

function bounded(line: string): string {
  const cut = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 3)}...` : line;
  return printable(cut);
}
