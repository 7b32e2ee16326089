// Types for scripts/postgres.mjs (plain JS so that `npm test` can run it before tsx is involved).
export interface PostgresCluster {
  dir: string;
  port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (the trusted superuser). */
  url: string;
  /** The postmaster's PID (0 while stopped). */
  readonly pid: number;
  stop(): Promise<void>;
  restart(opts?: { signal?: NodeJS.Signals; downMs?: number }): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  createDatabase(name: string): Promise<string>;
  createUser(name: string, password: string): Promise<void>;
}

export const PG_BIN: string;
export function startPostgres(opts?: { dir?: string; port?: number; settings?: Record<string, string> }): Promise<PostgresCluster>;
