/**
 * `node --import tsx bench/replication-timeline.ts [--messages N]`: where a receipted send's time
 * goes in the replicated group at quorum_disk. Starts the same 3-node group as the bench, traces
 * every node's fdatasync calls with `strace -f -ttt -T` (attached by PID), sends N persistent
 * messages one at a time with a receipt each, and prints one JSON line: the median round trip,
 * the master's and the first slave's fdatasync per send, the gap between them, and how many
 * sends had the two running at the same time. strace slows the traced processes, so absolute
 * times are inflated; the order of events is what this is for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ReplicatedGroup } from './brokers/replicated.js';
import { cleanupAll, makeTempDir, onCleanup, sleep, terminate } from './processes.js';
import { median } from './stats.js';
import { BenchStompClient } from './stomp-client.js';
import { breakDownSend, parseSyncLine, type Interval, type SendBreakdown } from './syscall-timeline.js';

function log(msg: string): void {
  process.stderr.write(`timeline: ${msg}\n`);
}

function traceSyncs(pid: number, file: string): ChildProcess {
  const child = spawn('strace', ['-f', '-ttt', '-T', '-e', 'trace=fdatasync,fsync', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  onCleanup(`strace of ${pid}`, () => (child.pid === undefined ? undefined : terminate(child.pid, 2_000)));
  return child;
}

function readSyncs(file: string): Interval[] {
  return readFileSync(file, 'utf8').split('\n').flatMap((l) => {
    const i = parseSyncLine(l);
    return i ? [i] : [];
  });
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--messages');
  const count = i > 0 ? Number(process.argv[i + 1]) : 300;
  const group = await ReplicatedGroup.start(log);
  const { dir } = makeTempDir('qmq-bench-timeline-');
  const { master, slaves } = group.pids();
  if (master === undefined || slaves.length === 0) throw new Error('the group has no master or no slave');
  const masterFile = path.join(dir, 'master.trace');
  const tracers = [traceSyncs(master, masterFile), ...slaves.map((pid, k) => traceSyncs(pid, path.join(dir, `slave${k}.trace`)))];
  // strace prints "Process N attached" on stderr once it is in place.
  await sleep(1_000);
  const client = await BenchStompClient.connect({ host: group.host, port: group.port });
  const body = Buffer.alloc(1024, 0x78);
  const sends: Interval[] = [];
  for (let n = 0; n < count; n++) {
    const startMs = performance.timeOrigin + performance.now();
    await client.sendWithReceipt('/queue/bench.timeline', body);
    sends.push({ startMs, endMs: performance.timeOrigin + performance.now() });
  }
  await client.disconnect();
  await sleep(200);
  for (const t of tracers) if (t.pid !== undefined) process.kill(t.pid, 'SIGINT');
  await Promise.all(tracers.map((t) => new Promise((r) => (t.exitCode !== null ? r(null) : t.once('exit', r)))));
  const masterSyncs = readSyncs(masterFile);
  const slaveSyncs = slaves.flatMap((_, k) => readSyncs(path.join(dir, `slave${k}.trace`)));
  // The first sends warm the path up; skip them.
  const rows = sends.slice(Math.min(20, Math.floor(count / 10))).flatMap((s) => {
    const b = breakDownSend(s, masterSyncs, slaveSyncs);
    return b ? [b] : [];
  });
  const med = (f: (b: SendBreakdown) => number) => Number(median(rows.map(f)).toFixed(3));
  process.stdout.write(
    JSON.stringify({
      sends: sends.length,
      analysed: rows.length,
      totalMs: med((b) => b.totalMs),
      masterSyncMs: med((b) => b.masterSyncMs),
      slaveSyncMs: med((b) => b.slaveSyncMs),
      masterEndToSlaveStartMs: med((b) => b.masterEndToSlaveStartMs),
      overlappedSends: rows.filter((b) => b.overlapped).length,
      masterSyncsPerSend: Number((masterSyncs.length / sends.length).toFixed(2)),
    }) + '\n',
  );
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`timeline: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll().then(() => process.exit()));
