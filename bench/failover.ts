/**
 * The `failover` scenario of issue 5: a producer on a failover URL sends persistent messages,
 * each waiting for its RECEIPT, while the replicated master is killed with SIGKILL. A trial's
 * figure is the time from the kill to the first send acknowledged by the new master. Between
 * trials the killed node is restarted and the group is whole again (one master, two caught-up
 * slaves) before the next kill, so every trial starts from the same state.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type StompClient } from '../src/client/index.js';
import { ReplicatedGroup } from './brokers/replicated.js';
import { failoverMs, summarizeTrials, withMaxReconnectDelay, type ClientEvent, type TrialResult } from './failover-stats.js';
import { sleep } from './processes.js';
import { drain, queueFor, ScenarioSkipped, type Figures, type ScenarioContext } from './scenarios.js';

/** Sends acknowledged by the master before it is killed, so the producer is in its steady state. */
const ACKS_BEFORE_KILL = 50;
/** Far beyond the goal (zkSessionTimeout + 1 s): a trial that takes this long has failed. */
const TRIAL_TIMEOUT_MS = 60_000;
const HEALTHY_TIMEOUT_MS = 120_000;
/** The producer's reconnect back-off cap (see `withMaxReconnectDelay`); README Performance says so. */
const BENCH_MAX_RECONNECT_DELAY_MS = 100;

async function waitUntil(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(2);
  }
}

/**
 * With QMQ_BENCH_FAILOVER_LOGS=<dir>, every trial writes the nodes' whole logs there with the
 * kill time, so the phases can be read from the JSON `time` stamps afterwards.
 */
function dumpLogs(group: ReplicatedGroup, index: number, killAtEpochMs: number): void {
  const dir = process.env.QMQ_BENCH_FAILOVER_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `trial-${index + 1}.log`), `killAtMs ${Math.round(killAtEpochMs)}\n${group.tails(Number.MAX_SAFE_INTEGER)}\n`);
}

async function trial(ctx: ScenarioContext, group: ReplicatedGroup, destination: string, index: number): Promise<TrialResult & { acked: number }> {
  await group.waitHealthy(HEALTHY_TIMEOUT_MS);
  const events: ClientEvent[] = [];
  const client: StompClient = await connect(withMaxReconnectDelay(group.clientUrl, BENCH_MAX_RECONNECT_DELAY_MS), { timeoutMs: 30_000, producerId: `bench-failover-${ctx.runTag}-${index}` });
  client.on('disconnected', ({ address }) => events.push({ kind: 'disconnected', atMs: performance.now(), address }));
  let running = true;
  let acked = 0;
  let failures = 0;
  const producer = (async () => {
    while (running) {
      try {
        await client.send(destination, ctx.body, { persistent: 'true' });
        acked++;
        events.push({ kind: 'ack', atMs: performance.now(), address: client.connectedAddress });
      } catch {
        // A send the failover client gave up on (timeout, outcome unknown): not acknowledged.
        failures++;
        await sleep(20);
      }
    }
  })();
  try {
    await waitUntil('first sends on the master', () => acked >= ACKS_BEFORE_KILL, TRIAL_TIMEOUT_MS);
    const oldAddress = group.masterAddress;
    const killAtMs = performance.now();
    const killAtEpochMs = performance.timeOrigin + killAtMs;
    const victim = await group.killMaster();
    ctx.log(`failover trial ${index + 1}: killed ${victim.name} (${oldAddress}) with SIGKILL`);
    let servingMs: number | undefined;
    const serving = group.waitNewMaster(TRIAL_TIMEOUT_MS).then(() => (servingMs = performance.now() - killAtMs));
    let ms: number | undefined;
    await waitUntil('an acknowledged send on a new master', () => (ms = failoverMs(events, killAtMs, oldAddress)) !== undefined, TRIAL_TIMEOUT_MS).catch((e: Error) => {
      throw new Error(`${e.message} (${failures} sends failed)\n${group.tails()}`);
    });
    await serving;
    const phases = group.failoverPhases(killAtEpochMs);
    const show = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(0));
    ctx.log(
      `failover trial ${index + 1}: first ack on ${group.masterAddress} after ${ms!.toFixed(0)} ms ` +
        `(session expired ${show(phases.sessionExpiredMs)}, elected ${show(phases.electedMs)}, ports open ${show(phases.portsOpenMs)}, /readyz ${show(servingMs)})`,
    );
    dumpLogs(group, index, killAtEpochMs);
    return { failoverMs: ms!, servingMs, phases, acked };
  } finally {
    running = false;
    await producer;
    await client.close().catch(() => undefined);
    group.restartKilled();
  }
}

export async function failover(ctx: ScenarioContext): Promise<Figures> {
  const group = ctx.broker;
  if (!(group instanceof ReplicatedGroup)) throw new ScenarioSkipped('needs the replicated group');
  const destination = queueFor(ctx, 'failover');
  const results: TrialResult[] = [];
  let acked = 0;
  for (let i = 0; i < ctx.counts.failoverTrials; i++) {
    const r = await trial(ctx, group, destination, i);
    results.push(r);
    acked += r.acked;
  }
  // The last restarted node rejoins before the next scenario or the summary.
  await group.waitHealthy(HEALTHY_TIMEOUT_MS);
  const s = summarizeTrials(results);
  const figures: Figures = { ...s, messages: acked };
  try {
    await drain(ctx, destination, acked);
  } catch (e) {
    // Fewer messages than acknowledged sends would be a loss; say so beside the timings.
    figures.drainError = e instanceof Error ? e.message : String(e);
  }
  return figures;
}
