// Progress on stderr, only when stderr is a TTY with a real width: ora spins at 100% CPU on a
// zero-column pseudo-terminal, and pipelines must never see spinner bytes. ora is imported when a
// spinner is wanted (it costs about half a node start-up) and spins from then on.
import type { Ora } from 'ora';
import { jsonLine } from './records.js';
import { fitStatus, outputWidth } from './table.js';

export interface Progress {
  /** The status line; `figures` are what a `--json` run reports in its `progress` lines. */
  update(text: string, figures?: Record<string, unknown>): void;
  /** Prints a line without disturbing the spinner. */
  log(text: string): void;
  stop(finalText?: string): void;
}

/** Columns the spinner's glyph and its space take, and the last one, which would wrap the line. */
const SPINNER_MARGIN = 3;

class SpinnerProgress implements Progress {
  private spinner: Ora | null = null;
  private stopped = false;
  constructor(private text: string) {
    import('ora').then(
      ({ default: ora }) => {
        if (!this.stopped) this.spinner = ora({ text: this.fitted(), stream: process.stderr, discardStdin: false }).start();
      },
      () => undefined, // no spinner then: the progress is decoration, the run goes on
    );
  }
  update(text: string): void {
    this.text = text;
    if (this.spinner) this.spinner.text = this.fitted();
  }
  /** The text on one row of the terminal as wide as it is now. */
  private fitted(): string {
    return fitStatus(this.text, Math.max(1, outputWidth(process.stderr) - SPINNER_MARGIN));
  }
  log(text: string): void {
    this.spinner?.clear();
    process.stderr.write(text + '\n');
    this.spinner?.render();
  }
  stop(finalText?: string): void {
    this.stopped = true;
    this.spinner?.stop();
    if (finalText) process.stderr.write(finalText + '\n');
  }
}

/**
 * Under --json: a `{"progress":LABEL,...}` line on stderr every few seconds while the figures
 * change, so a pipeline can watch a long run; stdout keeps only the records.
 */
class JsonProgress implements Progress {
  private figures: Record<string, unknown> | null = null;
  private changed = false;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly label: string,
    everyMs: number,
  ) {
    this.timer = setInterval(() => this.flush(), everyMs);
    this.timer.unref();
  }
  update(_text: string, figures?: Record<string, unknown>): void {
    if (!figures) return;
    this.figures = figures;
    this.changed = true;
  }
  private flush(): void {
    if (!this.changed || !this.figures) return;
    this.changed = false;
    process.stderr.write(jsonLine({ progress: this.label, ...this.figures, elapsed_ms: Date.now() - this.started }) + '\n');
  }
  log(text: string): void {
    process.stderr.write(text + '\n');
  }
  stop(finalText?: string): void {
    clearInterval(this.timer);
    if (finalText) process.stderr.write(finalText + '\n');
  }
}

class SilentProgress implements Progress {
  update(): void {}
  log(text: string): void {
    process.stderr.write(text + '\n');
  }
  stop(finalText?: string): void {
    if (finalText) process.stderr.write(finalText + '\n');
  }
}

function progressEnabled(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !process.env.CI;
}

export interface ProgressOptions {
  /** With --json: report the figures as `progress` lines under this label (crawl, scrape, metadata). */
  json?: string;
  /** How often a `progress` line is written (default 5 s). */
  everyMs?: number;
}

export function startProgress(text: string, enabled = progressEnabled(), opts: ProgressOptions = {}): Progress {
  if (enabled) return new SpinnerProgress(text);
  if (opts.json) return new JsonProgress(opts.json, opts.everyMs ?? progressEveryMs());
  return new SilentProgress();
}

/** Interval of `progress` lines: 5 s, or BITSCRAPE_PROGRESS_EVERY_MS (at least 100). */
function progressEveryMs(): number {
  const n = Number(process.env.BITSCRAPE_PROGRESS_EVERY_MS);
  return Number.isFinite(n) && n >= 100 ? n : 5000;
}
