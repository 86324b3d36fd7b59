// Errors a command reports as one line. exitCode follows ARCHITECTURE.md: 2 = usage / bad input,
// 1 = nothing answered or nothing found.
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

/** The first meaningful line of any error, for the one-line report (later lines are often a stack). */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return line ?? 'unknown error';
}

/**
 * oclif's parse errors put the detail on the lines after the first ("Parsing --duration" /
 * "invalid duration ..."): join them into one line, without its advice ("Note: ...", "See more help").
 */
export function parseErrorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const advice = message.search(/\n\s*(Note:|See more help with)/);
  const line = (advice >= 0 ? message.slice(0, advice) : message)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join(' ')
    .replace(/\s+/g, ' ');
  if (line === '') return 'unknown error';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
