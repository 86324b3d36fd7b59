// Progress on stderr, only when stderr is a TTY with a real width: ora spins at 100% CPU on a
// zero-column pseudo-terminal, and pipelines must never see spinner bytes. ora is imported when a
// spinner is wanted (it costs about half a node start-up) and spins from then on.
import type { Ora } from 'ora';

export interface Progress {
  update(text: string): void;
  /** Prints a line without disturbing the spinner. */
  log(text: string): void;
  stop(finalText?: string): void;
}

class SpinnerProgress implements Progress {
  private spinner: Ora | null = null;
  private stopped = false;
  constructor(private text: string) {
    import('ora').then(
      ({ default: ora }) => {
        if (!this.stopped) this.spinner = ora({ text: this.text, stream: process.stderr, discardStdin: false }).start();
      },
      () => undefined, // no spinner then: the progress is decoration, the run goes on
    );
  }
  update(text: string): void {
    this.text = text;
    if (this.spinner) this.spinner.text = text;
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

class SilentProgress implements Progress {
  update(): void {}
  log(text: string): void {
    process.stderr.write(text + '\n');
  }
  stop(finalText?: string): void {
    if (finalText) process.stderr.write(finalText + '\n');
  }
}

export function progressEnabled(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !process.env.CI;
}

export function startProgress(text: string, enabled = progressEnabled()): Progress {
  return enabled ? new SpinnerProgress(text) : new SilentProgress();
}
