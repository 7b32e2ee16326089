#!/usr/bin/env node
// Runs a throwaway PostgreSQL 15 cluster (Debian's `postgresql` package) as a plain process for
// the tests and benchmarks: `initdb` into a temp directory, the postmaster on a free loopback port
// with its socket in that directory, stopped by PID. Trust authentication for `postgres` on
// loopback, except for roles created with a password (so a wrong password can be tested).
//
//   node scripts/postgres.mjs start [--dir DIR]    prints the URL as JSON, runs until SIGINT/SIGTERM
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { exitGuard, freePorts } from './process-guard.mjs';

export const PG_BIN = process.env.QMQ_PG_BIN ?? '/usr/lib/postgresql/15/bin';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** `initdb` and the postmaster refuse to run as root, so as root they run as the `postgres` user. */
function runAsOwner(cmd, args) {
  const r = isRoot ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

function postgresUid() {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs a "postgres" user for initdb; apt-get install postgresql');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}


// If the owner exits without stop(), take the postmaster with it rather than leak it.
const live = exitGuard('SIGQUIT');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * Creates and starts a cluster. Resolves once it accepts connections.
 * @param {{ dir?: string, port?: number, settings?: Record<string, string> }} opts
 */
export async function startPostgres(opts = {}) {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/initdb); apt-get install postgresql`);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'qmq-pg-'));
  mkdirSync(dir, { recursive: true });
  if (isRoot) {
    const { uid, gid } = postgresUid();
    chownSync(dir, uid, gid);
  }
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // -N: a throwaway cluster need not wait for initdb's own fsyncs.
    const r = runAsOwner(join(PG_BIN, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);
    if (r.status !== 0) throw new Error(`initdb failed (${r.status}): ${r.stderr || r.stdout}`);
    // Loopback connections as `postgres` are trusted; every other role must give its password.
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
    );
  }
  const port = opts.port ?? (await freePorts(1))[0];
  const settings = { listen_addresses: '127.0.0.1', port: String(port), unix_socket_directories: dir, max_connections: '200', ...opts.settings };
  const serverOpts = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');

  let pid = 0;
  async function start() {
    const r = runAsOwner(join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOpts, 'start']);
    if (r.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`pg_ctl start failed (${r.status}): ${r.stderr || r.stdout}\n${log}`);
    }
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    live.add(pid);
  }

  /** Fast shutdown by PID (SIGINT: roll back open transactions, close sessions, checkpoint). */
  async function stopServer(signal = 'SIGINT') {
    if (pid === 0) return;
    const p = pid;
    try {
      process.kill(p, 'SIGCONT');
      process.kill(p, signal);
    } catch {
      // already gone
    }
    if (!(await waitGone(p, 30_000))) {
      process.kill(p, 'SIGKILL');
      await waitGone(p, 5000);
    }
    live.delete(p);
    pid = 0;
  }

  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  async function admin(fn) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  return {
    dir,
    port,
    url,
    get pid() {
      return pid;
    },
    /** Stops the server and removes its directory. */
    async stop() {
      await stopServer('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
    /** Stops the server (`SIGINT` fast, `SIGQUIT` immediate, like a crash) and starts it again on the same port. */
    async restart({ signal = 'SIGINT', downMs = 0 } = {}) {
      await stopServer(signal);
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async kill(signal = 'SIGINT') {
      await stopServer(signal);
    },
    start,
    /** Creates an empty database; returns its URL. */
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    /** Creates a role that must log in with its password (scram over loopback). */
    async createUser(name, password) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad role name ${name}`);
      await admin((c) => c.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args[0] !== 'start') {
    console.error('usage: node scripts/postgres.mjs start [--dir DIR] [--port PORT]');
    process.exit(2);
  }
  const t0 = Date.now();
  const p = await startPostgres({ dir: opt('--dir'), port: opt('--port') ? Number(opt('--port')) : undefined });
  console.log(JSON.stringify({ url: p.url, port: p.port, pid: p.pid, dir: p.dir, startedInMs: Date.now() - t0 }));
  const stop = async () => {
    await p.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
