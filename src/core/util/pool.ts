// Runs an async job per item of a (possibly endless, possibly slow) source with at most `limit`
// jobs at once, and yields results in the order they finish. Items are pulled only when a slot
// is free, so a long stdin stream is never read far ahead of the work.

type Event<T, R> = { kind: 'item'; next: IteratorResult<T> } | { kind: 'done'; id: number; value: R };

export async function* mapConcurrent<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  limit: number,
  job: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const slots = Math.max(1, Math.floor(limit));
  const it: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in source ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
  const running = new Map<number, Promise<Event<T, R>>>();
  let pulling: Promise<Event<T, R>> | null = null;
  let exhausted = false;
  let nextId = 0;
  try {
    for (;;) {
      if (!exhausted && !pulling && running.size < slots) {
        pulling = Promise.resolve(it.next()).then((next): Event<T, R> => ({ kind: 'item', next }));
      }
      if (!pulling && running.size === 0) return;
      const event = await Promise.race(pulling ? [pulling, ...running.values()] : running.values());
      if (event.kind === 'item') {
        pulling = null;
        if (event.next.done) {
          exhausted = true;
          continue;
        }
        const id = nextId++;
        running.set(
          id,
          job(event.next.value).then((value): Event<T, R> => ({ kind: 'done', id, value })),
        );
      } else {
        running.delete(event.id);
        yield event.value;
      }
    }
  } finally {
    // Stopped early (the consumer broke out): close the source. Not awaited while a read is
    // pending: an async generator queues return() behind it, and stdin may never deliver.
    if (!exhausted) {
      const closing = Promise.resolve(it.return?.()).catch(() => undefined);
      if (!pulling) await closing;
    }
  }
}

/**
 * Passes `source` through until `stop` settles; then ends at once, even while the source is
 * blocked on a read (stdin that never delivers another line).
 */
export async function* untilStopped<T>(source: AsyncIterable<T>, stop: Promise<unknown>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const STOP: unique symbol = Symbol('stop');
  const stopped = stop.then(
    (): typeof STOP => STOP,
    (): typeof STOP => STOP,
  );
  let finished = false;
  try {
    for (;;) {
      const r = await Promise.race([it.next(), stopped]);
      if (r === STOP) return;
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!finished) void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}
