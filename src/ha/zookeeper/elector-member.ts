/**
 * What one node publishes in its EPHEMERAL_SEQUENTIAL znode under `zkPath` (DESIGN §4 step 1),
 * and how a listing of those znodes becomes the input of `decideMaster`. Pure: no I/O.
 */
import type { ElectionMember, LogPosition, MemberRole } from '../election.js';

/** The znode name prefix; ZooKeeper appends a 10-digit sequence number. */
export const MEMBER_PREFIX = 'member-';
/** The persistent node the masters take their epochs from by compare-and-set (DESIGN §4 step 3). */
export const EPOCH_NODE = 'epoch';

export interface MemberRecord {
  brokerName: string;
  nodeId: string;
  /** `tcp://host:port` of the replication server; set only while this node is master. */
  replication?: string;
  /** The epoch this node serves as master (role master only). */
  masterEpoch?: number;
  /** Last log record `(epoch, position)`; null while it is not yet known. */
  log: LogPosition | null;
  weight: number;
  role: MemberRole;
  /** The addresses clients can use when this node is master, e.g. `tcp://h1:61613`. */
  clientUrls: string[];
  /** Node id of the master this node follows (role slave). */
  following?: string;
  /** Why this node is not master, in words (status table). */
  reason?: string;
  /** The node's configured group size, so `status --zk` can judge the quorum without a config. */
  replicas?: number;
  /** Why this node stands aside from the election for now (stand-aside.ts); absent when it does not. */
  standingAside?: string;
}

export interface ListedMember extends MemberRecord {
  /** The znode name, e.g. `member-0000000007`. */
  znode: string;
  sequence: number;
}

export function encodeMember(m: MemberRecord): Buffer {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

function isLog(v: unknown): v is LogPosition {
  const o = v as LogPosition;
  return typeof o === 'object' && o !== null && Number.isSafeInteger(o.epoch) && Number.isSafeInteger(o.position);
}

/** Parses one child of `zkPath`; null for other nodes (the epoch node) or data we cannot read. */
export function decodeMember(name: string, data: Buffer): ListedMember | null {
  if (!name.startsWith(MEMBER_PREFIX)) return null;
  const sequence = Number(name.slice(MEMBER_PREFIX.length));
  if (!Number.isSafeInteger(sequence)) return null;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof raw.brokerName !== 'string' || typeof raw.nodeId !== 'string') return null;
  const role = raw.role === 'master' || raw.role === 'slave' ? raw.role : 'candidate';
  return {
    znode: name,
    sequence,
    brokerName: raw.brokerName,
    nodeId: raw.nodeId,
    replication: typeof raw.replication === 'string' ? raw.replication : undefined,
    masterEpoch: Number.isSafeInteger(raw.masterEpoch) ? (raw.masterEpoch as number) : undefined,
    log: isLog(raw.log) ? { epoch: raw.log.epoch, position: raw.log.position } : null,
    weight: Number.isFinite(raw.weight) ? (raw.weight as number) : 1,
    role,
    clientUrls: Array.isArray(raw.clientUrls) ? raw.clientUrls.filter((u): u is string => typeof u === 'string') : [],
    following: typeof raw.following === 'string' ? raw.following : undefined,
    reason: typeof raw.reason === 'string' ? raw.reason : undefined,
    replicas: Number.isSafeInteger(raw.replicas) ? (raw.replicas as number) : undefined,
    standingAside: typeof raw.standingAside === 'string' && raw.standingAside !== '' ? raw.standingAside : undefined,
  };
}

/**
 * The election's view of the members. A slave's published position trails its real one (it is
 * published at most once a second), so it may only count while a master is registered (to keep
 * that master in place). Once no master is registered, slaves count as unreported until they
 * stop following and publish their final position as candidates; otherwise a slave holding an
 * acknowledged record could lose the election to one that only looks equal (DESIGN §4 step 2).
 */
export function electionMembers(members: readonly ListedMember[], brokerName: string): ElectionMember[] {
  const group = members.filter((m) => m.brokerName === brokerName);
  const masterPresent = group.some((m) => m.role === 'master');
  return group.map((m) => ({
    nodeId: m.nodeId,
    brokerName: m.brokerName,
    log: m.role === 'slave' && !masterPresent ? null : m.log,
    weight: m.weight,
    sequence: m.sequence,
    role: m.role,
    standingAside: m.standingAside !== undefined,
  }));
}
