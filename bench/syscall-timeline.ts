/**
 * Reading `perf trace -T -e fdatasync,fsync` (or `strace -f -ttt -T`) output of the replicated
 * master and its slaves against the client's receipted sends, to see where a send's time goes.
 * Pure.
 */

export interface Interval {
  startMs: number;
  endMs: number;
}

/**
 * One completed fdatasync/fsync, from a `perf trace -T` line such as
 * `11557979.465 ( 9.702 ms): node/939 fdatasync(fd: 18)   = 0` (CLOCK_MONOTONIC ms, the clock of
 * `process.hrtime`), or an `strace -ttt -T` line such as
 * `4711 1764081809.892606 fdatasync(18) = 0 <0.008141>` (epoch seconds, duration in seconds).
 * Unfinished/resumed halves, failed calls and other calls give undefined.
 */
export function parseSyncLine(line: string): Interval | undefined {
  const t = line.trim();
  const perf = /^(\d+\.\d+)\s+\(\s*(\d+\.\d+) ms\):\s+\S+\s+f(?:data)?sync\(fd: \d+\)\s+=\s+0\s*$/.exec(t);
  if (perf) {
    const startMs = Number(perf[1]);
    return { startMs, endMs: startMs + Number(perf[2]) };
  }
  const m = /^(?:\[pid\s+)?\d+\]?\s+(\d+\.\d+)\s+f(?:data)?sync\(\d+\)\s+=\s+0\s+<(\d+\.\d+)>\s*$/.exec(t);
  if (!m) return undefined;
  const startMs = Number(m[1]) * 1000;
  return { startMs, endMs: startMs + Number(m[2]) * 1000 };
}

export interface SendBreakdown {
  /** Client round trip of the receipted send. */
  totalMs: number;
  /** The master's fdatasync time inside the send. */
  masterSyncMs: number;
  /** The fdatasync of the first slave to finish one inside the send (what quorum_disk with 3 nodes waits for). */
  slaveSyncMs: number;
  /** From the client's SEND to the start of the master's first fdatasync (parse, queue, write). */
  beforeMasterSyncMs: number;
  /** From the end of the master's last fdatasync to the start of that slave fdatasync; negative when they overlap. */
  masterEndToSlaveStartMs: number;
  /** From the end of that slave fdatasync to the client's RECEIPT (ack, commit, RECEIPT). */
  afterSlaveSyncMs: number;
  /** Whether any slave fdatasync ran at the same time as a master fdatasync. */
  overlapped: boolean;
}

function within(send: Interval, syncs: readonly Interval[]): Interval[] {
  return syncs.filter((s) => s.startMs >= send.startMs && s.endMs <= send.endMs);
}

/**
 * What one receipted send (1 producer, so nothing else was in flight) spent on disk syncs:
 * undefined when the trace has no master or no slave fdatasync inside it. With no slave syncs
 * at all (a single node), only the master's part is filled in and the slave fields are 0.
 */
export function breakDownSingle(send: Interval, syncs: readonly Interval[]): { totalMs: number; syncMs: number; beforeSyncMs: number; afterSyncMs: number } | undefined {
  const m = within(send, syncs);
  if (m.length === 0) return undefined;
  return {
    totalMs: send.endMs - send.startMs,
    syncMs: m.reduce((sum, x) => sum + (x.endMs - x.startMs), 0),
    beforeSyncMs: Math.min(...m.map((x) => x.startMs)) - send.startMs,
    afterSyncMs: send.endMs - Math.max(...m.map((x) => x.endMs)),
  };
}

/**
 * What one receipted send (1 producer, so nothing else was in flight) spent on disk syncs:
 * undefined when the trace has no master or no slave fdatasync inside it.
 */
export function breakDownSend(send: Interval, master: readonly Interval[], slaves: readonly Interval[]): SendBreakdown | undefined {
  const m = within(send, master);
  const s = within(send, slaves);
  if (m.length === 0 || s.length === 0) return undefined;
  const firstSlave = s.reduce((a, b) => (b.endMs < a.endMs ? b : a));
  const masterEnd = Math.max(...m.map((x) => x.endMs));
  return {
    totalMs: send.endMs - send.startMs,
    masterSyncMs: m.reduce((sum, x) => sum + (x.endMs - x.startMs), 0),
    slaveSyncMs: firstSlave.endMs - firstSlave.startMs,
    beforeMasterSyncMs: Math.min(...m.map((x) => x.startMs)) - send.startMs,
    masterEndToSlaveStartMs: firstSlave.startMs - masterEnd,
    afterSlaveSyncMs: send.endMs - firstSlave.endMs,
    overlapped: s.some((y) => m.some((x) => y.startMs < x.endMs && x.startMs < y.endMs)),
  };
}
