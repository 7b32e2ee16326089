/**
 * The goals of issue 3 ("Targets") and of issue 5 (the replicated group against the single
 * node, and failover time), and how one run's results are judged against them. Pure:
 * the runner hands in the measured figures, this turns them into ratio lines and a verdict.
 */
import type { ScenarioName } from './args.js';

/** What one scenario measured on one broker; only the fields that targets look at. */
export interface ScenarioFigures {
  perSec?: number;
  p99Ms?: number;
  rssMB?: number;
  recoveryMs?: number;
  messages?: number;
  /** `failover`: median and worst kill -9 to first acknowledged send on the new master. */
  failoverMedianMs?: number;
  failoverMaxMs?: number;
}

/** Results keyed by scenario then by broker role. */
export type ResultTable = Partial<Record<ScenarioName, Partial<Record<BrokerRole, ScenarioFigures>>>>;

/**
 * `subject` is the broker under test (QuorumMQ, or the --url broker); `peer` is ActiveMQ;
 * `replicated` is QuorumMQ's 3-node group at `quorum_disk`, compared with `subject` (one node,
 * whose journal fsyncs before acknowledging: the `local_disk` level).
 */
export type BrokerRole = 'subject' | 'peer' | 'ceiling' | 'replicated';

/** What the replicated group runs: issue 5's targets need no more, and each extra costs minutes. */
export const REPLICATED_SCENARIOS: ReadonlySet<ScenarioName> = new Set(['receipted-1p', 'concurrent-16p', 'failover']);

/** Whether a broker in `role` takes part in `scenario` (`failover` needs a group to fail over). */
export function takesPart(role: Exclude<BrokerRole, 'ceiling'>, scenario: ScenarioName): boolean {
  if (role === 'replicated') return REPLICATED_SCENARIOS.has(scenario);
  return scenario !== 'failover';
}

/** The group's ZooKeeper session timeout; the failover goal is stated relative to it. */
export const REPLICATED_ZK_SESSION_TIMEOUT_MS = 2_000;
export const FAILOVER_GOAL_MS = REPLICATED_ZK_SESSION_TIMEOUT_MS + 1_000;

/** Which figure compares two brokers in a scenario, and whether bigger is better. */
export const RATIO_METRIC: Partial<Record<ScenarioName, { metric: keyof ScenarioFigures; higherIsBetter: boolean }>> = {
  'receipted-1p': { metric: 'perSec', higherIsBetter: true },
  'pipelined-1p': { metric: 'perSec', higherIsBetter: true },
  'concurrent-16p': { metric: 'perSec', higherIsBetter: true },
  'consume-ci': { metric: 'perSec', higherIsBetter: true },
  latency: { metric: 'p99Ms', higherIsBetter: false },
  'backlog-rss': { metric: 'rssMB', higherIsBetter: false },
  recovery: { metric: 'recoveryMs', higherIsBetter: false },
};

export interface RatioLine {
  scenario: ScenarioName;
  /** subject / peer for `metric`. */
  ratio: number;
  metric: string;
  higherIsBetter: boolean;
  subject: number;
  peer: number;
}

export function ratio(subject: number | undefined, peer: number | undefined): number | undefined {
  if (subject === undefined || peer === undefined || !Number.isFinite(subject) || !Number.isFinite(peer) || peer === 0) return undefined;
  return subject / peer;
}

/**
 * `over` / `under` for every scenario both measured: by default QuorumMQ over ActiveMQ; with
 * `('replicated', 'subject')` the 3-node group over the single node.
 */
export function ratioLines(table: ResultTable, over: BrokerRole = 'subject', under: BrokerRole = 'peer'): RatioLine[] {
  const out: RatioLine[] = [];
  for (const [scenario, spec] of Object.entries(RATIO_METRIC) as Array<[ScenarioName, { metric: keyof ScenarioFigures; higherIsBetter: boolean }]>) {
    const row = table[scenario];
    const s = row?.[over]?.[spec.metric];
    const p = row?.[under]?.[spec.metric];
    const r = ratio(s, p);
    if (r === undefined || s === undefined || p === undefined) continue;
    out.push({ scenario, ratio: r, metric: spec.metric, higherIsBetter: spec.higherIsBetter, subject: s, peer: p });
  }
  return out;
}

export interface TargetVerdict {
  target: string;
  scenario: ScenarioName;
  /** The measured value the goal is about (a ratio, MB or ms). */
  value: number | null;
  goal: string;
  /** null when this run did not measure it (scenario not run, no peer, no PID). */
  met: boolean | null;
  note?: string;
}

/** Backlog size the RSS and recovery targets are defined for. */
export const TARGET_BACKLOG_MESSAGES = 1_000_000;
export const TARGET_RSS_MB = 300;
export const TARGET_RECOVERY_MS = 10_000;

interface Goal {
  target: string;
  scenario: ScenarioName;
  goal: string;
  measure(t: ResultTable): number | undefined;
  met(v: number): boolean;
  needsFullBacklog?: boolean;
}

const GOALS: Goal[] = [
  { target: 'receipted sends vs ActiveMQ', scenario: 'receipted-1p', goal: '>= 1.3x', measure: (t) => ratio(t['receipted-1p']?.subject?.perSec, t['receipted-1p']?.peer?.perSec), met: (v) => v >= 1.3 },
  { target: 'receipted sends vs ceiling probe', scenario: 'receipted-1p', goal: '>= 0.9x', measure: (t) => ratio(t['receipted-1p']?.subject?.perSec, t.ceiling?.ceiling?.perSec), met: (v) => v >= 0.9 },
  { target: 'pipelined sends vs ActiveMQ', scenario: 'pipelined-1p', goal: '>= 3x', measure: (t) => ratio(t['pipelined-1p']?.subject?.perSec, t['pipelined-1p']?.peer?.perSec), met: (v) => v >= 3 },
  { target: '16 producers vs ActiveMQ', scenario: 'concurrent-16p', goal: '>= 3x', measure: (t) => ratio(t['concurrent-16p']?.subject?.perSec, t['concurrent-16p']?.peer?.perSec), met: (v) => v >= 3 },
  { target: 'consume vs ActiveMQ', scenario: 'consume-ci', goal: '>= 3x', measure: (t) => ratio(t['consume-ci']?.subject?.perSec, t['consume-ci']?.peer?.perSec), met: (v) => v >= 3 },
  { target: 'p99 latency vs ActiveMQ', scenario: 'latency', goal: '<= 1x', measure: (t) => ratio(t.latency?.subject?.p99Ms, t.latency?.peer?.p99Ms), met: (v) => v <= 1 },
  { target: 'RSS with the backlog', scenario: 'backlog-rss', goal: `<= ${TARGET_RSS_MB} MB`, measure: (t) => t['backlog-rss']?.subject?.rssMB, met: (v) => v <= TARGET_RSS_MB, needsFullBacklog: true },
  { target: 'recovery of the backlog', scenario: 'recovery', goal: `<= ${TARGET_RECOVERY_MS} ms`, measure: (t) => t.recovery?.subject?.recoveryMs, met: (v) => v <= TARGET_RECOVERY_MS, needsFullBacklog: true },
  // Issue 5: the price of replication, against the single node measured in the same run.
  {
    target: 'receipted sends at quorum_disk vs single node',
    scenario: 'receipted-1p',
    goal: '>= 0.5x',
    measure: (t) => ratio(t['receipted-1p']?.replicated?.perSec, t['receipted-1p']?.subject?.perSec),
    met: (v) => v >= 0.5,
  },
  {
    target: '16 producers at quorum_disk vs single node',
    scenario: 'concurrent-16p',
    goal: '>= 0.7x',
    measure: (t) => ratio(t['concurrent-16p']?.replicated?.perSec, t['concurrent-16p']?.subject?.perSec),
    met: (v) => v >= 0.7,
  },
  {
    target: 'failover, kill -9 to first acknowledged send (median)',
    scenario: 'failover',
    goal: `< ${FAILOVER_GOAL_MS} ms (zkSessionTimeout ${REPLICATED_ZK_SESSION_TIMEOUT_MS} ms + 1 s)`,
    measure: (t) => t.failover?.replicated?.failoverMedianMs,
    met: (v) => v < FAILOVER_GOAL_MS,
  },
];

export function evaluateTargets(table: ResultTable): TargetVerdict[] {
  return GOALS.map((g) => {
    const v = g.measure(table);
    const verdict: TargetVerdict = { target: g.target, scenario: g.scenario, goal: g.goal, value: v ?? null, met: v === undefined ? null : g.met(v) };
    const backlog = table[g.scenario]?.subject?.messages;
    if (g.needsFullBacklog && v !== undefined && backlog !== undefined && backlog < TARGET_BACKLOG_MESSAGES) {
      verdict.note = `measured with a backlog of ${backlog} messages; the target is for ${TARGET_BACKLOG_MESSAGES}`;
    }
    return verdict;
  });
}
