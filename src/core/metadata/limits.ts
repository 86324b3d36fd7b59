// Connection slots shared by every metadata fetch of a run: at most `total` TCP connections
// open, and at most `perIp` to one IP (peers behind one address are one host to be polite to).
// Waiters are served first come, first served among those whose IP has room.

interface Waiter {
  ip: string;
  grant: (release: (() => void) | null) => void;
}

export class ConnectionLimits {
  private open = 0;
  private readonly byIp = new Map<string, number>();
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly total: number,
    readonly perIp: number,
  ) {}

  get inUse(): number {
    return this.open;
  }

  /** A release function once a slot is free, or null if `signal` aborts first. */
  acquire(ip: string, signal?: AbortSignal): Promise<(() => void) | null> {
    if (signal?.aborted) return Promise.resolve(null);
    if (this.fits(ip)) return Promise.resolve(this.take(ip));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ip,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(null);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private fits(ip: string): boolean {
    return this.open < this.total && (this.byIp.get(ip) ?? 0) < this.perIp;
  }

  private take(ip: string): () => void {
    this.open++;
    this.byIp.set(ip, (this.byIp.get(ip) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const n = (this.byIp.get(ip) ?? 1) - 1;
      if (n === 0) this.byIp.delete(ip);
      else this.byIp.set(ip, n);
      this.wake();
    };
  }

  private wake(): void {
    for (let i = 0; i < this.waiters.length && this.open < this.total; ) {
      const w = this.waiters[i];
      if (this.fits(w.ip)) {
        this.waiters.splice(i, 1);
        w.grant(this.take(w.ip));
      } else i++;
    }
  }
}
