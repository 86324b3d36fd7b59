// SIGINT / SIGTERM for every command, the same on a terminal and off it (docs/output.md, exit
// codes). A command that can stop cleanly takes the stop over (takeOver()): the first signal
// aborts its AbortSignal, and the command stops sending, flushes, saves and prints its summary;
// the base command then exits 130 / 143 (0 for the services). A command that did not take over
// is ended by the first signal once its shutdown tasks (the routing file) have run. After the
// run, or on a second signal, the process exits at once (for when a flush hangs). A copy of the
// first signal within REPEAT_WINDOW_MS is not a second one: timeout(1), for one, signals both the
// process and its process group, so the process gets the same SIGTERM twice at once.
//
// Our listeners stay installed for the whole process: signal-exit (which ora pulls in through
// restore-cursor) re-raises a signal, killing the process, whenever its own listeners are the
// only ones left. With a `process.once` handler that was the case on a terminal, and a crawl
// lost its summary and its resume state on Ctrl-C.
import { fanOutAbortController } from '../core/util/fan-out-abort.js';

export type StopSignalName = 'SIGINT' | 'SIGTERM';

/** Exit codes after a signal: 128 + the signal number, as a shell reports them. */
export const SIGNAL_EXIT_CODES: Record<StopSignalName, number> = { SIGINT: 130, SIGTERM: 143 };

const SIGNALS: StopSignalName[] = ['SIGINT', 'SIGTERM'];

/** The same signal again within this many ms is the same request, not a second one. */
export const REPEAT_WINDOW_MS = 250;

/** What the guard needs from the process (injectable for tests). */
export interface SignalHost {
  on(signal: StopSignalName, listener: (signal: StopSignalName) => void): unknown;
  off(signal: StopSignalName, listener: (signal: StopSignalName) => void): unknown;
}

export interface SignalGuardOptions {
  /** Ends the process now. */
  exit(code: number): void;
  /** One line on stderr. */
  note(text: string): void;
  /** Flushes stdout, bounded in time (a stuck reader must not keep us alive). */
  settle(): Promise<unknown>;
  host?: SignalHost;
  /** Milliseconds, for the repeat window (default Date.now). */
  now?: () => number;
}

export class SignalGuard {
  /** The first signal received, or null. */
  received: StopSignalName | null = null;
  private readonly controller = fanOutAbortController();
  private readonly host: SignalHost;
  private readonly tasks = new Set<() => Promise<unknown> | unknown>();
  private takenOver = false;
  private ended = false;
  private installed = false;
  private exiting = false;
  private receivedAt = 0;

  constructor(private readonly opts: SignalGuardOptions) {
    this.host = opts.host ?? (process as unknown as SignalHost);
  }

  install(): void {
    if (this.installed) return;
    this.installed = true;
    for (const s of SIGNALS) this.host.on(s, this.onSignal);
  }

  /** For tests and in-process runs; the CLI keeps its listeners until the process exits. */
  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    for (const s of SIGNALS) this.host.off(s, this.onSignal);
  }

  /** The command stops by itself when this aborts (the first SIGINT / SIGTERM). */
  takeOver(): AbortSignal {
    this.takenOver = true;
    return this.controller.signal;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Work that must happen before a command that did not take over is ended (saving a file). */
  onShutdown(task: () => Promise<unknown> | unknown): () => void {
    this.tasks.add(task);
    return () => this.tasks.delete(task);
  }

  /** The command's run is over: a signal from now on ends the process at once. */
  end(): void {
    this.ended = true;
  }

  private readonly onSignal = (signal: StopSignalName): void => {
    const code = SIGNAL_EXIT_CODES[signal];
    const now = (this.opts.now ?? Date.now)();
    if (signal === this.received && !this.ended && now - this.receivedAt < REPEAT_WINDOW_MS) return;
    if (this.received !== null || this.ended) {
      if (this.received !== null && !this.ended) this.opts.note(`bitscrape: ${signal} again, exiting without waiting`);
      this.opts.exit(code);
      return;
    }
    this.received = signal;
    this.receivedAt = now;
    this.controller.abort();
    if (!this.takenOver) void this.shutdown(code);
  };

  private async shutdown(code: number): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    for (const task of [...this.tasks]) {
      try {
        await task();
      } catch {
        // best effort: the process is ending on a signal
      }
    }
    await this.opts.settle();
    this.opts.exit(code);
  }
}

let active: SignalGuard | null = null;

/** The guard of the command running in this process (set by BaseCommand), if any. */
export function setActiveGuard(guard: SignalGuard | null): void {
  active = guard;
}

/**
 * Registers work to do before a signal ends a command that did not take the stop over (a DHT
 * session saving its routing file). Outside the CLI there is no guard and nothing is registered.
 */
export function onSignalShutdown(task: () => Promise<unknown> | unknown): () => void {
  return active ? active.onShutdown(task) : () => undefined;
}
