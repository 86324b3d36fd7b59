// "Did you mean …?" for a mistyped command: the closest candidate by edit distance, where swapping
// two neighbouring letters counts as one edit (`pnig` → `ping`), and only when it is close enough
// to be a typo rather than a different word.

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1, d[(i - 1) * cols + j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2] + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1];
}

/**
 * The candidate closest to `typed` (case-insensitive), or undefined when even the closest needs
 * more than one edit per three characters typed (at least one): `xyz` suggests nothing.
 */
export function closest(typed: string, candidates: Iterable<string>): string | undefined {
  const t = typed.toLowerCase();
  const limit = Math.max(1, Math.floor(t.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(t, c.toLowerCase());
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && c < best)) {
      best = c;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
