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

/** The first meaningful line of any error, for the one-line report. */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return line ?? 'unknown error';
}
