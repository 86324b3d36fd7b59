import { describe, expect, it } from 'vitest';
import { oneLine, parseErrorLine } from '../../../src/cli/errors.js';
import { printable, printableBlock, quote } from '../../../src/core/util/quote.js';

describe('quote', () => {
  it('quotes short input whole', () => {
    expect(quote('abc')).toBe("'abc'");
    expect(quote('')).toBe("''");
    expect(quote('x'.repeat(64))).toBe(`'${'x'.repeat(64)}'`);
  });

  it('cuts long input to a 64-character prefix, then … and the length', () => {
    expect(quote('x'.repeat(65))).toBe(`'${'x'.repeat(64)}…' (65 chars)`);
    const q = quote('a'.repeat(10_000_000));
    expect(q).toBe(`'${'a'.repeat(64)}…' (10000000 chars)`);
  });

  it('escapes control characters, DEL, C1 controls and bidi overrides', () => {
    expect(quote('a\x00b\x1b[31mc\rd\ne\x7f\x9b')).toBe("'a\\u0000b\\u001b[31mc\\u000dd\\u000ae\\u007f\\u009b'");
    expect(printable('evil\u202etxt.exe')).toBe('evil\\u202etxt.exe');
    expect(printable('\u2028')).toBe('\\u2028');
  });

  it('keeps printable Unicode and whole surrogate pairs; escapes lone surrogates', () => {
    expect(quote('héllo ✓ 😀')).toBe("'héllo ✓ 😀'");
    expect(quote('😀'.repeat(65))).toBe(`'${'😀'.repeat(64)}…' (130 chars)`);
    expect(printable('a\ud800b\udc00')).toBe('a\\ud800b\\udc00');
  });

  it('keeps a JSON line valid JSON with the same meaning', () => {
    const rec = { error: 'a\u0085b\u202ec\\\u2028' };
    const line = printable(JSON.stringify(rec));
    expect(line).not.toMatch(/[\u0085\u202e\u2028]/);
    expect(JSON.parse(line)).toEqual(rec);
  });

  it('binary read as UTF-8 comes out as one printable line', () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('utf8');
    const q = quote(binary, 300);
    expect(q).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });
});

describe('one-line error reports', () => {
  it('bound and escape messages that echo input without quote()', () => {
    const line = oneLine(new Error(`bad: ${'\x1b'.repeat(10)}${'z'.repeat(1_000_000)}`));
    expect(line).not.toMatch(/[\x00-\x1f]/);
    expect(line.length).toBeLessThan(400);
    const parse = parseErrorLine(new Error(`Parsing --x\n\tExpected an integer but received: \x07${'9'.repeat(100_000)}`));
    expect(parse).not.toMatch(/[\x00-\x1f]/);
    expect(parse.length).toBeLessThan(400);
  });

  it('printableBlock keeps line breaks and colour, escapes every other control character', () => {
    expect(printableBlock('a  1\nbb 2')).toBe('a  1\nbb 2');
    expect(printableBlock('\x1b[2mdim\x1b[0m\nx')).toBe('\x1b[2mdim\x1b[0m\nx');
    expect(printableBlock('evil\x1b]0;title\x07\r\nok')).toBe('evil\\u001b]0;title\\u0007\\u000d\nok');
  });
});
