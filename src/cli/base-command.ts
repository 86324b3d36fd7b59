// The shared base of every command: --json (NDJSON straight to stdout, never oclif's pretty JSON),
// --debug, one-line errors with the exit codes of docs/architecture.md ("Errors at the edge"),
// stdin inputs with `-`, and SIGINT / SIGTERM (signals.ts): a long command calls stopSignal() and
// stops when it aborts; the exit code after a signal is decided here, once, for every command.
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { createInterface } from 'node:readline';
import { BadLines } from './bad-lines.js';
import { CliError, oneLine, parseErrorLine, printableBlock, quote } from './errors.js';
import { checkDuration, durationText, type DurationRule } from './duration.js';
import { SIGNAL_EXIT_CODES, SignalGuard, setActiveGuard } from './signals.js';
import { StdoutWriter } from '../output/stdout.js';
import { untilStopped } from '../core/util/pool.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

const durationFlagDef = Flags.custom<number, DurationRule>({
  parse: async (input, _ctx, rule) => {
    const r = checkDuration(input, rule);
    if (!r.ok) throw new Errors.CLIError(r.error);
    return r.ms;
  },
});

/**
 * A duration flag: `500ms`, `30s`, `10m`, `6h`, `7d`, always with a unit; 0 only with `zero` (what
 * 0 means, for --help); at most `max` (default MAX_DURATION_MS). --help shows a default with its
 * unit (`[default: 2s]`), never a bare number of ms.
 */
type DurationFlagOptions = DurationRule & { description: string; default?: number };
export function durationFlag(options: DurationFlagOptions & { default: number }): Interfaces.OptionFlag<number>;
export function durationFlag(options: DurationFlagOptions): Interfaces.OptionFlag<number | undefined>;
export function durationFlag(options: DurationFlagOptions): Interfaces.OptionFlag<number | undefined> {
  const { default: value, ...rest } = options;
  if (value === undefined) return durationFlagDef(rest);
  return durationFlagDef({ ...rest, default: value, defaultHelp: async () => durationText(value) });
}

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

  /** Services (node, testnet) exit 0 after SIGINT / SIGTERM; every other command 130 / 143. */
  static service = false;

  protected stdout = new StdoutWriter();

  /** Bad input lines: the first few are printed, the rest counted (reported once the run ends). */
  protected readonly badLines = new BadLines((text) => this.note(text));

  protected readonly signals = new SignalGuard({
    exit: (code) => process.exit(code),
    note: (text) => this.note(text),
    settle: () => this.stdout.settle(),
  });

  override async init(): Promise<void> {
    await super.init();
    setActiveGuard(this.signals);
    this.signals.install();
    // a reader that stopped reading must not hold a stopping run
    this.signals.signal.addEventListener('abort', () => this.stdout.release(), { once: true });
  }

  /**
   * For commands that stop cleanly: the returned signal aborts on the first SIGINT / SIGTERM; the
   * command then stops sending, flushes, saves and prints its summary, and returns. A second
   * signal exits at once. Commands that never call this are ended by the first signal.
   */
  protected stopSignal(): AbortSignal {
    return this.signals.takeOver();
  }

  private gone: AbortController | null = null;

  /**
   * Aborts once stdout's reader is gone (`| head` exited: EPIPE on a write, or the stream
   * closed). A pipe tells a writer only when it writes, so this fires at the first write after
   * the reader left; a streaming command then stops at once: pass it to lookups, and wrap result
   * loops in untilOutputGone().
   */
  protected get outputGone(): AbortSignal {
    if (!this.gone) {
      const gone = new AbortController();
      this.gone = gone;
      if (this.stdout.closed) gone.abort();
      else this.stdout.once('closed', () => gone.abort());
    }
    return this.gone.signal;
  }

  /** The source, ended at once when stdout's reader is gone (not at its next item); a pool behind it stops starting work. */
  protected untilOutputGone<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    const signal = this.outputGone;
    const gone = new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    return untilStopped(source, gone);
  }

  /** The signal that stopped the run, if one did. */
  protected get stoppedBySignal(): 'SIGINT' | 'SIGTERM' | null {
    return this.signals.received;
  }

  /** After a signal: what the reader will still take (bounded), then the exit code of the contract. */
  override async finally(err: Error | undefined): Promise<unknown> {
    this.signals.end();
    this.badLines.finish(`${this.id ? this.id.replace(/:/g, ' ') : 'bitscrape'}: `);
    const received = this.signals.received;
    if (received !== null) {
      await this.stdout.settle();
      this.exit((this.constructor as typeof BaseCommand).service ? 0 : SIGNAL_EXIT_CODES[received]);
    }
    return super.finally(err);
  }

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

  /** One line on stderr, for summaries and warnings; control characters escaped (they may come from input). */
  protected note(text: string): void {
    process.stderr.write(printableBlock(text) + '\n');
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
