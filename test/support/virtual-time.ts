// Drives a VirtualClock until a promise settles: the tests' way to await code that waits on
// virtual timers (lookups, item puts, scrapes) without the test choosing how far to advance.
import { DEFAULT_IDLE_LIMIT_MS, type VirtualClock } from '../../src/core/net/virtual-clock.js';

/**
 * Fires timers, letting promise continuations run after each instant, until `done` settles;
 * returns (or rethrows) its outcome. Throws if no timer is left, or limitMs of virtual time
 * pass, with `done` still pending: the code under test is stuck.
 */
export async function runUntilSettled<T>(clock: VirtualClock, done: Promise<T>, limitMs = DEFAULT_IDLE_LIMIT_MS): Promise<T> {
  let settled = false;
  done.then(
    () => (settled = true),
    () => (settled = true),
  );
  if (!(await clock.runUntilAsync(() => settled, limitMs))) {
    throw new Error(`virtual clock: promise still pending at t=${clock.now()} with ${clock.pending} timers`);
  }
  return done;
}
