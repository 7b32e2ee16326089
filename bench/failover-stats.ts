/**
 * Reading a failover trial from what the producing client saw, and summing up the trials.
 * Pure, so the rule for "first acknowledged send on the new master" is unit-tested.
 */
import { median } from './stats.js';

/** What the failover client reported during one trial, in the order it happened. */
export type ClientEvent =
  | { kind: 'ack'; atMs: number; /** the connection the receipt came on; undefined while a reconnect is being restored */ address: string | undefined }
  | { kind: 'disconnected'; atMs: number; address: string };

/**
 * Milliseconds from the kill to the first send acknowledged by another node, or undefined if
 * there was none. Receipts the dead master sent before it died can still be read after the kill
 * (they were in our socket buffer), so acks from `oldAddress` never count. An ack while the
 * client is restoring a connection (no address yet) counts only once the client has seen the
 * old connection drop: it can then only have come from a new one.
 */
export function failoverMs(events: readonly ClientEvent[], killAtMs: number, oldAddress: string): number | undefined {
  let oldConnectionGone = false;
  for (const e of events) {
    if (e.atMs < killAtMs) continue;
    if (e.kind === 'disconnected') {
      if (e.address === oldAddress) oldConnectionGone = true;
      continue;
    }
    if (e.address === oldAddress) continue;
    if (e.address === undefined && !oldConnectionGone) continue;
    return e.atMs - killAtMs;
  }
  return undefined;
}

export interface TrialResult {
  /** kill -9 to the first acknowledged send on the new master. */
  failoverMs: number;
  /** kill -9 to the new master answering `/readyz` (polled, so up to ~100 ms late). */
  servingMs: number | undefined;
}

export interface FailoverSummary {
  trials: number;
  failoverMedianMs: number;
  failoverMaxMs: number;
  failoverMinMs: number;
  servingMedianMs: number | null;
  failoverMsTrials: number[];
}

export function summarizeTrials(results: readonly TrialResult[]): FailoverSummary {
  if (results.length === 0) throw new RangeError('no failover trial completed');
  const ms = results.map((r) => r.failoverMs);
  const serving = results.flatMap((r) => (r.servingMs === undefined ? [] : [r.servingMs]));
  return {
    trials: results.length,
    failoverMedianMs: median(ms),
    failoverMaxMs: Math.max(...ms),
    failoverMinMs: Math.min(...ms),
    servingMedianMs: serving.length === 0 ? null : median(serving),
    failoverMsTrials: ms,
  };
}
