/**
 * ZooKeeper for tests. `npm test` starts one ensemble per run and passes it in `QMQ_ZK_CONNECT`;
 * tests that only read and write znodes share it, each under its own random `zkPath`. Tests that
 * stop, freeze or kill servers need servers of their own: `privateEnsemble` starts them (by PID,
 * on free ports) and `stop()` removes them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEnsemble, type Ensemble } from '../../scripts/zookeeper.mjs';

export type { Ensemble } from '../../scripts/zookeeper.mjs';

/** A fresh chroot-like prefix, so tests sharing one ensemble never see each other's znodes. */
export function uniqueZkPath(label = 'test'): string {
  return `/qmq-test/${label}-${randomBytes(6).toString('hex')}`;
}

/** Servers owned by one test file. Always call `stop()` in `after()`. */
export async function privateEnsemble(nodes = 3, tickTimeMs = 500): Promise<Ensemble & { stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'qmq-zk-'));
  const e = await startEnsemble({ dir, nodes, tickTimeMs });
  const stop = e.stop.bind(e);
  return Object.assign(e, {
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export interface SharedZooKeeper {
  connectString: string;
  /** Stops the servers if this file started them; a no-op for the run-wide ensemble. */
  stop(): Promise<void>;
}

/**
 * The run-wide ensemble when `npm test` provided one; else `fallback` (servers the file already
 * runs), else a private standalone server.
 */
export async function sharedZooKeeper(fallback?: Ensemble): Promise<SharedZooKeeper> {
  const provided = process.env.QMQ_ZK_CONNECT;
  if (provided) return { connectString: provided, stop: async () => {} };
  if (fallback) return { connectString: fallback.connectString, stop: async () => {} };
  const e = await privateEnsemble(1);
  return { connectString: e.connectString, stop: () => e.stop() };
}
