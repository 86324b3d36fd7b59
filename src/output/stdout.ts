// Everything a command prints on stdout goes through here: NDJSON records (one per line, as they
// arrive) or human text. A closed stdout (`| head`) flips `closed` so the command can stop early,
// save what it must and still exit 0.
import { EventEmitter } from 'node:events';
import { jsonLine } from './records.js';

export type JsonRecord = Record<string, unknown>;

export class StdoutWriter extends EventEmitter {
  closed = false;
  records = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    super();
    // EPIPE and friends arrive asynchronously as 'error' events; all of them mean "stop writing".
    out.on('error', () => this.markClosed());
  }

  /** One NDJSON line (numbers rounded: records.ts). Returns false once stdout is gone. */
  record(record: JsonRecord): boolean {
    this.records++;
    return this.text(jsonLine(record) + '\n');
  }

  text(chunk: string): boolean {
    if (this.closed) return false;
    try {
      this.out.write(chunk);
    } catch {
      this.markClosed();
    }
    return !this.closed;
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('closed');
  }
}
