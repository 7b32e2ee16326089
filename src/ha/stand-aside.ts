/**
 * When a master (or a node taking over) steps down because no slave reaches it, although the
 * others are alive in ZooKeeper (DESIGN §4, standing aside). Pure, so the rule has a table test.
 *
 * A partition can cut a master off from its slaves and leave all three talking to ZooKeeper.
 * The master keeps its session and so its job, yet no send can meet a `remote_*`/`quorum_*`
 * level; each send would wait `syncTimeout` and then the master would demote and, holding the
 * longest log, win the election again, for as long as the cut lasts. The slaves, which reach
 * each other, could serve meanwhile. So a master that has had fewer slaves logged in than its
 * level needs for `graceMs`, while enough other members are registered to elect one of them,
 * stands aside: it demotes and tells the group, which then elects among the others (election.ts).
 */
export interface StandAsideInput {
  /** Master, or taking over (writing its epoch marker and waiting for slaves to confirm it). */
  leading: boolean;
  /** Slaves whose acknowledgement a send waits for: replicas/2 under remote/quorum levels, 0 under local ones. */
  slavesNeeded: number;
  /** Slaves logged in to our replication server and heard from lately (streaming or catching up: they reach us). */
  slavesConnected: number;
  /** Since when (clock ms) fewer than `slavesNeeded` slaves have been logged in; null if enough are. */
  shortSince: number | null;
  now: number;
  graceMs: number;
  /** Other members of the group registered in ZooKeeper. */
  othersRegistered: number;
  /** replicas/2+1: the members an election needs. */
  quorum: number;
}

/** Why this node should stand aside now, or null. */
export function standAsideReason(i: StandAsideInput): string | null {
  if (!i.leading || i.slavesNeeded === 0 || i.slavesConnected >= i.slavesNeeded || i.shortSince === null) return null;
  const shortMs = i.now - i.shortSince;
  if (shortMs < i.graceMs) return null;
  // Without us the others could not elect anyone: stepping down would only stop the retries.
  if (i.othersRegistered < i.quorum) return null;
  return (
    `${i.slavesConnected} of the ${i.slavesNeeded} slave(s) a send needs reached this node in ${Math.round(shortMs / 1000)} s, ` +
    `while ${i.othersRegistered} other members are registered in ZooKeeper: they cannot reach this node, so it stands aside and lets them elect one of themselves`
  );
}
