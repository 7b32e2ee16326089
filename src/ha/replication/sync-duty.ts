/**
 * Which slaves fdatasync each group before they acknowledge it (DESIGN §4, sync duty). A
 * `*_disk` level waits for `needed` slave disks; asking more slaves than that to sync every group
 * adds disk flushes that no send waits for. The others write at once and sync within a few
 * milliseconds (`GroupCommitWriter` deferred sync), so their acks still count if a duty slave
 * falls behind or leaves. Pure: the ReplicationServer applies the answer.
 */
export interface DutyCandidate {
  key: string;
  /** The slave's last acknowledged fdatasync'd position. */
  synced: number;
  connectedAt: number;
}

/**
 * The keys that hold the duty: current holders stay while they are candidates (a move costs
 * the newcomer an immediate sync), the rest go to the most caught-up slaves, then the longest
 * connected, then by key, so the answer is the same for the same input.
 */
export function assignSyncDuty(needed: number, current: ReadonlySet<string>, candidates: readonly DutyCandidate[]): Set<string> {
  const duty = new Set<string>();
  if (needed <= 0) return duty;
  const ranked = [...candidates].sort(
    (a, b) => Number(current.has(b.key)) - Number(current.has(a.key)) || b.synced - a.synced || a.connectedAt - b.connectedAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  for (const c of ranked) {
    if (duty.size >= needed) break;
    duty.add(c.key);
  }
  return duty;
}
