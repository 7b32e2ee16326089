import type { EpochStart, LogShape } from './frames.js';

/**
 * Where a joining slave's log stops agreeing with the master's, from the epochs' start
 * positions alone (Kafka's leader-epoch cache; Raft's log matching). One master writes each
 * epoch, so two logs holding the same epoch at the same position hold the same bytes there:
 * walking both logs epoch range by epoch range finds the first position whose epoch differs.
 */
export interface EpochRange {
  epoch: number;
  start: number;
  end: number;
}

export function epochRanges(log: LogShape): EpochRange[] {
  const out: EpochRange[] = [];
  const es = log.epochs;
  for (let i = 0; i < es.length; i++) {
    const start = Math.max(es[i].start, log.first);
    const end = i + 1 < es.length ? Math.min(es[i + 1].start, log.end) : log.end;
    if (end > start) out.push({ epoch: es[i].epoch, start, end });
  }
  return out;
}

function rangeAt(ranges: EpochRange[], position: number): EpochRange | undefined {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid];
    if (position < r.start) hi = mid - 1;
    else if (position >= r.end) lo = mid + 1;
    else return r;
  }
  return undefined;
}

/**
 * The end of the stretch both logs hold identically, comparing only where both hold records
 * (from the later of their first positions). Returns that later first position when they
 * already disagree there.
 */
export function agreedEnd(master: LogShape, slave: LogShape): number {
  const m = epochRanges(master);
  const s = epochRanges(slave);
  let p = Math.max(master.first, slave.first);
  for (;;) {
    const a = rangeAt(m, p);
    const b = rangeAt(s, p);
    if (!a || !b || a.epoch !== b.epoch) return p;
    p = Math.min(a.end, b.end);
  }
}

export type CatchUpPlan =
  /** Cut the slave's log at `truncateTo` (if given, its tail diverged), then stream from `from`. */
  | { kind: 'stream'; from: number; truncateTo: number | null; reason: string }
  /** The master no longer holds what the slave lacks (or cannot prove the slave's history). */
  | { kind: 'snapshot'; from: number; reason: string };

export function planCatchUp(master: LogShape, slave: LogShape): CatchUpPlan {
  const slaveEmpty = slave.end <= slave.first;
  if (slaveEmpty) {
    if (slave.end >= master.first && slave.end <= master.end) return { kind: 'stream', from: slave.end, truncateTo: null, reason: 'the slave log is empty at a position the master holds' };
    return { kind: 'snapshot', from: master.first, reason: `the slave's log is empty at ${slave.end}, which the master does not hold (it holds ${master.first}..${master.end})` };
  }
  if (slave.end < master.first) {
    return { kind: 'snapshot', from: master.first, reason: `the slave's log ends at ${slave.end}, before the master's oldest retained position ${master.first}` };
  }
  if (slave.first > master.end) {
    return { kind: 'snapshot', from: master.first, reason: `the slave's log starts at ${slave.first}, after the master's end ${master.end}` };
  }
  const agreed = agreedEnd(master, slave);
  if (slave.first < master.first && agreed === master.first) {
    // Nothing at or after the master's oldest retained position proves the slave's older
    // records right: the same epoch at the same position would (one master writes an epoch, so
    // such logs share their whole prefix), and without it they cannot be checked any more.
    return { kind: 'snapshot', from: master.first, reason: `the slave's log cannot be matched with the master's at ${agreed}, the oldest position the master still holds` };
  }
  if (agreed < slave.end) {
    return { kind: 'stream', from: agreed, truncateTo: agreed, reason: `the slave's records from ${agreed} to ${slave.end} (epoch ${epochAtEnd(slave)}) are not in the master's log` };
  }
  return { kind: 'stream', from: slave.end, truncateTo: null, reason: 'the slave log is a prefix of the master log' };
}

function epochAtEnd(log: LogShape): number {
  return log.epochs.length > 0 ? log.epochs[log.epochs.length - 1].epoch : 0;
}

/** Adds a record's epoch to a history kept in ascending order. */
export function noteEpoch(epochs: EpochStart[], epoch: number, position: number): void {
  const last = epochs[epochs.length - 1];
  if (!last || epoch > last.epoch) epochs.push({ epoch, start: position });
}
