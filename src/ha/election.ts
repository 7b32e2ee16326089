/**
 * Who may be master of a replication group: a pure decision over what the members published in
 * ZooKeeper. No I/O, no clock, so every rule can be table-tested (DESIGN §4, step 2).
 */
import { QmqError } from '../util/errors.js';

/** The `(epoch, position)` of a node's last log record. */
export interface LogPosition {
  epoch: number;
  position: number;
}

export type MemberRole = 'candidate' | 'master' | 'slave';

export interface ElectionMember {
  nodeId: string;
  brokerName: string;
  /** null while the node has not yet reported its last log record. */
  log: LogPosition | null;
  weight: number;
  /** The sequence number ZooKeeper gave the member's EPHEMERAL_SEQUENTIAL znode. */
  sequence: number;
  role: MemberRole;
  /**
   * The node stands aside (`standAsideReason` in stand-aside.ts): as master it could reach no
   * slave, so it lets the others elect one of themselves. It still counts as a member.
   */
  standingAside?: boolean;
}

export interface ElectionInput {
  members: readonly ElectionMember[];
  /** The configured group size; a master needs `replicas/2+1` members (integer division). */
  replicas: number;
  /** This node's id. Its own entry names the group, unless `brokerName` is given. */
  self: string;
  brokerName?: string;
}

export type ElectionDecision =
  | {
      kind: 'elected';
      master: string;
      /** The winner's log, so the new master can take the next epoch after it. */
      log: LogPosition;
      reason: string;
      /** Members of the group that counted, after dropping duplicates. */
      have: number;
      need: number;
      warnings: string[];
    }
  | {
      kind: 'no-master';
      reason: string;
      have: number;
      need: number;
      /** How many more members must register before an election can happen. */
      missing: number;
      /** Registered members that have not yet reported their log position. */
      unreported: string[];
      warnings: string[];
    };

/** A majority of the configured group: the seed's `(replicas/2)+1`, so replicas=3 needs 2. */
export function quorumSize(replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new QmqError('CONFIG_INVALID', `replicas must be a whole number >= 1, got ${replicas}`);
  }
  return Math.floor(replicas / 2) + 1;
}

/** Raft's up-to-date rule (§5.4.1): the later epoch wins; in the same epoch, the longer log. */
export function compareLog(a: LogPosition, b: LogPosition): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return 0;
}

export function formatLog(log: LogPosition): string {
  return `epoch ${log.epoch}, position ${log.position}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Keeps one entry per node id. A node that lost its session and registered again can briefly
 * have two znodes (the old one lives until ZooKeeper expires it); counting both would let one
 * machine make up a quorum on its own. The newest registration (highest sequence) is kept.
 */
function dedupe(members: readonly ElectionMember[]): { unique: ElectionMember[]; duplicates: string[] } {
  const byId = new Map<string, ElectionMember>();
  const duplicates = new Set<string>();
  for (const m of members) {
    const seen = byId.get(m.nodeId);
    if (seen) duplicates.add(m.nodeId);
    if (!seen || m.sequence > seen.sequence) byId.set(m.nodeId, m);
  }
  return { unique: [...byId.values()], duplicates: [...duplicates].sort() };
}

/** Orders candidates best first: log, then weight (higher wins), then node id (lower wins). */
function betterCandidate(a: ElectionMember & { log: LogPosition }, b: ElectionMember & { log: LogPosition }): number {
  const byLog = compareLog(b.log, a.log);
  if (byLog !== 0) return byLog;
  if (a.weight !== b.weight) return b.weight - a.weight;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

export function decideMaster(input: ElectionInput): ElectionDecision {
  const need = quorumSize(input.replicas);
  const brokerName = input.brokerName ?? input.members.find((m) => m.nodeId === input.self)?.brokerName;
  const warnings: string[] = [];
  if (brokerName === undefined) {
    return {
      kind: 'no-master',
      reason: `no master: this node (${input.self}) is not registered yet, so its group is unknown`,
      have: 0,
      need,
      missing: need,
      unreported: [],
      warnings,
    };
  }

  // Several groups may share one zkPath; only members with our brokerName count (ActiveMQ does the same).
  const { unique, duplicates } = dedupe(input.members.filter((m) => m.brokerName === brokerName));
  if (duplicates.length > 0) {
    warnings.push(`node ${duplicates.join(', ')} registered more than once (an old session not yet expired); counted once`);
  }
  if (unique.length > input.replicas) {
    warnings.push(
      `${unique.length} members of group '${brokerName}' are registered but replicas=${input.replicas}; check that every node has the same replicas setting`,
    );
  }

  const have = unique.length;
  if (have < need) {
    const missing = need - have;
    return {
      kind: 'no-master',
      reason:
        `no master: only ${have} of ${input.replicas} nodes of group '${brokerName}' ${have === 1 ? 'is' : 'are'} up; ` +
        `a master needs ${need} (replicas/2+1); waiting for ${plural(missing, 'more node', 'more nodes')} to register`,
      have,
      need,
      missing,
      unreported: unique.filter((m) => m.log === null).map((m) => m.nodeId).sort(),
      warnings,
    };
  }

  const reported = unique.filter((m): m is ElectionMember & { log: LogPosition } => m.log !== null);
  const unreported = unique.filter((m) => m.log === null).map((m) => m.nodeId).sort();
  if (reported.length < need) {
    return {
      kind: 'no-master',
      reason:
        `no master: ${have} of ${input.replicas} nodes of group '${brokerName}' are up but only ${reported.length} ` +
        `${reported.length === 1 ? 'has' : 'have'} reported its log position; a master needs ${need} (replicas/2+1); ` +
        `waiting for ${unreported.join(', ')}`,
      have,
      need,
      missing: 0,
      unreported,
      warnings,
    };
  }

  // A master that is still registered keeps the job: moving it to an equally up-to-date peer
  // (say, one with a higher weight) would only cost a failover. Its log can only be behind a
  // peer's if that peer holds records of a newer epoch, i.e. the registered "master" is stale.
  const ranked = [...reported].sort(betterCandidate);
  const best = ranked[0];
  const sitting = reported
    .filter((m) => m.role === 'master')
    .sort(betterCandidate)[0];
  if (sitting && sitting.log.epoch >= best.log.epoch) {
    return {
      kind: 'elected',
      master: sitting.nodeId,
      log: sitting.log,
      reason: `${sitting.nodeId} stays master (${formatLog(sitting.log)}); ${reported.length} of ${input.replicas} nodes have reported`,
      have,
      need,
      warnings,
    };
  }

  // A member standing aside wins only if the others cannot make a quorum without it. Passing
  // over its longer log loses nothing acknowledged: it stands aside only under a level that
  // waits for replicas/2 slaves, so every acknowledged record is also on replicas/2 of the
  // others, and any replicas/2+1 of those others include one of them (DESIGN §4).
  const eligible = reported.filter((m) => !m.standingAside);
  if (eligible.length >= need && eligible.length < reported.length) {
    const pick = [...eligible].sort(betterCandidate)[0];
    const aside = reported.filter((m) => m.standingAside).map((m) => m.nodeId).sort();
    return {
      kind: 'elected',
      master: pick.nodeId,
      log: pick.log,
      reason: `${pick.nodeId} elected: highest log (${formatLog(pick.log)}) of the ${eligible.length} nodes not standing aside (${aside.join(', ')} ${aside.length === 1 ? 'stands' : 'stand'} aside); ${reported.length} of ${input.replicas} nodes have reported (need ${need})`,
      have,
      need,
      warnings,
    };
  }

  const runnerUp = ranked[1];
  let why = `highest log (${formatLog(best.log)})`;
  if (runnerUp && compareLog(best.log, runnerUp.log) === 0) {
    why =
      best.weight !== runnerUp.weight
        ? `same log as ${runnerUp.nodeId} (${formatLog(best.log)}); higher weight ${best.weight} > ${runnerUp.weight}`
        : `same log and weight as ${runnerUp.nodeId} (${formatLog(best.log)}); lower node id`;
  }
  return {
    kind: 'elected',
    master: best.nodeId,
    log: best.log,
    reason: `${best.nodeId} elected: ${why}; ${reported.length} of ${input.replicas} nodes have reported (need ${need})`,
    have,
    need,
    warnings,
  };
}
