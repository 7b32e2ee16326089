import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runChaos } from '../../src/chaos/run-chaos.js';
import { cleanupTemp, tempDir } from '../helpers/broker-process.js';

after(cleanupTemp);

// The CI smoke run: `single` with kill -9 and SIGSTOP of the only node, then restart/resume.
// The HA modes join here as they are wired in src/chaos/cluster.ts.
test('chaos smoke (single): kill -9 and pause under load lose no acknowledged message', async () => {
  const report = await runChaos({
    mode: 'single',
    durationMs: 14_000,
    faults: ['kill', 'pause'],
    seed: 42,
    outDir: tempDir('qmq-chaos-smoke-'),
    producers: 3,
    pauseMs: 2000,
    drainTimeoutMs: 30_000,
  });
  const r = report.result;
  assert.ok(report.schedule.length >= 2, `faults planned: ${JSON.stringify(report.schedule)}`);
  assert.equal(r.failovers.length, report.schedule.length, report.summary);
  assert.equal(r.unrecoveredFaults, 0, report.summary);
  // Enough traffic to mean something, without turning machine speed into a pass/fail condition.
  assert.ok(r.acked > 20, report.summary);
  assert.equal(r.lost, 0, report.summary);
  assert.equal(r.unexpected, 0, report.summary);
  assert.equal(r.corrupt, 0, report.summary);
  assert.equal(report.outstandingAfterDrain, 0, report.summary);
  assert.deepEqual(r.violations, []);
  const saved = JSON.parse(readFileSync(report.files.result, 'utf8')) as { seed: number; result: { acked: number } };
  assert.equal(saved.seed, 42);
  assert.equal(saved.result.acked, r.acked);
});

test('chaos smoke (sharedfs): kill -9 of master and slaves on a shared journal loses no acknowledged message', async () => {
  const report = await runChaos({
    mode: 'sharedfs',
    durationMs: 12_000,
    faults: ['kill'],
    seed: 8,
    outDir: tempDir('qmq-chaos-smoke-sfs-'),
    producers: 3,
    drainTimeoutMs: 30_000,
  });
  const r = report.result;
  assert.ok(report.schedule.length >= 1, report.summary);
  assert.equal(r.unrecoveredFaults, 0, report.summary);
  assert.equal(r.lost, 0, report.summary);
  assert.equal(r.unexpected, 0, report.summary);
  assert.equal(r.corrupt, 0, report.summary);
  assert.deepEqual(r.violations, []);
});

test('chaos smoke (jdbc): kill -9 and a pause past the lease on a PostgreSQL-backed group lose no acknowledged message', async () => {
  const report = await runChaos({
    mode: 'jdbc',
    durationMs: 14_000,
    faults: ['kill', 'pause'],
    seed: 1,
    outDir: tempDir('qmq-chaos-smoke-jdbc-'),
    producers: 3,
    // Past the 1.5 s lease, so the paused master loses it.
    pauseMs: 2500,
    drainTimeoutMs: 30_000,
  });
  const r = report.result;
  assert.ok(report.schedule.length >= 2, report.summary);
  assert.equal(r.unrecoveredFaults, 0, report.summary);
  assert.equal(r.lost, 0, report.summary);
  assert.equal(r.unexpected, 0, report.summary);
  assert.equal(r.corrupt, 0, report.summary);
  assert.deepEqual(r.violations, []);
});

// Kill and ZooKeeper faults only: pauses of the master are an open finding (README "Reliability").
test('chaos smoke (replicated): kill -9 of brokers and of ZooKeeper servers at quorum_disk loses no acknowledged message', async () => {
  const report = await runChaos({
    mode: 'replicated',
    durationMs: 16_000,
    faults: ['kill', 'zk'],
    // Kills the master, then two of the three ZooKeeper servers.
    seed: 19,
    outDir: tempDir('qmq-chaos-smoke-repl-'),
    producers: 3,
    drainTimeoutMs: 30_000,
  });
  const r = report.result;
  assert.ok(report.schedule.length >= 2, report.summary);
  assert.equal(r.unrecoveredFaults, 0, report.summary);
  assert.equal(r.lost, 0, report.summary);
  assert.equal(r.unexpected, 0, report.summary);
  assert.equal(r.corrupt, 0, report.summary);
  assert.deepEqual(r.violations, []);
});
