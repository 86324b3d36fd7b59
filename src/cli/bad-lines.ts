// Bad input lines on stderr: the first few, each one line, then how many more there were. A
// binary or huge stdin must not flood the terminal with one error per line.

/** Bad lines shown before the rest are only counted. */
const SHOWN_BAD_LINES = 5;

export class BadLines {
  count = 0;
  private finished = false;

  constructor(
    private readonly print: (text: string) => void,
    private readonly shown = SHOWN_BAD_LINES,
  ) {}

  add(text: string): void {
    this.count++;
    if (this.count <= this.shown) this.print(text);
  }

  /** Once, after the input ended: "… and 17,541 more bad lines" when some were not shown. */
  finish(prefix: string): void {
    if (this.finished) return;
    this.finished = true;
    const hidden = this.count - this.shown;
    if (hidden > 0) this.print(`${prefix}… and ${hidden.toLocaleString('en-US')} more bad line${hidden === 1 ? '' : 's'}`);
  }
}
