/** Runs the ceiling probe (ceiling-server.ts) as a child process so it has an event loop of its own. */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, terminate } from '../processes.js';
import type { BenchBroker } from './types.js';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../ceiling-server.ts');

export async function startCeiling(): Promise<BenchBroker> {
  const child = fork(SERVER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let exited = false;
  child.once('exit', () => (exited = true));
  const unregister = onCleanup('ceiling listener', async () => {
    if (child.pid !== undefined && !exited) await terminate(child.pid, 5_000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the ceiling listener did not report its port within 30 s')), 30_000);
    child.once('message', (m: unknown) => {
      clearTimeout(timer);
      resolve((m as { port: number }).port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ceiling listener exited with code ${code} before it listened`));
    });
  });
  return {
    label: 'ceiling',
    host: '127.0.0.1',
    port,
    pid: () => child.pid,
    assertRunning() {
      if (exited) throw new Error('the ceiling listener exited');
    },
    stop: unregister,
  };
}
