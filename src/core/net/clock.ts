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
