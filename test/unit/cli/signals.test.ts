// SignalGuard (src/cli/signals.ts) on a fake process: the first SIGINT / SIGTERM stops a command
// that took the stop over, a second one exits at once, a command that did not take over is ended
// after its shutdown tasks, and a copy of the same signal at once (timeout(1)) is not a second one.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { REPEAT_WINDOW_MS, SignalGuard, type SignalHost, type StopSignalName } from '../../../src/cli/signals.js';

function setup() {
  const host = new EventEmitter();
  const exits: number[] = [];
  const notes: string[] = [];
  const order: string[] = [];
  let now = 1000;
  const guard = new SignalGuard({
    host: host as unknown as SignalHost,
    exit: (code) => {
      exits.push(code);
      order.push(`exit ${code}`);
    },
    note: (t) => notes.push(t),
    settle: async () => {
      order.push('settle');
    },
    now: () => now,
  });
  guard.install();
  const send = (s: StopSignalName): void => {
    host.emit(s, s);
  };
  const later = (ms: number): void => {
    now += ms;
  };
  return { host, guard, exits, notes, order, send, later };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SignalGuard', () => {
  it('first signal aborts a command that took over (no exit); a second one exits at once', () => {
    const t = setup();
    const signal = t.guard.takeOver();
    t.send('SIGINT');
    expect(signal.aborted).toBe(true);
    expect(t.guard.received).toBe('SIGINT');
    expect(t.exits).toEqual([]);
    t.later(REPEAT_WINDOW_MS + 1000);
    t.send('SIGINT');
    expect(t.exits).toEqual([130]);
    expect(t.notes.join('\n')).toMatch(/SIGINT again/);
  });

  it('a copy of the first signal at the same moment is the same request', () => {
    const t = setup();
    t.guard.takeOver();
    t.send('SIGTERM');
    t.send('SIGTERM'); // timeout(1): once to the process, once to its group
    expect(t.exits).toEqual([]);
    t.send('SIGINT'); // another signal is a second request even at once
    expect(t.exits).toEqual([130]);
  });

  it('a command that did not take over is ended after its shutdown tasks and a bounded flush, 143 on SIGTERM', async () => {
    const t = setup();
    const saved: string[] = [];
    t.guard.onShutdown(async () => {
      await turn();
      saved.push('routing file');
      t.order.push('task');
    });
    const gone = t.guard.onShutdown(() => saved.push('closed session'));
    gone();
    t.send('SIGTERM');
    expect(t.guard.signal.aborted).toBe(true);
    for (let i = 0; i < 5 && t.exits.length === 0; i++) await turn();
    expect(saved).toEqual(['routing file']);
    expect(t.order).toEqual(['task', 'settle', 'exit 143']);
  });

  it('after the run has ended a signal exits at once', () => {
    const t = setup();
    t.guard.takeOver();
    t.guard.end();
    t.send('SIGINT');
    expect(t.exits).toEqual([130]);
  });

  it('keeps its listeners installed, so signal-exit never finds itself alone (ora on a terminal)', () => {
    const t = setup();
    t.guard.takeOver();
    t.send('SIGINT');
    expect(t.host.listenerCount('SIGINT')).toBe(1);
    expect(t.host.listenerCount('SIGTERM')).toBe(1);
    t.guard.uninstall();
    expect(t.host.listenerCount('SIGINT')).toBe(0);
  });
});
