/**
 * Everything the bench starts or creates is registered here and undone on exit, on Ctrl-C and
 * on errors: child processes are killed by their PID (never by name), temp dirs removed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

type Cleanup = () => void | Promise<void>;

const cleanups = new Map<number, { what: string; run: Cleanup }>();
let nextCleanup = 0;

/** Registers an undo action; the returned function runs it now (once) and unregisters it. */
export function onCleanup(what: string, run: Cleanup): () => Promise<void> {
  const id = nextCleanup++;
  cleanups.set(id, { what, run });
  return async () => {
    const c = cleanups.get(id);
    if (!c) return;
    cleanups.delete(id);
    await c.run();
  };
}

let cleaningUp: Promise<void> | undefined;

/** True once cleanup has begun (Ctrl-C or the end of the run): start nothing new. */
export function isShuttingDown(): boolean {
  return cleaningUp !== undefined;
}

/**
 * Runs every registered undo action, newest first, reporting but not stopping on failures.
 * Every caller (the signal handler, the normal exit path) waits for the same single pass, so
 * the process never exits while another caller's cleanup is still under way.
 */
export function cleanupAll(): Promise<void> {
  cleaningUp ??= (async () => {
    // Actions registered while cleaning up (a relaunch racing Ctrl-C) are picked up too.
    while (cleanups.size > 0) {
      const pending = [...cleanups.entries()].reverse();
      cleanups.clear();
      for (const [, c] of pending) {
        try {
          await c.run();
        } catch (e) {
          process.stderr.write(`bench: cleanup of ${c.what} failed: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    }
  })();
  return cleaningUp;
}

/** A temp dir that is removed on cleanup. */
export function makeTempDir(prefix: string): { dir: string; remove: () => Promise<void> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = onCleanup(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return { dir, remove };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until the process is gone; false if it is still there after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function terminate(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 5_000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident set size and its peak, from /proc/<pid>/status (Linux only). */
export function readRss(pid: number): { rssMB: number; rssPeakMB: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const rss = kb('VmRSS');
  const hwm = kb('VmHWM');
  if (rss === undefined) return undefined;
  return { rssMB: rss / 1024, rssPeakMB: (hwm ?? rss) / 1024 };
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** True once something accepts TCP connections on host:port. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
