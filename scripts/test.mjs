#!/usr/bin/env node
// `npm test`: builds, provisions what the tests need (system packages, ZooKeeper, PostgreSQL),
// then runs every test file with node's test runner. It fails loudly when it cannot provision.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { provision } from './provision.mjs';
import { startEnsemble } from './zookeeper.mjs';
import { startPostgres } from './postgres.mjs';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const filters = process.argv.slice(2);
let files = findTests('test');
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('npm test: no test files matched', filters.join(' '));
  process.exit(1);
}

const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('npm test: the build failed');
  process.exit(1);
}

const env = await provision(files);

// Services started once per run and shared by the test files that only need a working one
// (each test uses its own zkPath or database). Files that kill or freeze servers start their own.
const services = [];
const usesZooKeeper = files.some((f) => /replicated|zk-|chaos/.test(f));
if (usesZooKeeper) {
  const zk = await startEnsemble({ nodes: 3, tickTimeMs: 500 });
  services.push(() => zk.stop());
  env.QMQ_ZK_CONNECT = zk.connectString;
  console.error(`npm test: ZooKeeper ensemble at ${zk.connectString}`);
}

if (files.some((f) => /jdbc/.test(f))) {
  const pg = await startPostgres();
  services.push(() => pg.stop());
  env.QMQ_PG_URL = pg.url;
  console.error(`npm test: PostgreSQL at ${pg.url}`);
}

let status = 1;
try {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
    { stdio: 'inherit', env: { ...process.env, ...env } },
  );
  status = r.status ?? 1;
} finally {
  for (const stop of services.reverse()) await stop().catch((e) => console.error('npm test: stopping a service failed:', e));
}
process.exit(status);
