// The human-output renderer: tables and key-value blocks fitted to a width.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/core/net/prng.js';
import { fitLine, fitStatus, outputWidth, renderKeyValues, renderTable, type Column } from '../../../src/output/table.js';
import { cutToWidth, displayWidth, printable, shortenHex, wrapText } from '../../../src/output/text.js';

const ID_A = '3f2a000000000000000000000000000000009c1e';
const ID_B = 'ab12cdef0123456789abcdef0123456789ab77ee';

function widths(text: string): number[] {
  return text.split('\n').map(displayWidth);
}

const NODE_COLUMNS: Column[] = [
  { header: 'id', hex: true },
  { header: 'address' },
  { header: 'rtt ms', align: 'right' },
  { header: 'client', drop: 1 },
  { header: 'status', wrap: true },
];
const NODE_ROWS = [
  [ID_A, '127.0.0.1:6881', 12.5, 'LT 2.0.8', 'ok'],
  [ID_B, '[2001:db8::1]:51413', 3, 'UT 3526', 'timeout after 2 attempts'],
];

describe('renderTable', () => {
  it('prints one line per row and no separator lines when the table fits', () => {
    const out = renderTable(NODE_COLUMNS, NODE_ROWS, { width: Infinity });
    const lines = out.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^id +address +rtt ms +client +status$/);
    expect(lines[1]).toBe(`${ID_A}  127.0.0.1:6881         12.5  LT 2.0.8  ok`);
    expect(lines[2]).toBe(`${ID_B}  [2001:db8::1]:51413       3  UT 3526   timeout after 2 attempts`);
    expect(out).not.toMatch(/[─┼├┤│]/);
  });

  it('shortens hex before anything else, and only when the table does not fit', () => {
    const full = renderTable(NODE_COLUMNS, NODE_ROWS, { width: 120 });
    expect(full).toContain(ID_A);
    const out = renderTable(NODE_COLUMNS, NODE_ROWS, { width: 80 });
    expect(Math.max(...widths(out))).toBeLessThanOrEqual(80);
    expect(out).not.toContain(ID_A);
    expect(out.split('\n')[1]).toMatch(/^3f2a…9c1e {2}127\.0\.0\.1:6881 +12\.5 {2}LT 2\.0\.8 {2}ok$/);
    // Everything else is still there, whole, on the row's one line.
    expect(out.split('\n')[2]).toMatch(/^ab12…77ee {2}\[2001:db8::1\]:51413 +3 {2}UT 3526 {3}timeout after 2 attempts$/);
  });

  it('wraps a wrap column at spaces, then leaves out droppable columns, keeping rows whole', () => {
    const wrapped = renderTable(NODE_COLUMNS, NODE_ROWS, { width: 60 });
    expect(Math.max(...widths(wrapped))).toBeLessThanOrEqual(60);
    expect(wrapped).toContain('UT 3526');
    expect(wrapped).toMatch(/timeout after\n +2 attempts$|timeout\n +after 2\n +attempts$/);
    const dropped = renderTable(NODE_COLUMNS, NODE_ROWS, { width: 50 });
    expect(Math.max(...widths(dropped))).toBeLessThanOrEqual(50);
    expect(dropped).not.toContain('client');
    expect(dropped).not.toContain('UT 3526');
    for (const line of dropped.split('\n').slice(1)) {
      // A row's first line carries its id, address and rtt; continuation lines only the status.
      if (!/^ +\S/.test(line)) expect(line).toMatch(/^[0-9a-f]{4}…[0-9a-f]{4} {2}\S+ +[\d.]+ {2}\S/);
    }
  });

  it('never exceeds the width, for any width and any table (last resort: everything wraps, columns go)', () => {
    const prng = new Prng(7);
    const below = (n: number): number => prng.int(0, n - 1);
    const word = (): string => {
      const n = 1 + below(30);
      let s = '';
      for (let i = 0; i < n; i++) s += 'abcdef0123456789xyz'[below(19)];
      return s;
    };
    for (let t = 0; t < 200; t++) {
      const ncols = 1 + below(8);
      const cols: Column[] = Array.from({ length: ncols }, (_, i) => ({
        header: `col ${i}`,
        ...(below(2) ? { hex: true } : {}),
        ...(below(2) ? { wrap: true } : {}),
        ...(below(2) ? { drop: below(4) } : {}),
      }));
      const rows = Array.from({ length: 1 + below(5) }, () => cols.map(() => Array.from({ length: 1 + below(3) }, word).join(' ')));
      const width = 1 + below(140);
      const out = renderTable(cols, rows, { width });
      expect(Math.max(...widths(out)), `width ${width}:\n${out}`).toBeLessThanOrEqual(width);
    }
  });

  it('rounds numbers, leaves null cells empty, and makes control characters visible', () => {
    const out = renderTable(['a', 'b', 'c'], [[60210.279541015625, null, 'evil\x1b[2Jtext\ttab']], { width: Infinity });
    expect(out.split('\n')[1]).toBe('60210.28     evil\\x1b[2Jtext tab');
    expect(out).not.toContain('\x1b');
  });

  it('colours only the header words on a terminal, and leaves no trailing spaces', () => {
    const tty = { isTTY: true, columns: 100 } as unknown as NodeJS.WriteStream;
    const saved = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      const out = renderTable(['name', 'value'], [['a', 'b']], { stream: tty });
      expect(out.split('\n')[0]).toBe('\x1b[36mname\x1b[39m  \x1b[36mvalue\x1b[39m');
      expect(out.split('\n')[1]).toBe('a     b');
    } finally {
      if (saved !== undefined) process.env.NO_COLOR = saved;
    }
  });
});

describe('renderKeyValues', () => {
  it('aligns values, leaves out null ones, and shortens only the hex values that do not fit', () => {
    const sig = 'ab'.repeat(64);
    const pairs = [
      ['target', ID_A, { keep: true }],
      ['sig', sig],
      ['new to the database', null],
      ['clients', 'LT 2.0.8: 31, LT 2.0.9: 28, LT 1.1.2: 13, UT 3526: 11, ml 12: 10, unknown: 6'],
    ] as const;
    const out = renderKeyValues(pairs, { width: 60 });
    const lines = out.split('\n');
    expect(lines[0]).toBe(`target   ${ID_A}`);
    expect(lines[1]).toBe('sig      abab…abab');
    expect(out).not.toContain('new to the database');
    expect(lines[2]).toMatch(/^clients {2}LT 2\.0\.8: 31/);
    expect(Math.max(...widths(out))).toBeLessThanOrEqual(60);
    expect(renderKeyValues(pairs, { width: Infinity })).toContain(sig);
  });
});

describe('fitLine', () => {
  it('wraps prose at spaces for a terminal, continuation lines indented; leaves it alone off a terminal', () => {
    const text = 'target 3f2a000000000000000000000000000000009c1e: 8 nodes; 11 queries, 9 replies, 0 timeouts';
    const saved = process.env.COLUMNS;
    delete process.env.COLUMNS;
    try {
      const narrow = fitLine(text, { isTTY: true, columns: 50 } as unknown as NodeJS.WriteStream);
      expect(narrow.split('\n')).toEqual([`target ${'3f2a000000000000000000000000000000009c1e'}: 8`, '  nodes; 11 queries, 9 replies, 0 timeouts']);
    } finally {
      if (saved !== undefined) process.env.COLUMNS = saved;
    }
    expect(fitLine(text, { isTTY: false } as unknown as NodeJS.WriteStream)).toBe(text);
  });
});

describe('fitStatus', () => {
  const line = 'keyspace 100% | waiting for the BEP 51 interval of 152 nodes, next in 1.0s | 1915 nodes queried | 5m19s';
  it('keeps whole parts from the left while they fit, on one line', () => {
    expect(fitStatus(line, 200)).toBe(line);
    expect(fitStatus(line, 77)).toBe('keyspace 100% | waiting for the BEP 51 interval of 152 nodes, next in 1.0s');
    expect(fitStatus(line, 100)).toBe('keyspace 100% | waiting for the BEP 51 interval of 152 nodes, next in 1.0s | 1915 nodes queried');
    expect(fitStatus(line, 20)).toBe('keyspace 100%');
  });
  it('cuts a first part wider than the line, by terminal columns, with an ellipsis', () => {
    expect(fitStatus(line, 10)).toBe('keyspace …');
    expect(displayWidth(fitStatus('数据'.repeat(10) + ' | x', 9))).toBeLessThanOrEqual(9);
    expect(cutToWidth('数据数据', 6)).toBe('数据…');
    expect(cutToWidth('short', 5)).toBe('short');
  });
});

describe('outputWidth', () => {
  const tty = { isTTY: true, columns: 97 } as unknown as NodeJS.WriteStream;
  const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
  it('is $COLUMNS when set, else the terminal width, else unlimited', () => {
    expect(outputWidth(tty, { COLUMNS: '80' })).toBe(80);
    expect(outputWidth(tty, {})).toBe(97);
    expect(outputWidth(tty, { COLUMNS: 'wide' })).toBe(97);
    expect(outputWidth(pipe, {})).toBe(Infinity);
    expect(outputWidth(pipe, { COLUMNS: '132' })).toBe(132);
  });
});

describe('text helpers', () => {
  it('measure wide and combining characters, and wrap at spaces or inside over-long words', () => {
    expect(displayWidth('µTorrent')).toBe(8);
    expect(displayWidth('漢字')).toBe(4);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(wrapText('timeout after 2 attempts', 10)).toEqual(['timeout', 'after 2', 'attempts']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('one\ntwo', 10)).toEqual(['one', 'two']);
    expect(shortenHex(`${ID_A} ${'ab'.repeat(8)} 0x${ID_B}`)).toBe(`3f2a…9c1e ${'ab'.repeat(8)} 0x${ID_B}`);
    expect(printable('a\x07b\nc')).toBe('a\\x07b\nc');
  });
});
