// Query words for the two search back ends: FTS5 query quoting (SQLite) and the words the
// PostgreSQL store indexes, which must split text the same way.
import { describe, expect, it } from 'vitest';
import { ftsQuery } from '../../../src/core/store/index.js';
import { searchWords } from '../../../src/core/store/search-words.js';

describe('search words', () => {
  it('quotes every word of a query, so FTS5 syntax is text', () => {
    expect(ftsQuery('rp000005.bin')).toBe('"rp000005" "bin"');
    expect(ftsQuery('a* OR "b"')).toBe('"a" "OR" "b"');
    expect(ftsQuery(' -- ')).toBeNull();
  });
  it('splits words as FTS5 unicode61 does: letters and digits, case and diacritics folded', () => {
    expect(searchWords('rp000005.bin Café CRÈME café')).toEqual(['rp000005', 'bin', 'cafe', 'creme']);
    expect(searchWords(' -- ')).toEqual([]);
  });
});
