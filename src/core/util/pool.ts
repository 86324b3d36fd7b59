// Runs async work over items with at most `limit` in flight, handing each result over as it
// completes (streaming output), and stopping early when `shouldStop` says so.
export async function forEachConcurrent<T, R>(
  items: Iterable<T>,
  limit: number,
  work: (item: T, index: number) => Promise<R>,
  onResult: (result: R, item: T, index: number) => void,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  const it = items[Symbol.iterator]();
  let index = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (shouldStop()) return;
      const next = it.next();
      if (next.done) return;
      const i = index++;
      const r = await work(next.value, i);
      if (shouldStop()) return;
      onResult(r, next.value, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}
