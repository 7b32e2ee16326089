/** Choosing the representative round when a scenario ran several times. Pure. */
import type { ScenarioName } from './args.js';

/** The figure that ranks rounds: p99 for the latency scenario, throughput for the others. */
export function rankingMetric(scenario: ScenarioName): 'perSec' | 'p99Ms' {
  return scenario === 'latency' ? 'p99Ms' : 'perSec';
}

/**
 * The index of the median round by the scenario's ranking metric (the lower median for an
 * even count, so the pick is always a round that really happened). Rounds without the
 * metric rank last.
 */
export function pickMedianRound(scenario: ScenarioName, rounds: ReadonlyArray<Record<string, unknown>>): { index: number; metric: 'perSec' | 'p99Ms' } {
  const metric = rankingMetric(scenario);
  if (rounds.length === 0) throw new RangeError('no rounds to choose from');
  const value = (i: number) => {
    const v = rounds[i][metric];
    return typeof v === 'number' && Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  const order = rounds.map((_, i) => i).sort((a, b) => value(a) - value(b) || a - b);
  return { index: order[Math.floor((order.length - 1) / 2)], metric };
}
