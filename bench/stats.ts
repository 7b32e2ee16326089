/** Summary statistics of one measurement: latency percentiles and rates. Pure. */

/**
 * Nearest-rank percentile (the smallest sample with at least p% of samples at or below it),
 * so the value is always one that was actually observed. `sortedMs` must be ascending.
 */
export function percentile(sortedMs: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (sortedMs.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sortedMs.length));
  return sortedMs[rank - 1];
}

export interface LatencySummary {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarizeLatencies(samplesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const arr = Array.from(sorted);
  let sum = 0;
  for (const v of arr) sum += v;
  return {
    p50Ms: percentile(arr, 50),
    p90Ms: percentile(arr, 90),
    p99Ms: percentile(arr, 99),
    maxMs: arr.length === 0 ? Number.NaN : arr[arr.length - 1],
    meanMs: arr.length === 0 ? Number.NaN : sum / arr.length,
  };
}

export function ratePerSec(count: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return Number.NaN;
  return (count / elapsedMs) * 1000;
}

/** Rounds for printing: 3 significant decimals below 10, fewer above, so lines stay readable. */
export function roundForReport(value: number): number {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  const decimals = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Milliseconds since an `process.hrtime.bigint()` reading. */
export function msSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e6;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for no samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
