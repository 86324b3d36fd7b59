// Starts the slow kinds of test file first (real PostgreSQL, then real libtorrent, then CLI
// processes), so that with several workers the quick unit files fill the end of the run instead
// of one long file starting last. Within a kind, vitest's own order holds (longest first once it
// has timings, larger files first on a fresh machine such as CI).
import { BaseSequencer, type TestSpecification } from 'vitest/node';

function kind(path: string): number {
  if (/postgres[^/\\]*\.test\.ts$/.test(path)) return 0;
  if (/[/\\]test[/\\]interop[/\\]/.test(path)) return 1;
  if (/[/\\]test[/\\]integration[/\\]/.test(path)) return 2;
  return 3;
}

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    return ordered
      .map((spec, i) => ({ spec, i, k: kind(spec.moduleId) }))
      .sort((a, b) => a.k - b.k || a.i - b.i)
      .map((e) => e.spec);
  }
}
