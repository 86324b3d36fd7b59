// Human output: tables and key-value blocks that fit the terminal. Borderless columns with a
// two-space gutter, one line per row (like ps or docker ps), so a row stays one line for grep and
// awk. When the table is wider than the terminal: long hex is shortened (`3f2a…9c1e`), then
// columns marked `wrap` wrap at spaces, then the least important columns are left out. Full values
// are always in --json. Width: $COLUMNS, else the terminal's width, else (a pipe or file) no limit.
import { roundNumber } from './records.js';
import { cutToWidth, displayWidth, longestWord, printable, shortenHex, textWidth, wrapText } from './text.js';

export type Cell = string | number | null | undefined;

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** Hex words (ids, hashes) may be shortened to `3f2a…9c1e`. */
  hex?: boolean;
  /** The text may wrap onto more lines. */
  wrap?: boolean;
  /** May be left out when nothing else makes the table fit; the highest rank goes first. */
  drop?: number;
}

export interface RenderOptions {
  /** Width to fit in; default `outputWidth(stream)`. */
  width?: number;
  /** The stream the text goes to (width and colour); default stdout. */
  stream?: NodeJS.WriteStream;
  /** Print the header line (default true). */
  header?: boolean;
}

const GUTTER = '  ';
/** A wrapping column is not made narrower than this (or its longest word, up to WORD_CAP). */
const MIN_WRAP = 10;
const WORD_CAP = 24;

function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

/**
 * Columns human output may use: $COLUMNS when set (as `ps` does), else the terminal's width when
 * `stream` is a terminal, else no limit: piped or redirected output is never cut or wrapped.
 */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.COLUMNS);
  if (env.COLUMNS && Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (stream.isTTY && (stream.columns ?? 0) > 0) return stream.columns;
  return Infinity;
}

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '';
  if (typeof c === 'number') return String(roundNumber(c));
  return printable(c);
}

interface Layout {
  /** Indexes of the columns shown. */
  shown: number[];
  /** Width of each shown column. */
  widths: number[];
  /** Whether hex may be shortened (where a whole value does not fit its column). */
  short: boolean;
}

/** Sum of column widths plus gutters. */
function total(widths: number[]): number {
  return widths.reduce((a, b) => a + b, 0) + GUTTER.length * Math.max(0, widths.length - 1);
}

/**
 * Widths for the `flex` columns (each between its min and natural width) that fit in `room`,
 * as even as possible: narrow columns keep their natural width, wide ones share what is left.
 */
function share(nat: number[], min: number[], room: number): number[] | null {
  if (min.reduce((a, b) => a + b, 0) > room) return null;
  let lo = 0;
  let hi = Math.max(0, ...nat);
  const at = (cap: number): number[] => nat.map((n, i) => Math.max(min[i], Math.min(n, cap)));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (at(mid).reduce((a, b) => a + b, 0) <= room) lo = mid;
    else hi = mid - 1;
  }
  const out = at(lo);
  let left = room - out.reduce((a, b) => a + b, 0);
  for (let i = 0; i < out.length && left > 0; i++) {
    if (out[i] < nat[i]) {
      out[i]++;
      left--;
    }
  }
  return out;
}

/**
 * Fits the columns `shown` in `width`, or null. First everything whole; then hex columns
 * shortened and wrapping columns sharing the room left. `anyWrap` (the last resort): every
 * column may wrap, down to one character.
 */
function fit(cols: Column[], m: Measures, shown: number[], width: number, anyWrap: boolean): Layout | null {
  const full = shown.map((c) => m.full[c]);
  if (!anyWrap && total(full) <= width) return { shown, widths: full, short: false };
  // A hex column that does not wrap cannot use part of its full width: short or whole.
  const nat = shown.map((c, i) => (cols[c].hex && !cols[c].wrap ? m.short[c] : full[i]));
  const flex = shown.map((c) => anyWrap || Boolean(cols[c].wrap));
  const fixed = nat.reduce((a, n, i) => a + (flex[i] ? 0 : n), 0);
  const room = width - fixed - GUTTER.length * (shown.length - 1);
  const flexCols = shown.filter((_, i) => flex[i]);
  const flexNat = nat.filter((_, i) => flex[i]);
  const flexMin = flexCols.map((c, j) => {
    if (anyWrap) return Math.min(flexNat[j], 1);
    return Math.min(flexNat[j], Math.max(MIN_WRAP, Math.min(WORD_CAP, m.word[c])));
  });
  if (flexCols.length === 0) return fixed + GUTTER.length * (shown.length - 1) <= width ? { shown, widths: nat, short: true } : null;
  const shared = share(flexNat, flexMin, room);
  if (!shared) return null;
  let k = 0;
  return { shown, widths: nat.map((n, i) => (flex[i] ? shared[k++] : n)), short: true };
}

/** Per column: widest whole value, widest with hex shortened, longest word (shortened). */
interface Measures {
  full: number[];
  short: number[];
  word: number[];
}

function measure(cols: Column[], texts: string[][], shortTexts: string[][]): Measures {
  const widest = (t: string[][], c: number, f: (s: string) => number): number => t.reduce((w, row) => Math.max(w, f(row[c])), 0);
  return {
    full: cols.map((_, c) => widest(texts, c, textWidth)),
    short: cols.map((_, c) => widest(shortTexts, c, textWidth)),
    word: cols.map((_, c) => widest(shortTexts, c, longestWord)),
  };
}

function layout(cols: Column[], texts: string[][], shortTexts: string[][], width: number): Layout {
  const m = measure(cols, texts, shortTexts);
  let shown = cols.map((_, i) => i);
  for (;;) {
    const l = fit(cols, m, shown, width, false);
    if (l) return l;
    const droppable = shown.filter((c) => cols[c].drop !== undefined);
    if (droppable.length === 0) break;
    // The highest rank goes first; on a tie, the rightmost.
    const out = droppable.reduce((a, b) => (cols[b].drop! >= cols[a].drop! ? b : a));
    shown = shown.filter((c) => c !== out);
  }
  // Last resort (a very narrow terminal): any column may wrap, then columns go from the right.
  for (;;) {
    const l = fit(cols, m, shown, width, true);
    if (l) return l;
    if (shown.length <= 1) return { shown, widths: shown.map(() => Math.max(1, width)), short: true };
    shown = shown.slice(0, -1);
  }
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const gap = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? gap + text : text + gap;
}

/**
 * A table fitted to the output width (see the file comment). Numbers are rounded as in JSON;
 * `null` / `undefined` cells are empty.
 */
export function renderTable(columns: Array<Column | string>, rows: Cell[][], opts: RenderOptions = {}): string {
  return render(columns.map((c) => (typeof c === 'string' ? { header: c } : c)), rows, opts, new Set());
}

function render(cols: Column[], rows: Cell[][], opts: RenderOptions, keepRows: Set<number>): string {
  const stream = opts.stream ?? process.stdout;
  const width = opts.width ?? outputWidth(stream);
  const withHeader = opts.header ?? true;
  const texts = [...(withHeader ? [cols.map((c) => printable(c.header))] : []), ...rows.map((r) => cols.map((_, i) => cellText(r[i])))];
  const first = withHeader ? 1 : 0;
  const shortTexts = texts.map((row, r) => row.map((t, c) => (cols[c].hex && r >= first && !keepRows.has(r - first) ? shortenHex(t) : t)));
  const l = layout(cols, texts, shortTexts, width);
  const colour = useColour(stream);
  const lines: string[] = [];
  texts.forEach((row, r) => {
    const isHeader = r < first;
    const cells = l.shown.map((c, i) => {
      // Shortened hex only where the whole value does not fit.
      const text = l.short && textWidth(row[c]) > l.widths[i] ? shortTexts[r][c] : row[c];
      return wrapText(text, l.widths[i]);
    });
    const height = Math.max(...cells.map((c) => c.length));
    for (let k = 0; k < height; k++) {
      const parts = l.shown.map((c, i) => {
        const text = cells[i][k] ?? '';
        const padded = pad(text, l.widths[i], cols[c].align ?? 'left');
        // Colour the header's words, not its padding, so trailing spaces can still be trimmed.
        if (!isHeader || !colour || text === '') return padded;
        return padded.replace(text, `\x1b[36m${text}\x1b[39m`);
      });
      lines.push(parts.join(GUTTER).replace(/ +$/, ''));
    }
  });
  return lines.join('\n');
}

/** One line of a key-value block; `keep` means never shortened (a value the user came for). */
export type KeyValue = readonly [string, Cell] | readonly [string, Cell, { keep: true }];

/**
 * A key-value block (single-record summaries): keys in one column, values beside them, wrapped.
 * Pairs whose value is null or undefined are left out: a figure with no meaning in this run
 * (a rate of nothing, a database count without a database) is not shown as a dash.
 */
export function renderKeyValues(pairs: readonly KeyValue[], opts: RenderOptions = {}): string {
  const shown = pairs.filter((p) => p[1] !== null && p[1] !== undefined);
  const keep = new Set<number>();
  shown.forEach((p, i) => {
    if (p[2]?.keep) keep.add(i);
  });
  return render([{ header: '' }, { header: '', wrap: true, hex: true }], shown.map((p) => [p[0], p[1]]), { ...opts, header: false }, keep);
}

/**
 * A status line of ` | `-separated parts, most important first, on one line of `width` columns:
 * whole parts while they fit, and the first cut short if it alone does not. A spinner's line
 * that wraps is redrawn over several rows and smears when the terminal is resized.
 */
export function fitStatus(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const [first, ...rest] = text.split(' | ');
  let out = cutToWidth(first, width);
  for (const part of rest) {
    const next = `${out} | ${part}`;
    if (displayWidth(next) > width) break;
    out = next;
  }
  return out;
}

/**
 * A line of prose (a summary on stderr) for the terminal: wrapped at spaces to the width of
 * `stream`, continuation lines indented by two; unchanged when it fits or off a terminal.
 */
export function fitLine(text: string, stream: NodeJS.WriteStream = process.stderr): string {
  const width = outputWidth(stream);
  if (displayWidth(text) <= width) return text;
  const [first, ...rest] = wrapText(text, width);
  const more = rest.length > 0 ? wrapText(rest.join(' '), Math.max(1, width - 2)).map((l) => `  ${l}`) : [];
  return [first, ...more].join('\n');
}
