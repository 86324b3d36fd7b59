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

/**
 * Any error as one line: multi-line messages (oclif's parse errors put the detail on the next
 * lines) are joined, the "see --help" hint dropped, and the result kept short.
 */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // oclif appends advice ("Note: ... allow multiple values", "See more help with --help").
  const advice = message.search(/\n\s*(Note:|See more help with)/);
  const parts = (advice >= 0 ? message.slice(0, advice) : message)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const line = parts.join(' ').replace(/\s+/g, ' ').replace(/: :/g, ':');
  if (line === '') return 'unknown error';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
