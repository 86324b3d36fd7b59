// The shared base of every command: --json (NDJSON straight to stdout, never oclif's pretty JSON),
// --debug, one-line errors with ARCHITECTURE.md's exit codes, and stdin inputs with `-`.
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { createInterface } from 'node:readline';
import { CliError, oneLine, parseErrorLine } from './errors.js';
import { MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from './duration.js';
import { StdoutWriter } from '../output/stdout.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

/** A duration flag: `500ms`, `30s`, `10m`, `6h`, `7d`; at most MAX_DURATION_MS. */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => {
    const ms = parseDuration(input);
    if (ms === null) throw new Errors.CLIError(`invalid duration "${input}" (use e.g. 500ms, 30s, 10m, 6h, 7d)`);
    if (ms > MAX_DURATION_MS) throw new Errors.CLIError(`duration "${input}" is longer than the maximum, ${MAX_DURATION_TEXT}`);
    return ms;
  },
});

export interface InputLine {
  value: string;
  /** 1-based line number on stdin, or 0 for a command-line argument. */
  line: number;
}

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({ description: 'print NDJSON records on stdout (one object per line); summaries go to stderr' }),
    debug: Flags.boolean({ description: 'show stack traces of errors', hidden: false }),
  };

  protected stdout = new StdoutWriter();

  /** Reads inputs from arguments; `-` means one input per line from stdin. Blank lines and # comments are skipped. */
  protected async *inputs(args: string[]): AsyncGenerator<InputLine> {
    for (const arg of args) {
      if (arg !== '-') {
        yield { value: arg, line: 0 };
        continue;
      }
      const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
      let n = 0;
      for await (const raw of rl) {
        n++;
        const value = raw.trim();
        if (value === '' || value.startsWith('#')) continue;
        yield { value, line: n };
      }
    }
  }

  /** Collects inputs eagerly (for commands that need them all up front). */
  protected async collectInputs(args: string[]): Promise<InputLine[]> {
    const all: InputLine[] = [];
    for await (const i of this.inputs(args)) all.push(i);
    return all;
  }

  /** One line on stderr, for summaries and warnings. */
  protected note(text: string): void {
    process.stderr.write(text + '\n');
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number }; code?: string }): Promise<unknown> {
    if (err instanceof Errors.ExitError || err.code === 'EEXIT') throw err;
    const debug = process.argv.includes('--debug') || Boolean(process.env.BITSCRAPE_DEBUG);
    let code: number;
    if (err instanceof CliError) code = err.exitCode;
    else if (err.oclif?.exit !== undefined) code = err.oclif.exit; // oclif parse errors: usage, 2
    else code = 1;
    const hint = !(err instanceof CliError) && err.oclif?.exit === undefined ? ' (internal error; --debug shows the stack)' : '';
    const text = err.oclif?.exit !== undefined && !(err instanceof CliError) ? parseErrorLine(err) : oneLine(err);
    process.stderr.write(`${this.id ? this.id.replace(/:/g, ' ') : 'bitscrape'}: ${text}${hint}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    this.exit(code);
  }
}
