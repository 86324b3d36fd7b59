// A real headless Chromium (Debian's `chromium`), driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: commands on fd 3, replies and events on fd 4, NUL-separated JSON), so
// no WebSocket library and no open port. Background networking, component updates and the like
// are off: the browser loads the file it is given and sends nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = process.env.CHROMIUM ?? 'chromium';

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, any>;
  result?: Record<string, any>;
  error?: { message: string };
}

export interface PageProblem {
  kind: 'console' | 'exception' | 'log';
  text: string;
}

export interface BrowserPage {
  /** Console errors, uncaught exceptions and browser log errors seen since the page was opened. */
  problems: PageProblem[];
  /** Runs an expression in the page and returns its value (JSON-serialisable). */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the whole page at the viewport's width. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openInChromium(url: string, opts: { width?: number; height?: number; timeoutMs?: number } = {}): Promise<BrowserPage> {
  const width = opts.width ?? 1280;
  const height = opts.height ?? 900;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const profile = mkdtempSync(join(tmpdir(), 'bitscrape-chromium-'));
  const args = [
    '--headless=new',
    // as root (CI, containers) Chromium refuses to start with its sandbox
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-default-apps',
    '--disable-extensions',
    '--disable-sync',
    '--disable-breakpad',
    '--no-first-run',
    '--no-default-browser-check',
    '--metrics-recording-only',
    '--remote-debugging-pipe',
    `--user-data-dir=${profile}`,
    `--window-size=${width},${height}`,
    'about:blank',
  ];
  const child: ChildProcess = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 20_000) stderr += d.toString();
  });
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let nextId = 1;
  const pending = new Map<number, { resolve: (m: CdpMessage) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(m: CdpMessage) => void>();
  let exited: Error | undefined;
  const failAll = (err: Error): void => {
    exited = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  child.on('error', (err) => failAll(new Error(`cannot start ${CHROMIUM}: ${err.message} (install Debian's chromium)`)));
  child.on('exit', (code, signal) => failAll(new Error(`chromium exited (${code ?? signal}): ${stderr.slice(-2000)}`)));
  let buffered = Buffer.alloc(0);
  fromBrowser.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    let end: number;
    while ((end = buffered.indexOf(0)) >= 0) {
      const msg = JSON.parse(buffered.subarray(0, end).toString('utf8')) as CdpMessage;
      buffered = buffered.subarray(end + 1);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`CDP: ${msg.error.message}`));
        else p?.resolve(msg);
      } else for (const l of listeners) l(msg);
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, any>> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(exited);
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`CDP ${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m.result ?? {});
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  const waitEvent = (method: string, sessionId: string): Promise<CdpMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(on);
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (m: CdpMessage): void => {
        if (m.method === method && m.sessionId === sessionId) {
          clearTimeout(timer);
          listeners.delete(on);
          resolve(m);
        }
      };
      listeners.add(on);
    });

  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    try {
      if (!exited) await Promise.race([send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]);
    } catch {
      // already gone
    }
    // the profile directory is removed only once the browser has stopped writing to it
    const stopped = await Promise.race([gone.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    if (!stopped) {
      child.kill('SIGKILL');
      await gone;
    }
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };

  try {
    const { targetInfos } = await send('Target.getTargets');
    const page = (targetInfos as Array<{ type: string; targetId: string }>).find((t) => t.type === 'page');
    const targetId = page ? page.targetId : (await send('Target.createTarget', { url: 'about:blank' })).targetId;
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    const problems: PageProblem[] = [];
    listeners.add((m) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === 'Runtime.consoleAPICalled' && (m.params?.type === 'error' || m.params?.type === 'assert')) {
        problems.push({ kind: 'console', text: (m.params.args ?? []).map((a: any) => a.value ?? a.description).join(' ') });
      } else if (m.method === 'Runtime.exceptionThrown') {
        problems.push({ kind: 'exception', text: m.params?.exceptionDetails?.exception?.description ?? m.params?.exceptionDetails?.text });
      } else if (m.method === 'Log.entryAdded' && m.params?.entry?.level === 'error') {
        problems.push({ kind: 'log', text: `${m.params.entry.text} ${m.params.entry.url ?? ''}` });
      }
    });
    await send('Runtime.enable', {}, sessionId);
    await send('Log.enable', {}, sessionId);
    await send('Page.enable', {}, sessionId);
    await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = waitEvent('Page.loadEventFired', sessionId);
    const nav = await send('Page.navigate', { url }, sessionId);
    if (nav.errorText) throw new Error(`chromium could not open ${url}: ${nav.errorText}`);
    await loaded;
    return {
      problems,
      async evaluate<T>(expression: string): Promise<T> {
        const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
        return r.result.value as T;
      },
      async screenshot(): Promise<Buffer> {
        const metrics = await send('Page.getLayoutMetrics', {}, sessionId);
        const full = metrics.cssContentSize as { width: number; height: number };
        const clip = { x: 0, y: 0, width: Math.max(width, Math.ceil(full.width)), height: Math.ceil(full.height), scale: 1 };
        const { data } = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip }, sessionId);
        return Buffer.from(data as string, 'base64');
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
