// How user input is echoed in error messages: once, quoted, at most a short prefix, with control
// characters escaped. A 10 MB stdin line then gives a one-line error of a few dozen bytes, and a
// binary line cannot drive the terminal (no raw ESC, NUL, CR...).

/** Characters of the input shown before the quote is cut. */
const QUOTE_PREFIX_CHARS = 64;

/**
 * `'text'`, or `'first 64 chars…' (N chars)` when longer; non-printable characters appear as
 * `\uNNNN` escapes.
 */
export function quote(text: string, max = QUOTE_PREFIX_CHARS): string {
  let shown = 0;
  let end = 0;
  // Count code points, so a cut never splits a surrogate pair.
  for (const ch of text) {
    if (shown === max) break;
    shown++;
    end += ch.length;
  }
  const head = printable(text.slice(0, end));
  return end < text.length ? `'${head}…' (${text.length} chars)` : `'${head}'`;
}

/**
 * The text with C0/C1 control characters, DEL, lone surrogates and the bidirectional overrides
 * escaped as `\uNNNN`, so it prints as one inert line. The escape is JSON's, so a JSON line stays
 * valid JSON with the same meaning.
 */
export function printable(text: string): string {
  return text.replace(
    /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** SGR colour sequences our own renderers add (e.g. `\x1b[2m`); nothing else passes through raw. */
const SGR = /\x1b\[[0-9;]*m/g;

/**
 * Text of several lines for the terminal: each line made printable as above, keeping the line
 * breaks and our own colour sequences, so a rendered block stays a block.
 */
export function printableBlock(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      let out = '';
      let last = 0;
      for (const m of line.matchAll(SGR)) {
        out += printable(line.slice(last, m.index)) + m[0];
        last = m.index + m[0].length;
      }
      return out + printable(line.slice(last));
    })
    .join('\n');
}
