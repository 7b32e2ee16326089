/**
 * PostgreSQL for tests. `npm test` starts one cluster per run and passes its superuser URL in
 * `QMQ_PG_URL`; without it, a test file starts a private cluster. Either way every test gets a
 * database of its own (`freshDatabase`), so tests never see each other's tables. Tests that
 * restart or stop PostgreSQL need a private cluster (`privatePostgres`).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPostgres, type PostgresCluster } from '../../scripts/postgres.mjs';

export type { PostgresCluster } from '../../scripts/postgres.mjs';

export interface TestPostgres {
  /** The superuser URL of the cluster (database `postgres`). */
  url: string;
  /** Creates an empty database with a unique name and returns its URL. */
  freshDatabase(label?: string): Promise<string>;
  /** Stops the cluster if this file started it; a no-op for the run-wide one. */
  stop(): Promise<void>;
}

function databaseUrl(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function createDatabase(serverUrl: string, label: string): Promise<string> {
  const name = `qmq_${label.replace(/[^a-z0-9_]/g, '_').slice(0, 30)}_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return databaseUrl(serverUrl, name);
}

/** A cluster owned by this test file (it may be restarted); always call `stop()` in `after()`. */
export async function privatePostgres(): Promise<PostgresCluster & { freshDatabase(label?: string): Promise<string> }> {
  const cluster = await startPostgres();
  return Object.assign(cluster, { freshDatabase: (label = 't') => createDatabase(cluster.url, label) });
}

/** The run-wide cluster when `npm test` provided one, else a private one. */
export async function testPostgres(): Promise<TestPostgres> {
  const provided = process.env.QMQ_PG_URL;
  if (provided) return { url: provided, freshDatabase: (label = 't') => createDatabase(provided, label), stop: async () => {} };
  const cluster = await privatePostgres();
  return { url: cluster.url, freshDatabase: cluster.freshDatabase, stop: () => cluster.stop() };
}
