/**
 * `node --import tsx bench/replication-timeline.ts [--messages N]`: where a receipted send's time
 * goes, in a single node and in the replicated group at quorum_disk. Starts a single QuorumMQ and
 * the same 3-node group as the bench, traces every broker's fdatasync/fsync calls with
 * `perf trace -T` (attached by PID; its timestamps are CLOCK_MONOTONIC, the clock of
 * `process.hrtime`, so they line up with the client's), sends N persistent messages one at a
 * time with a receipt each, and prints one JSON line per setup with medians per send: round trip,
 * time before the (master's) fdatasync, in it, between it and the first slave's fdatasync, in
 * that, and from there to the RECEIPT; and how many sends had master and slave syncs overlap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startQuorumMq } from './brokers/quorummq.js';
import { ReplicatedGroup } from './brokers/replicated.js';
import type { BenchBroker } from './brokers/types.js';
import { cleanupAll, makeTempDir, onCleanup, sleep, terminate } from './processes.js';
import { median } from './stats.js';
import { BenchStompClient } from './stomp-client.js';
import { breakDownSend, breakDownSingle, parseSyncLine, type Interval } from './syscall-timeline.js';

function log(msg: string): void {
  process.stderr.write(`timeline: ${msg}\n`);
}

function traceSyncs(pid: number, file: string): ChildProcess {
  const child = spawn('perf', ['trace', '-T', '-e', 'fdatasync,fsync', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  onCleanup(`perf trace of ${pid}`, () => (child.pid === undefined ? undefined : terminate(child.pid, 2_000)));
  return child;
}

async function stopTracers(tracers: ChildProcess[]): Promise<void> {
  for (const t of tracers) if (t.pid !== undefined && t.exitCode === null) process.kill(t.pid, 'SIGINT');
  await Promise.all(tracers.map((t) => new Promise((r) => (t.exitCode !== null ? r(null) : t.once('exit', r)))));
}

function readSyncs(file: string): Interval[] {
  return readFileSync(file, 'utf8').split('\n').flatMap((l) => {
    const i = parseSyncLine(l);
    return i ? [i] : [];
  });
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function receiptedSends(broker: BenchBroker, count: number): Promise<Interval[]> {
  const client = await BenchStompClient.connect({ host: broker.host, port: broker.port });
  const body = Buffer.alloc(1024, 0x78);
  const sends: Interval[] = [];
  for (let n = 0; n < count; n++) {
    const startMs = nowMs();
    await client.sendWithReceipt(`/queue/bench.timeline`, body);
    sends.push({ startMs, endMs: nowMs() });
  }
  await client.disconnect();
  // The first sends warm the path up; leave them out.
  return sends.slice(Math.min(20, Math.floor(count / 10)));
}

const med = (values: number[]) => Number(median(values).toFixed(3));

async function single(count: number, dir: string): Promise<Record<string, unknown>> {
  const broker = await startQuorumMq();
  const file = path.join(dir, 'single.trace');
  const tracer = traceSyncs(broker.pid()!, file);
  await sleep(1_000);
  const sends = await receiptedSends(broker, count);
  await sleep(200);
  await stopTracers([tracer]);
  await broker.stop();
  const rows = sends.flatMap((s) => breakDownSingle(s, readSyncs(file)) ?? []);
  return {
    setup: 'single node (journal, fsync before the receipt)',
    sends: sends.length,
    analysed: rows.length,
    totalMs: med(rows.map((r) => r.totalMs)),
    beforeSyncMs: med(rows.map((r) => r.beforeSyncMs)),
    syncMs: med(rows.map((r) => r.syncMs)),
    afterSyncMs: med(rows.map((r) => r.afterSyncMs)),
  };
}

async function replicated(count: number, dir: string): Promise<Record<string, unknown>> {
  const group = await ReplicatedGroup.start(log);
  const { master, slaves } = group.pids();
  if (master === undefined || slaves.length === 0) throw new Error('the group has no master or no slave');
  const masterFile = path.join(dir, 'master.trace');
  const slaveFiles = slaves.map((_, k) => path.join(dir, `slave${k}.trace`));
  const tracers = [traceSyncs(master, masterFile), ...slaves.map((pid, k) => traceSyncs(pid, slaveFiles[k]))];
  await sleep(1_000);
  const sends = await receiptedSends(group, count);
  await sleep(200);
  await stopTracers(tracers);
  await group.stop();
  const masterSyncs = readSyncs(masterFile);
  const slaveSyncs = slaveFiles.flatMap(readSyncs);
  const rows = sends.flatMap((s) => breakDownSend(s, masterSyncs, slaveSyncs) ?? []);
  return {
    setup: 'replicated, 3 nodes, quorum_disk',
    sends: sends.length,
    analysed: rows.length,
    totalMs: med(rows.map((r) => r.totalMs)),
    beforeMasterSyncMs: med(rows.map((r) => r.beforeMasterSyncMs)),
    masterSyncMs: med(rows.map((r) => r.masterSyncMs)),
    masterEndToSlaveStartMs: med(rows.map((r) => r.masterEndToSlaveStartMs)),
    slaveSyncMs: med(rows.map((r) => r.slaveSyncMs)),
    afterSlaveSyncMs: med(rows.map((r) => r.afterSlaveSyncMs)),
    overlappedSends: rows.filter((r) => r.overlapped).length,
  };
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--messages');
  const count = i > 0 ? Number(process.argv[i + 1]) : 300;
  const { dir } = makeTempDir('qmq-bench-timeline-');
  process.stdout.write(JSON.stringify(await single(count, dir)) + '\n');
  process.stdout.write(JSON.stringify(await replicated(count, dir)) + '\n');
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`timeline: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll().then(() => process.exit()));
