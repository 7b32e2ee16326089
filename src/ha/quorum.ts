/**
 * When a replicated write counts as acknowledged: the `sync` levels of DESIGN §4 as pure
 * functions over the positions the master and its slaves have reached. No I/O, no clock.
 *
 * Positions are log byte offsets. A record "ends at" the offset just after its last byte, and
 * acks report such end offsets, so "slave received through p" means `received >= p`.
 */
import type { SyncToken } from '../config/types.js';
import { QmqError } from '../util/errors.js';

export const SYNC_TOKENS: readonly SyncToken[] = ['local_mem', 'local_disk', 'remote_mem', 'remote_disk', 'quorum_mem', 'quorum_disk'];

export const DEFAULT_SYNC: SyncToken = 'quorum_disk';

/** What the master needs before it acknowledges a send. */
export interface SyncLevel {
  /** The master's own copy: not needed, written (page cache), or fsynced. */
  local: 'none' | 'written' | 'synced';
  /** The slaves' copies (`replicas/2` of them): not needed, received in memory, or fsynced. */
  remote: 'none' | 'received' | 'synced';
  /** The tokens this level was built from, strongest first, for logs and the status page. */
  tokens: SyncToken[];
}

const REQUIREMENTS: Record<SyncToken, Pick<SyncLevel, 'local' | 'remote'>> = {
  local_mem: { local: 'written', remote: 'none' },
  local_disk: { local: 'synced', remote: 'none' },
  remote_mem: { local: 'none', remote: 'received' },
  remote_disk: { local: 'none', remote: 'synced' },
  quorum_mem: { local: 'written', remote: 'received' },
  quorum_disk: { local: 'synced', remote: 'synced' },
};

const LOCAL_RANK = { none: 0, written: 1, synced: 2 } as const;
const REMOTE_RANK = { none: 0, received: 1, synced: 2 } as const;

function strength(t: SyncToken): number {
  const r = REQUIREMENTS[t];
  return REMOTE_RANK[r.remote] * 3 + LOCAL_RANK[r.local];
}

/**
 * Parses the `sync` attribute (a comma list). DESIGN §4: the strongest token wins. Two tokens
 * that are not comparable (`local_disk,remote_mem`) combine: each requirement takes its stronger
 * side, which is what ActiveMQ's OR-ed flags do and never weaker than either token alone.
 * An unknown token is an error: ActiveMQ only logged a warning and then ran weaker than asked.
 */
export function parseSyncLevel(value: string | readonly string[] | undefined): SyncLevel {
  const raw = value === undefined ? [] : typeof value === 'string' ? value.split(',') : [...value];
  const tokens = raw.map((t) => t.trim()).filter((t) => t.length > 0);
  if (tokens.length === 0) tokens.push(DEFAULT_SYNC);
  for (const t of tokens) {
    if (!(SYNC_TOKENS as readonly string[]).includes(t)) {
      throw new QmqError('CONFIG_INVALID', `unknown sync token '${t}'; expected a comma list of ${SYNC_TOKENS.join(', ')}`);
    }
  }
  const valid = [...new Set(tokens as SyncToken[])].sort((a, b) => strength(b) - strength(a));
  let local: SyncLevel['local'] = 'none';
  let remote: SyncLevel['remote'] = 'none';
  for (const t of valid) {
    const r = REQUIREMENTS[t];
    if (LOCAL_RANK[r.local] > LOCAL_RANK[local]) local = r.local;
    if (REMOTE_RANK[r.remote] > REMOTE_RANK[remote]) remote = r.remote;
  }
  return { local, remote, tokens: valid };
}

/** Slaves whose ack a remote/quorum level waits for: the seed's `replicas/2` (replicas=3 waits for 1). */
export function slaveAcksNeeded(replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new QmqError('CONFIG_INVALID', `replicas must be a whole number >= 1, got ${replicas}`);
  }
  return Math.floor(replicas / 2);
}

export interface SlaveAck {
  /** End offset of the last record the slave holds in memory. */
  received: number;
  /** End offset of the last record the slave has fsynced. */
  synced: number;
}

export interface ReplicationState {
  localWritten: number;
  localSynced: number;
  /** One entry per attached slave of the current epoch (fenced or stale slaves must not be here). */
  slaveAcks: readonly SlaveAck[];
}

export interface SyncCheck {
  met: boolean;
  localMet: boolean;
  slavesHave: number;
  slavesNeed: number;
}

/** Whether the record ending at `position` meets `level`, with the counts for an error message. */
export function checkSync(level: SyncLevel, state: ReplicationState, position: number, replicas: number): SyncCheck {
  const slavesNeed = level.remote === 'none' ? 0 : slaveAcksNeeded(replicas);
  // remote_* with replicas=1 waits for no slave, but a record is not acknowledged before it exists.
  const localNeed = level.local === 'none' && slavesNeed === 0 ? 'written' : level.local;
  const localMet =
    localNeed === 'none' || (localNeed === 'written' ? state.localWritten >= position : state.localSynced >= position);
  const slavesHave =
    level.remote === 'none'
      ? 0
      : state.slaveAcks.filter((a) => (level.remote === 'received' ? a.received : a.synced) >= position).length;
  return { met: localMet && slavesHave >= slavesNeed, localMet, slavesHave, slavesNeed };
}

export function isSyncMet(level: SyncLevel, state: ReplicationState, position: number, replicas: number): boolean {
  return checkSync(level, state, position, replicas).met;
}

/**
 * The highest position that meets `level` right now: the local bound, capped by the
 * `slavesNeed`-th highest slave ack. Everything at or below it meets the level.
 */
export function syncedThrough(level: SyncLevel, state: ReplicationState, replicas: number): number {
  let bound = Number.POSITIVE_INFINITY;
  if (level.local === 'written') bound = state.localWritten;
  if (level.local === 'synced') bound = state.localSynced;
  const need = level.remote === 'none' ? 0 : slaveAcksNeeded(replicas);
  if (need > 0) {
    const acks = state.slaveAcks.map((a) => (level.remote === 'received' ? a.received : a.synced)).sort((a, b) => b - a);
    bound = Math.min(bound, acks.length >= need ? acks[need - 1] : 0);
  }
  // remote_* with replicas=1 waits for nobody, but a record cannot be acknowledged before it exists.
  if (bound === Number.POSITIVE_INFINITY) bound = state.localWritten;
  return bound;
}

export interface CommitInput {
  level: SyncLevel;
  state: ReplicationState;
  replicas: number;
  /** End offset of the epoch marker this master wrote first in its epoch. */
  epochMarkerEnd: number;
  /** The commit position known so far; it never moves backwards. */
  previous: number;
}

/**
 * The position through which the log is committed, i.e. sends at or below it may be
 * acknowledged. Raft §5.4.2 / Figure 8: records inherited from earlier epochs are not counted
 * as committed by being replicated widely; they become committed only when a record of the
 * current epoch after them is. The epoch marker is that first record, so nothing moves until
 * the marker itself meets the level (DESIGN §4, step 5).
 */
export function commitPosition(input: CommitInput): number {
  const through = syncedThrough(input.level, input.state, input.replicas);
  if (through < input.epochMarkerEnd) return input.previous;
  return Math.max(input.previous, through);
}
