// The injected clock: timers, rate limits and timeouts read it, so the same engine runs on
// real time over UDP and on virtual time inside SimNetwork.

export interface TimerHandle {
  /** Opaque; pass back to clearTimeout. */
  readonly id: number;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Calls fn every `ms` on `clock` until the returned function is called (a setInterval on any Clock). */
export function repeat(clock: Clock, ms: number, fn: () => void): () => void {
  let handle: TimerHandle | null = null;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    handle = clock.setTimeout(tick, ms);
    fn();
  };
  handle = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    if (handle) clock.clearTimeout(handle);
  };
}
