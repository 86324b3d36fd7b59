// Terminal text for human output: display width, control characters made visible, word
// wrapping and shortened hex. Cell text can come from the network (error messages, client tags),
// so nothing here lets a control character reach the terminal.

/** Code point ranges a terminal draws two columns wide (CJK, Hangul, fullwidth forms, emoji). */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;

function charWidth(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x300) return 1;
  if (ZERO_WIDTH.test(ch)) return 0;
  for (const [lo, hi] of WIDE) if (cp >= lo && cp <= hi) return 2;
  return 1;
}

/** Columns `s` takes on a terminal (no control characters expected: see `printable`). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

/** Tabs become spaces, other control characters (but newlines) `\xNN`: a cell never moves the cursor. */
export function printable(s: string): string {
  return s.replace(/\t/g, ' ').replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Words of 17 or more hex digits (ids, hashes, keys) as `3f2a…9c1e`. */
export function shortenHex(s: string): string {
  return s.replace(/\b[0-9a-f]{17,}\b/gi, (h) => `${h.slice(0, 4)}…${h.slice(-4)}`);
}

/** The widest space-separated word of `s`. */
export function longestWord(s: string): number {
  let w = 0;
  for (const line of s.split('\n')) for (const word of line.split(' ')) w = Math.max(w, displayWidth(word));
  return w;
}

/** The widest line of `s`. */
export function textWidth(s: string): number {
  let w = 0;
  for (const line of s.split('\n')) w = Math.max(w, displayWidth(line));
  return w;
}

/** `s` cut to at most `width` columns, an ellipsis marking the cut; unchanged when it fits. */
export function cutToWidth(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return width >= 1 ? out + '…' : '';
}

/** Splits a word wider than `width` into pieces that fit. */
function breakWord(word: string, width: number): string[] {
  const out: string[] = [];
  let piece = '';
  let w = 0;
  for (const ch of word) {
    const cw = charWidth(ch);
    if (w + cw > width && piece !== '') {
      out.push(piece);
      piece = '';
      w = 0;
    }
    piece += ch;
    w += cw;
  }
  if (piece !== '' || out.length === 0) out.push(piece);
  return out;
}

/**
 * `s` in lines of at most `width` columns: its own lines, each wrapped at spaces; a word wider
 * than `width` is broken where it must be.
 */
export function wrapText(s: string, width: number): string[] {
  const out: string[] = [];
  for (const line of s.split('\n')) {
    if (displayWidth(line) <= width) {
      out.push(line);
      continue;
    }
    let cur = '';
    let curW = 0;
    for (const word of line.split(' ')) {
      if (word === '') continue;
      for (const piece of breakWord(word, width)) {
        const pw = displayWidth(piece);
        if (cur !== '' && curW + 1 + pw <= width) {
          cur += ' ' + piece;
          curW += 1 + pw;
        } else {
          if (cur !== '') out.push(cur);
          cur = piece;
          curW = pw;
        }
      }
    }
    out.push(cur);
  }
  return out;
}

/** Bytes for people: `1000 B`, `326.2 KiB`, `4.7 GiB` (binary units, one decimal). */
export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
