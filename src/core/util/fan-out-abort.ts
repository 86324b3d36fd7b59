// The stop signal of a whole run, listened to by every operation in flight at once (lookups,
// table fills, metadata fetches). Dozens of listeners are expected there, so Node's warning at
// more than 10 ("possible memory leak") would only be noise on stderr.
import { setMaxListeners } from 'node:events';

export function fanOutAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** A signal that aborts with the first of `signals`, for the same many listeners. */
export function fanOutSignal(...signals: AbortSignal[]): AbortSignal {
  const signal = AbortSignal.any(signals);
  setMaxListeners(0, signal);
  return signal;
}
