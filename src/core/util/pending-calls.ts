// Tracks the promises an object's methods return. A crawl on virtual time uses it on its store:
// while a real database (PostgreSQL) answers, virtual time must stand still, or the simulated
// network would run on for days while one INSERT is on the wire.

export interface TrackedCalls<T> {
  /** The object, with every promise-returning method call counted until it settles. */
  tracked: T;
  /** A promise that settles when no call is pending, or null when none is. */
  busy(): Promise<void> | null;
}

/** `onSettled`: each tracked call's method name and how long it took, ms (metrics of store writes). */
export function trackPendingCalls<T extends object>(target: T, onSettled?: (method: string, ms: number) => void): TrackedCalls<T> {
  let pending = 0;
  let waiters: Array<() => void> = [];
  const settle = (): void => {
    pending--;
    if (pending === 0) for (const w of waiters.splice(0)) w();
  };
  const tracked = new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const callStarted = performance.now();
        const out: unknown = (value as (...a: unknown[]) => unknown).apply(obj, args);
        if (out !== null && typeof out === 'object' && typeof (out as { then?: unknown }).then === 'function') {
          pending++;
          const started = performance.now();
          const done = (): void => {
            onSettled?.(String(prop), performance.now() - started);
            settle();
          };
          (out as Promise<unknown>).then(done, done);
        } else if (onSettled && typeof prop === 'string') {
          // a synchronous store (SQLite) answered in the call itself
          onSettled(prop, performance.now() - callStarted);
        }
        return out;
      };
    },
  });
  return {
    tracked,
    busy: () => (pending === 0 ? null : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}
