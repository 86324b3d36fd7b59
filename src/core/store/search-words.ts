// The words of a torrent name or a search, as SQLite's FTS5 unicode61 tokenizer sees them: runs
// of letters and digits, case folded, diacritics removed. The PostgreSQL store indexes these, so
// `db search` finds the same torrents on both.
export function searchWords(text: string): string[] {
  const folded = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  return [...new Set(folded.match(/[\p{L}\p{N}]+/gu) ?? [])];
}
