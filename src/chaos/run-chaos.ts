/**
 * One chaos run: start a cluster, run the workload while the seeded fault schedule plays, heal
 * everything, drain every queue and subscription, check the history, and write
 * `history.json`, `result.json` and `summary.txt` to the output directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkHistory, type CheckResult } from './check-history.js';
import { startCluster, type ChaosCluster, type ChaosMode } from './cluster.js';
import { planFaults, runFaults, type FaultKind, type ScheduledFault } from './faults.js';
import { HistoryRecorder } from './recorder.js';
import { seededRng } from './rng.js';
import { formatSummary } from './summary.js';
import { Workload } from './workload.js';

export interface ChaosRunOptions {
  mode: ChaosMode;
  durationMs: number;
  faults: readonly FaultKind[];
  seed: number;
  /** Where the cluster's data and the reports go. */
  outDir: string;
  producers?: number;
  /** A pause longer than the session timeout / lease (default 6 s). */
  pauseMs?: number;
  /** Client operation timeout (default 30 s): longer than any failover we expect. */
  clientTimeoutMs?: number;
  /** Bound on draining after the heal (default 60 s). */
  drainTimeoutMs?: number;
  producerPauseMs?: number;
  /**
   * Play every planned fault even when slow recoveries push the last ones past `durationMs`
   * (tests that assert each planned fault happened). By default the run ends on time.
   */
  completeSchedule?: boolean;
  /** A cluster started by the caller (tests); it is not closed by the run. */
  cluster?: ChaosCluster;
  /** Producers connect here instead of the cluster's URL (a test routes them through a proxy). */
  producerUrl?: string;
  log?: (line: string) => void;
}

export interface ChaosRunReport {
  mode: ChaosMode;
  seed: number;
  durationMs: number;
  faults: readonly FaultKind[];
  schedule: ScheduledFault[];
  /** Acknowledged messages still missing when the drain gave up. */
  outstandingAfterDrain: number;
  /** Why no master served after the final heal, if none did (node log tails included). */
  unhealed?: string;
  result: CheckResult;
  summary: string;
  files: { history: string; result: string; summary: string };
}

export async function runChaos(o: ChaosRunOptions): Promise<ChaosRunReport> {
  const log = o.log ?? (() => {});
  mkdirSync(o.outDir, { recursive: true });
  const cluster = o.cluster ?? (await startCluster(o.mode, path.join(o.outDir, 'cluster'), { partitions: o.faults.includes('partition') }));
  for (const kind of o.faults) {
    const why = cluster.unsupported?.[kind];
    if (why) log(`fault ${kind} skipped in this run: ${why}`);
  }
  const recorder = new HistoryRecorder();
  // Separate streams: workload timing must not shift the fault schedule of a seed.
  const schedule = planFaults(seededRng(o.seed), { durationMs: o.durationMs, kinds: o.faults, supported: cluster.supports, pauseMs: o.pauseMs ?? 6000 });
  const faultRng = seededRng(o.seed ^ 0x51f15e);
  const runId = `${o.seed}-${Date.now().toString(36)}`;
  const workload = new Workload({
    url: o.producerUrl ?? cluster.clientUrl,
    consumerUrl: cluster.clientUrl,
    runId,
    producers: o.producers ?? 4,
    recorder,
    rng: seededRng(o.seed + 1),
    clientTimeoutMs: o.clientTimeoutMs ?? 30_000,
    producerPauseMs: o.producerPauseMs ?? 5,
    log,
  });
  let outstandingAfterDrain = 0;
  let unhealed: string | undefined;
  try {
    log(`mode ${o.mode}, seed ${o.seed}, ${schedule.length} fault(s) planned over ${o.durationMs} ms`);
    await workload.start();
    const startMs = Date.now();
    const endMs = startMs + o.durationMs;
    const faultsDone = runFaults({ cluster, schedule, rng: faultRng, recorder, startMs, stopped: () => !o.completeSchedule && Date.now() > endMs, log });
    while (Date.now() < endMs) await new Promise((r) => setTimeout(r, 100));
    await faultsDone;
    await healAll(cluster);
    try {
      await cluster.waitServing(60_000);
    } catch (e) {
      // Still check what happened: a cluster that never heals is a finding, and the history
      // (with the acks that can no longer be drained counted as lost) is its evidence.
      unhealed = (e as Error).message;
      log(`the cluster did not heal: ${unhealed.split('\n')[0]}`);
    }
    log('healed; stopping producers');
    await workload.stopProducing();
    log('draining');
    outstandingAfterDrain = (await workload.drain(1500, unhealed ? 5000 : (o.drainTimeoutMs ?? 60_000))).outstanding;
  } finally {
    await workload.close();
    // The last few KiB of each node's log, so a finding can be read after the processes are gone.
    for (const n of cluster.nodes) writeFileSync(path.join(o.outDir, `${n.name}.log`), n.output());
    if (!o.cluster) await cluster.close();
  }
  const result = checkHistory(recorder.ops, { atMostOnceReceivers: workload.consumerQueues.atMostOnce });
  if (unhealed) result.violations.push(`the cluster did not heal after the faults: ${unhealed.split('\n')[0]}`);
  const summary = formatSummary(result, `chaos ${o.mode} seed ${o.seed} (${Math.round(o.durationMs / 1000)} s, faults ${o.faults.join(',') || 'none'})`);
  const files = { history: path.join(o.outDir, 'history.json'), result: path.join(o.outDir, 'result.json'), summary: path.join(o.outDir, 'summary.txt') };
  recorder.writeJson(files.history);
  const report: ChaosRunReport = { mode: o.mode, seed: o.seed, durationMs: o.durationMs, faults: o.faults, schedule, outstandingAfterDrain, unhealed, result, summary, files };
  writeFileSync(files.result, JSON.stringify({ ...report, summary: undefined }, null, 2) + '\n');
  writeFileSync(files.summary, summary);
  return report;
}

/** Resumes paused nodes, restarts dead ones, restarts ZooKeeper servers, removes every cut. */
export async function healAll(cluster: ChaosCluster): Promise<void> {
  cluster.network?.heal();
  if (cluster.zk) for (const id of cluster.zk.ids) await cluster.zk.startNode(id);
  for (const n of cluster.nodes) {
    if (n.paused) n.resume();
    if (!n.running) n.start();
  }
}
