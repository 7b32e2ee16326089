/**
 * Where a replication master runs the fdatasync of a journal group (DESIGN §4, the master's
 * flush). On the thread pool the event loop goes on reading the slaves' acks and new sends while
 * the disk works, which is what a busy master needs; but each hand-off to a pool thread and back
 * wakes a sleeping thread twice, which on a 2-vCPU VM costs about as much as the flush itself
 * (bench/RESULTS.md, 2026-12-07). Blocking the loop for the flush costs nothing only when the loop
 * has nothing to do meanwhile: the sync level waits for our own fdatasync anyway, and no send
 * outside this group is waiting for its sync level. That is one producer sending and waiting for
 * each receipt, the common case the hand-off slows most. Pure, so the rule has a table test.
 */
export interface SyncPlacementInput {
  /** Whether the sync level counts our own fdatasync (`local_disk`, `quorum_disk`). */
  localSyncRequired: boolean;
  /** Sends (and other store writes) of the current epoch waiting for their sync level now. */
  waitingWrites: number;
  /** Batches in the group about to be synced; each waiting write is one batch. */
  groupBatches: number;
}

export function syncOnLoop(input: SyncPlacementInput): boolean {
  return input.localSyncRequired && input.waitingWrites <= input.groupBatches;
}
