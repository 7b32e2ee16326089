/**
 * `npm run bench`: the STOMP benchmark of issue 3 §6 and issue 5's replicated figures. Starts
 * QuorumMQ (or uses --url), a 3-node replicated QuorumMQ group (unless --url/--no-replicated),
 * and with --peer activemq also ActiveMQ 5.17, runs the chosen scenarios against each in turn
 * (interleaved per scenario, so all see the same machine load), and prints JSON lines
 * to stdout: one per scenario and broker, then ratios and the verdict on the targets.
 * Progress goes to stderr. Everything started is stopped by PID, also on Ctrl-C and errors.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs, USAGE, UsageError, type BenchOptions, type ScenarioName } from './args.js';
import { startActivemq } from './brokers/activemq.js';
import { startCeiling } from './brokers/ceiling.js';
import { externalBroker } from './brokers/external.js';
import { ReplicatedGroup } from './brokers/replicated.js';
import { failover } from './failover.js';
import { startQuorumMq } from './brokers/quorummq.js';
import type { BenchBroker } from './brokers/types.js';
import { cleanupAll, isShuttingDown } from './processes.js';
import { runCeilingScenario, SCENARIOS, ScenarioSkipped, warmUp, type BrokerState, type Figures, type ScenarioContext } from './scenarios.js';
import { roundForReport } from './stats.js';
import { BenchStompClient } from './stomp-client.js';
import { pickMedianRound } from './rounds.js';
import { evaluateTargets, ratioLines, takesPart, type BrokerRole, type ResultTable, type ScenarioFigures } from './targets.js';

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function emit(line: Record<string, unknown>): void {
  const rounded: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(line)) {
    rounded[k] = typeof v === 'number' ? roundForReport(v) : Array.isArray(v) ? v.map((x: unknown) => (typeof x === 'number' ? roundForReport(x) : x)) : v;
  }
  process.stdout.write(JSON.stringify(rounded) + '\n');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface Participant {
  role: Exclude<BrokerRole, 'ceiling'>;
  broker: BenchBroker;
  state: BrokerState;
  warmedUp: boolean;
  /** Set once the broker died or could not start; later scenarios are skipped for it. */
  broken?: string;
}

/** Short scenarios worth repeating on a noisy machine; the backlog ones change broker state. */
const REPEATABLE: ReadonlySet<ScenarioName> = new Set(['ceiling', 'receipted-1p', 'pipelined-1p', 'concurrent-16p', 'consume-ci', 'latency']);

const RUNNERS: Record<Exclude<ScenarioName, 'ceiling'>, (ctx: ScenarioContext) => Promise<Figures>> = { ...SCENARIOS, failover };

function toTableFigures(f: Figures): ScenarioFigures {
  const num = (k: string) => (typeof f[k] === 'number' ? (f[k] as number) : undefined);
  return {
    perSec: num('perSec'),
    p99Ms: num('p99Ms'),
    rssMB: num('rssMB'),
    recoveryMs: num('recoveryMs'),
    messages: num('messages'),
    failoverMedianMs: num('failoverMedianMs'),
    failoverMaxMs: num('failoverMaxMs'),
  };
}

type Outcome = { figures: Figures } | { skipped: string } | { error: string };

async function runOne(ctx: ScenarioContext, p: Participant | undefined, scenario: ScenarioName, fn: (c: ScenarioContext) => Promise<Figures>): Promise<Outcome> {
  const label = ctx.broker.label;
  log(`${scenario} on ${label}`);
  try {
    if (p && !p.warmedUp) {
      p.warmedUp = true;
      log(`warming up ${label}`);
      await warmUp(ctx);
    }
    return { figures: await fn(ctx) };
  } catch (e) {
    if (e instanceof ScenarioSkipped) return { skipped: e.message };
    try {
      ctx.broker.assertRunning();
    } catch (dead) {
      if (p) p.broken = errorText(dead);
    }
    return { error: errorText(e) };
  }
}

/** Prints one broker's line for a scenario and records it for the ratios and targets. */
function report(scenario: ScenarioName, label: string, role: BrokerRole, outcomes: Outcome[], table: ResultTable): void {
  const measured = outcomes.flatMap((o) => ('figures' in o ? [o.figures] : []));
  if (measured.length === 0) {
    const o = outcomes[0];
    emit({ scenario, broker: label, ...('skipped' in o ? { skipped: o.skipped } : 'error' in o ? { error: o.error } : {}) });
    return;
  }
  const chosen = pickMedianRound(scenario, measured);
  const line: Record<string, unknown> = { scenario, broker: label, ...measured[chosen.index] };
  if (measured.length > 1) {
    line.rounds = measured.length;
    line[`${chosen.metric}Rounds`] = measured.map((f) => f[chosen.metric]);
  }
  const failed = outcomes.find((o) => 'error' in o);
  if (failed && 'error' in failed) line.error = failed.error;
  emit(line);
  (table[scenario] ??= {})[role] = toTableFigures(measured[chosen.index]);
}

async function startParticipants(opts: BenchOptions): Promise<Participant[]> {
  const out: Participant[] = [];
  const subjectLabel = opts.url?.label ?? 'quorummq';
  try {
    const broker = opts.url ? externalBroker(opts.url, opts.urlPid, opts.login, opts.passcode) : await startQuorumMq();
    out.push({ role: 'subject', broker, state: {}, warmedUp: false });
    log(`${broker.label} on ${broker.host}:${broker.port}${broker.pid() ? ` (pid ${broker.pid()})` : ''}`);
  } catch (e) {
    // Keep going with the peer, so one broker that cannot start still leaves figures for the other.
    emit({ broker: subjectLabel, error: `could not start: ${errorText(e)}` });
  }
  if (opts.replicated && opts.scenarios.some((s) => takesPart('replicated', s))) {
    try {
      const broker = await ReplicatedGroup.start(log);
      out.push({ role: 'replicated', broker, state: {}, warmedUp: false });
      log(`replicated group: master ${broker.masterAddress} (pid ${broker.pid()}), 2 slaves caught up`);
    } catch (e) {
      emit({ broker: 'quorummq-replicated', error: `could not start: ${errorText(e)}` });
    }
  }
  if (opts.peer === 'activemq') {
    try {
      const broker = await startActivemq(log);
      out.push({ role: 'peer', broker, state: {}, warmedUp: false });
      log(`activemq on ${broker.host}:${broker.port} (pid ${broker.pid()})`);
    } catch (e) {
      emit({ broker: 'activemq', error: `could not start: ${errorText(e)}` });
    }
  }
  for (const p of out) await describe(p.broker);
  return out;
}

/** One line per broker saying what was measured: its `server` header, port and PID. */
async function describe(broker: BenchBroker): Promise<void> {
  let server: string | null = null;
  try {
    const c = await BenchStompClient.connect({ host: broker.host, port: broker.port, login: broker.login, passcode: broker.passcode });
    server = c.server || null;
    await c.disconnect();
  } catch (e) {
    log(`could not connect to ${broker.label} to read its server header: ${errorText(e)}`);
  }
  emit({ broker: broker.label, server, host: broker.host, port: broker.port, pid: broker.pid() ?? null, ...broker.info });
}

async function run(opts: BenchOptions): Promise<void> {
  const body = Buffer.alloc(opts.sizeBytes, 0x78);
  const runTag = randomBytes(4).toString('hex');
  const table: ResultTable = {};
  const participants = opts.scenarios.some((s) => s !== 'ceiling') ? await startParticipants(opts) : [];
  const contextFor = (broker: BenchBroker, state: BrokerState): ScenarioContext => ({ broker, counts: opts.counts, body, runTag, state, log });

  for (const scenario of opts.scenarios) {
    if (isShuttingDown()) return;
    const rounds = REPEATABLE.has(scenario) ? opts.rounds : 1;
    if (scenario === 'ceiling') {
      let ceiling: BenchBroker | undefined;
      const outcomes: Outcome[] = [];
      try {
        ceiling = await startCeiling();
        const ctx = contextFor(ceiling, {});
        await warmUp(ctx);
        for (let r = 0; r < rounds && !isShuttingDown(); r++) outcomes.push(await runOne(ctx, undefined, 'ceiling', runCeilingScenario));
      } catch (e) {
        outcomes.push({ error: errorText(e) });
      } finally {
        await ceiling?.stop();
      }
      report('ceiling', 'ceiling', 'ceiling', outcomes, table);
      continue;
    }
    const taking = participants.filter((p) => takesPart(p.role, scenario));
    const outcomes = new Map<Participant, Outcome[]>(taking.map((p) => [p, []]));
    for (let r = 0; r < rounds; r++) {
      // Alternate who goes first, so a slow spell on the shared machine hits every broker alike.
      const order = r % 2 === 0 ? taking : [...taking].reverse();
      for (const p of order) {
        if (isShuttingDown()) return;
        if (p.broken) {
          outcomes.get(p)!.push({ skipped: `broker unusable: ${p.broken.split('\n')[0]}` });
          continue;
        }
        outcomes.get(p)!.push(await runOne(contextFor(p.broker, p.state), p, scenario, RUNNERS[scenario]));
      }
    }
    for (const p of taking) report(scenario, p.broker.label, p.role, outcomes.get(p)!, table);
  }

  if (isShuttingDown()) return;
  const subject = participants.find((p) => p.role === 'subject')?.broker.label ?? opts.url?.label ?? 'quorummq';
  const peer = participants.find((p) => p.role === 'peer')?.broker.label;
  if (peer) {
    for (const r of ratioLines(table)) {
      const line: Record<string, unknown> = { scenario: r.scenario, ratio: r.ratio, metric: r.metric, higherIsBetter: r.higherIsBetter, compare: `${subject}/${peer}`, [subject]: r.subject, [peer]: r.peer };
      const ceilingPerSec = table.ceiling?.ceiling?.perSec;
      if (r.scenario === 'receipted-1p' && ceilingPerSec) line.ofCeiling = r.subject / ceilingPerSec;
      emit(line);
    }
  }
  const replicated = participants.find((p) => p.role === 'replicated')?.broker.label;
  if (replicated) {
    for (const r of ratioLines(table, 'replicated', 'subject')) {
      emit({ scenario: r.scenario, ratio: r.ratio, metric: r.metric, higherIsBetter: r.higherIsBetter, compare: `${replicated}/${subject}`, [replicated]: r.subject, [subject]: r.peer });
    }
  }
  const verdicts = evaluateTargets(table);
  const count = (m: boolean | null) => verdicts.filter((v) => v.met === m).length;
  process.stdout.write(
    JSON.stringify({
      summary: 'targets',
      subject,
      peer: peer ?? null,
      replicated: replicated ?? null,
      quick: opts.quick,
      met: count(true),
      missed: count(false),
      notMeasured: count(null),
      targets: verdicts.map((v) => ({ ...v, value: v.value === null ? null : roundForReport(v.value) })),
    }) + '\n',
  );
}

async function main(): Promise<void> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  if (opts.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping every process the bench started`);
    process.exitCode = sig === 'SIGINT' ? 130 : 143;
    void cleanupAll().finally(() => process.exit());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await run(opts);
  } finally {
    await cleanupAll();
  }
}

main().then(
  // Sockets of a failed scenario may still hold the event loop open; the work is done.
  () => process.exit(),
  async (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await cleanupAll();
    process.exit(1);
  },
);
