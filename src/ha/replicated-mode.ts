/**
 * The `replicatedLevelDB` HA mode (DESIGN §4): ZooKeeper elects, the master replicates its
 * journal to the slaves, and the node serves clients only while it is a master whose epoch
 * marker has met the sync level. Every change of role happens in place: the journal stays open
 * from start to stop (a journal whose writer failed for good is reopened on the same directory),
 * nothing is restarted, nothing is deleted.
 *
 * Role changes run one at a time (`run`), driven by the group view from ZooKeeper, the session
 * state, and the replication streams. Fencing is the exception: it happens at once, outside
 * the queue, because a master whose session is suspended must stop acknowledging now.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrokerConfig, JournalPersistence, ReplicatedPersistence } from '../config/types.js';
import { defaultJournal } from '../config/defaults.js';
import { JournalStore, type JournalStoreOptions } from '../store/journal/journal-store.js';
import type { MessageStore, RecoveredState, StoredMessage, StoreOp, StoreStats } from '../store/message-store.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { compareLog, formatLog, quorumSize, type LogPosition } from './election.js';
import type { HaEvents, HaMode, HaStatus } from './ha-mode.js';
import { clearUnconfirmedEpoch, electionPosition, noteUnconfirmedEpoch, readUnconfirmedEpoch, type UnconfirmedEpoch } from './unconfirmed-epoch.js';
import { parseSyncLevel, slaveAcksNeeded, type SyncLevel } from './quorum.js';
import { standAsideReason } from './stand-aside.js';
import { ReplicatedStore, ReplicationClient, ReplicationServer, type ReplicationClientOptions, type ReplicationServerOptions, type SlaveProgress } from './replication/index.js';
import { parseBind } from './replication/replication-server.js';
import { ZkElector, type ElectorOptions, type GroupView } from './zookeeper/elector.js';
import type { ListedMember, MemberRecord } from './zookeeper/elector-member.js';

/** The parts of the replication API the mode drives (fakes stand in for them in tests). */
export interface ReplicationServerLike {
  start(): Promise<{ host: string; port: number }>;
  waitForSync(position: number): Promise<void>;
  slaves(): SlaveProgress[];
  onFenced(fn: (higherEpoch: number) => void): void;
  stop(): Promise<void>;
}
export interface ReplicationClientLike {
  follow(masterAddress: string, masterEpoch: number): Promise<void>;
  position(): LogPosition;
  onLost(fn: (reason: string) => void): void;
  stop(): Promise<void>;
}
export interface ReplicationFactory {
  server(opts: ReplicationServerOptions): ReplicationServerLike;
  client(opts: ReplicationClientOptions): ReplicationClientLike;
  store(journal: JournalStore, server: ReplicationServerLike): MessageStore & { fence(reason: string): void };
  /**
   * Resolves once a TCP connection to the master's replication address opens; rejects when it
   * is refused, when `timeoutMs` passes, or on `signal`. Optional: fakes leave it out.
   */
  probe?(address: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
}

/**
 * Opens and at once closes a TCP connection. A slave starting to follow first reads every
 * record header of its log (its shape for the catch-up), seconds for a large log on a loaded
 * machine; against a killed master's port, which refuses at once, that read is wasted and
 * held up the election after the session expired (bench trial: 5.4 s). The handshake is the
 * kernel's, so a master with a busy event loop still answers in time.
 */
export function probeTcp(address: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const { host, port } = parseBind(address);
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(new QmqError('NOT_MASTER', `gave up on ${address}: the group changed`));
      return;
    }
    const socket = net.connect({ host, port });
    const finish = (e?: QmqError) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (e) reject(e);
      else resolve();
    };
    const onAbort = () => finish(new QmqError('NOT_MASTER', `gave up on ${address}: the group changed`));
    const timer = setTimeout(() => finish(new QmqError('OPERATION_TIMEOUT', `no TCP connection to ${address} within ${timeoutMs} ms`)), timeoutMs);
    signal.addEventListener('abort', onAbort);
    socket.once('connect', () => finish());
    socket.once('error', (e) => finish(new QmqError('NOT_MASTER', `replication address ${address} does not answer: ${e.message}`)));
  });
}

export const realReplication: ReplicationFactory = {
  server: (o) => new ReplicationServer(o),
  client: (o) => new ReplicationClient(o),
  store: (journal, server) => new ReplicatedStore(journal, server as ReplicationServer),
  probe: probeTcp,
};

export interface ReplicatedModeOptions {
  clock?: Clock;
  replication?: ReplicationFactory;
  connectZk?: ElectorOptions['connect'];
  /** Fixed node id (tests); default: read from, or created in, `<directory>/node-id`. */
  nodeId?: string;
  /** Makes the node's journal store, not yet opened (tests inject open failures); default `new JournalStore`. */
  journal?: (config: JournalPersistence, logger: Logger, options: JournalStoreOptions) => JournalStore;
}

type Phase = 'candidate' | 'following' | 'taking-over' | 'master';

/** How often a node republishes its log position while it moves (status and lag only). */
const POSITION_PUBLISH_MS = 1000;
/** Pause before trying again after a failed follow or take-over. */
const RETRY_MS = 500;
/**
 * A takeover that fails for a local reason (the epoch cannot be taken, the replication port or
 * the log cannot be read, the node cannot serve) is retried with back-off up to this: each attempt
 * takes a new epoch and writes its marker, and a failure that repeats must not spin.
 */
const MAX_TAKEOVER_RETRY_MS = 8000;
/** How long a slave waits for the master's replication port to accept before trying again later. */
const PROBE_TIMEOUT_MS = 1000;
/**
 * How long a node that stood aside stays out of the election (stand-aside.ts) unless it starts
 * following a master sooner. If the others cannot serve either, the election falls back to it.
 */
const STAND_ASIDE_MS = 30_000;
/**
 * A slave silent for longer than this does not count as reaching us (stand-aside.ts): slaves ack
 * at least once a heartbeat (1 s), while the master drops a silent session only after 5 of them.
 */
const SLAVE_SILENT_MS = 2500;

/**
 * Journal failures (a writer that stopped, a reopen that failed) further apart than this are
 * unrelated: the next is reopened at once again instead of after the back-off.
 */
const JOURNAL_FAILURES_APART_MS = 60_000;

/** The back-off of the `n`th consecutive failure (1-based): 0.5 s doubling to 8 s. */
function backoffMs(n: number): number {
  return Math.min(MAX_TAKEOVER_RETRY_MS, RETRY_MS * 2 ** (n - 1));
}

/** The master a follow attempt is for. */
export interface FollowTarget {
  nodeId: string;
  address: string;
  epoch: number;
}

/**
 * The registered master this node should follow according to `view`, or null (no master
 * elected, this node elected, or the elected node has not published its replication address
 * and epoch yet). Pure.
 */
export function masterToFollow(view: GroupView, brokerName: string, selfId: string): ListedMember | null {
  const d = view.decision;
  if (d.kind !== 'elected' || d.master === selfId) return null;
  const master = view.members
    .filter((m) => m.nodeId === d.master && m.brokerName === brokerName)
    .sort((a, b) => b.sequence - a.sequence)[0];
  if (!master || master.role !== 'master' || !master.replication || master.masterEpoch === undefined) return null;
  return master;
}

/**
 * Whether a follow attempt still makes sense under a new view. An attempt holds the role queue
 * (probe, log scan, login: up to the connect timeout against a partitioned master), so once
 * the group no longer names its master (the dead master's session expired) it is dropped, and
 * the election runs at once instead of after the attempt. Pure.
 */
export function followStillWanted(view: GroupView | null, brokerName: string, selfId: string, target: FollowTarget): boolean {
  if (!view) return true; // no fresh view: nothing new is known, and nothing is decided meanwhile
  const m = masterToFollow(view, brokerName, selfId);
  return m !== null && m.nodeId === target.nodeId && m.replication === target.address && m.masterEpoch === target.epoch;
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/**
 * A node's identity in the group survives restarts (so a restarted node is recognised, not
 * counted twice), so it lives next to the journal it describes.
 */
function readOrCreateNodeId(directory: string): string {
  const file = path.join(directory, 'node-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  }
  const id = `node-${randomBytes(3).toString('hex')}`;
  writeFileSync(file, id + '\n');
  return id;
}

/** The store handed to the core: refuses writes once fenced, and reports sync timeouts. */
class MasterStore implements MessageStore {
  readonly kind = 'replicated';
  private fencedBecause: string | null = null;

  constructor(
    private readonly inner: MessageStore & { fence(reason: string): void },
    readonly epoch: number,
    private readonly onSyncTimeout: (e: QmqError) => void,
    /** Whether our ZooKeeper session is certainly alive now: the lease on mastership. */
    private readonly leaseIsValid: () => boolean = () => true,
  ) {}

  fence(reason: string): void {
    if (this.fencedBecause) return;
    this.fencedBecause = reason;
    this.inner.fence(reason);
  }

  open(): Promise<RecoveredState> {
    return this.inner.open();
  }

  async write(ops: StoreOp[]): Promise<void> {
    if (this.fencedBecause) throw new QmqError('FENCED', `this node is no longer master of epoch ${this.epoch}: ${this.fencedBecause}`);
    try {
      await this.inner.write(ops);
    } catch (e) {
      if (e instanceof QmqError && e.codeName === 'SYNC_TIMEOUT') this.onSyncTimeout(e);
      throw e;
    }
    // Acknowledging after a fence would let a deposed master confirm a send the new one may lack.
    if (this.fencedBecause) throw new QmqError('FENCED', `this node is no longer master of epoch ${this.epoch}: ${this.fencedBecause}`);
    // Checked at the moment of acknowledging, not left to the watchdog's timer: after a pause the
    // event loop may deliver slave acks before any timer runs, while a successor already serves.
    // Not acknowledged, but not fenced either: the watchdog decides about demotion, and the
    // client resends (duplicate detection drops the copy if this one survives).
    if (!this.leaseIsValid()) {
      // The batch is stored and replicated, so "failed" would be a lie as much as "done": the
      // client must treat it as in doubt (resend with its producer seq, or ask about the commit).
      throw new QmqError('OUTCOME_UNKNOWN', `this node cannot prove it is still master of epoch ${this.epoch}: no answer from ZooKeeper within 2/3 of the session timeout`);
    }
  }

  read(queue: string, fromSeq: number, maxCount: number): Promise<StoredMessage[]> {
    return this.inner.read(queue, fromSeq, maxCount);
  }

  isTransactionCommitted(txId: string): Promise<boolean> {
    return this.inner.isTransactionCommitted(txId);
  }

  stats(): Promise<StoreStats> {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class ReplicatedMode implements HaMode {
  readonly kind = 'replicatedLevelDB';
  private readonly cfg: ReplicatedPersistence;
  private readonly level: SyncLevel;
  private readonly clock: Clock;
  private readonly replication: ReplicationFactory;
  private journal!: JournalStore;
  private nodeId: string;
  private elector!: ZkElector;
  private events!: HaEvents;
  private phase: Phase = 'candidate';
  /** Our epoch as master, or the epoch of the master we follow. */
  private epoch: number | undefined;
  private server: ReplicationServerLike | null = null;
  private serverAddress: string | undefined;
  private store: MasterStore | null = null;
  private client: ReplicationClientLike | null = null;
  private following: FollowTarget | null = null;
  /** The follow attempt under way (inside the queue), so a new view can call it off. */
  private attempt: { target: FollowTarget; abort: AbortController } | null = null;
  private reason = 'starting';
  private lastDemotion: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private retryTimer: TimerHandle | null = null;
  private positionTimer: TimerHandle | null = null;
  private suspendTimer: TimerHandle | null = null;
  private lastPublishedLog: LogPosition | null = null;
  private stopped = false;
  /** Since when (clock ms) fewer slaves than the sync level needs have been logged in while we lead. */
  private slavesShortSince: number | null = null;
  /** Why we stand aside from the election (published), and until when. */
  private standingAside: string | undefined;
  private standingAsideUntil = 0;

  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    private readonly options: ReplicatedModeOptions = {},
  ) {
    if (config.persistence.kind !== 'replicatedLevelDB') {
      throw new QmqError('CONFIG_INVALID', `ReplicatedMode needs a <replicatedLevelDB> persistence adapter, not ${config.persistence.kind}`);
    }
    this.cfg = config.persistence;
    this.level = parseSyncLevel(this.cfg.sync);
    this.clock = options.clock ?? systemClock;
    this.replication = options.replication ?? realReplication;
    this.nodeId = options.nodeId ?? '';
  }

  async start(events: HaEvents): Promise<void> {
    this.events = events;
    this.journal = await this.openJournal();
    if (!this.nodeId) this.nodeId = readOrCreateNodeId(this.cfg.directory);
    this.unconfirmed = readUnconfirmedEpoch(this.cfg.directory);
    const log = this.logPosition();
    this.lastPublishedLog = log;
    this.elector = new ZkElector(
      {
        connectString: this.cfg.zkAddress,
        zkPath: this.cfg.zkPath,
        sessionTimeoutMs: this.cfg.zkSessionTimeoutMs,
        // ActiveMQ's replicatedLevelDB authenticates as digest user "fabric" with zkPassword; the
        // same identity lets ACLs an operator set up for ActiveMQ's groups work unchanged.
        digestAuth: this.cfg.zkPassword === undefined ? undefined : `fabric:${this.cfg.zkPassword}`,
        replicas: this.cfg.replicas,
        brokerName: this.config.brokerName,
        nodeId: this.nodeId,
        logger: this.logger.child({ component: 'elector' }),
        clock: this.clock,
        connect: this.options.connectZk,
      },
      {
        brokerName: this.config.brokerName,
        nodeId: this.nodeId,
        log,
        weight: this.cfg.weight,
        role: 'candidate',
        clientUrls: this.clientUrls(),
        reason: 'registering',
        replicas: this.cfg.replicas,
      },
    );
    this.reason = `connecting to ZooKeeper at ${this.cfg.zkAddress}`;
    this.logger.info(
      { nodeId: this.nodeId, zkAddress: this.cfg.zkAddress, zkPath: this.cfg.zkPath, replicas: this.cfg.replicas, sync: this.level.tokens, log },
      'replicated node starting as a candidate',
    );
    this.elector.start({
      onView: (view) => {
        this.dropStaleAttempt(view);
        this.scheduleReconcile();
      },
      onSessionDown: (kind, why, silentMs) => this.onSessionDown(kind, why, silentMs),
      onSessionUp: () => this.onSessionUp(),
    });
    this.schedulePositionPublish();
  }

  status(): HaStatus {
    const role = this.phase === 'master' ? 'master' : this.phase === 'following' ? 'slave' : 'standby';
    const view = this.elector?.view;
    return {
      mode: this.kind,
      role,
      epoch: this.epoch,
      // A ZooKeeper problem explains everything else (no view, no election), so it comes first.
      reason: this.phase === 'master' ? undefined : (this.elector?.sessionProblem ?? this.reason),
      details: {
        nodeId: this.nodeId,
        phase: this.phase,
        zkAddress: this.cfg.zkAddress,
        zkPath: this.cfg.zkPath,
        grantedSessionTimeoutMs: this.elector?.grantedSessionTimeoutMs,
        sync: this.level.tokens,
        replicas: this.cfg.replicas,
        log: this.journal ? this.logPosition() : undefined,
        // Group commit as this node's journal saw it (groups, batches, syncs, pool syncs, deferred
        // groups): batches per group and syncs per group explain its throughput.
        journalWriter: this.journal?.writerStats,
        replication: this.serverAddress,
        following: this.following ?? undefined,
        lastDemotion: this.lastDemotion,
        standingAside: this.standingAside,
        journalFailure: this.journalFailure ?? undefined,
        slaves: this.server?.slaves() ?? [],
        members: view ? memberTable(view, this.config.brokerName) : [],
        decision: view?.decision.reason,
      },
    };
  }

  /** Client addresses of every member of the group, the master's first (CONNECTED `qmq-cluster`). */
  clusterClientUrls(): string[] {
    const members = (this.elector?.view?.members ?? []).filter((m) => m.brokerName === this.config.brokerName);
    members.sort((a, b) => (a.role === 'master' ? 0 : 1) - (b.role === 'master' ? 0 : 1));
    const urls = new Set<string>(this.clientUrls());
    for (const m of members) for (const u of m.clientUrls) urls.add(u);
    return [...urls];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.retryTimer?.cancel();
    this.positionTimer?.cancel();
    this.suspendTimer?.cancel();
    this.reopenTimer?.cancel();
    this.store?.fence('the node is stopping');
    await this.run(async () => {
      const server = this.server;
      this.server = null;
      await server?.stop().catch(() => undefined);
      await this.stopFollowing(false);
      // Closing the session removes our znode at once, so the others elect without waiting for expiry.
      await this.elector?.stop();
      this.phase = 'candidate';
      await this.journal?.close();
    });
  }

  // --- sequencing ---------------------------------------------------------------------------

  private run(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn);
    this.queue = next.catch((e) => this.logger.error({ err: (e as Error).stack ?? String(e) }, 'replicated mode: a role change failed'));
    return this.queue;
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.stopped) return;
    this.reconcileQueued = true;
    void this.run(async () => {
      this.reconcileQueued = false;
      await this.reconcile();
    });
  }

  private dropStaleAttempt(view: GroupView): void {
    const a = this.attempt;
    if (!a || a.abort.signal.aborted || followStillWanted(view, this.config.brokerName, this.nodeId, a.target)) return;
    this.logger.info({ master: a.target.nodeId, address: a.target.address, epoch: a.target.epoch }, 'the group no longer names the master being followed; calling the attempt off');
    a.abort.abort();
  }

  private retryLater(delayMs = RETRY_MS): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = this.clock.schedule(delayMs, () => {
      this.retryTimer = null;
      this.elector.refresh();
      this.scheduleReconcile();
    });
  }

  /** An epoch marker of ours no quorum has confirmed yet, if it ends the log (unconfirmed-epoch.ts). */
  private unconfirmed: UnconfirmedEpoch | null = null;
  /** Consecutive takeovers that failed for a local reason; reset when one serves. */
  private failedTakeovers = 0;
  private takeoverNotBefore = 0;
  /** Why the journal cannot be written, while the node is withdrawn (`onJournalFailed`); null when it works. */
  private journalFailure: string | null = null;
  /** Journal write failures and failed reopens in a row (each within JOURNAL_FAILURES_APART_MS of the last). */
  private journalFailures = 0;
  private lastJournalFailureAt = 0;
  private reopenTimer: TimerHandle | null = null;

  private retryFailedTakeover(why: string): void {
    this.failedTakeovers++;
    const delayMs = Math.min(MAX_TAKEOVER_RETRY_MS, RETRY_MS * 2 ** (this.failedTakeovers - 1));
    this.takeoverNotBefore = this.clock.now() + delayMs;
    this.setReason(`${why} (attempt ${this.failedTakeovers}; next in ${delayMs} ms)`);
    this.logger.error({ nodeId: this.nodeId, attempt: this.failedTakeovers, retryInMs: delayMs }, why);
    this.retryLater(delayMs);
  }

  private setReason(reason: string): void {
    if (reason === this.reason) return;
    this.reason = reason;
    this.events.statusChanged?.(this.status());
  }

  // --- decisions ----------------------------------------------------------------------------

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    if (this.journalFailure) {
      // Withdrawn until a reopened journal works (`reopenJournal`); its status says why.
      if (this.phase === 'master' || this.phase === 'taking-over') await this.demote(`the journal can no longer be written: ${this.journalFailure}`);
      await this.stopFollowing(false);
      return;
    }
    const problem = this.elector.sessionProblem;
    if (problem) {
      // Never take over on a view we cannot trust; a slave keeps following (the data stream does not need ZooKeeper).
      if (this.phase !== 'following') this.setReason(problem);
      return;
    }
    const view = this.elector.view;
    if (!view) return;
    const d = view.decision;
    for (const w of d.warnings) this.logger.warn({ nodeId: this.nodeId }, w);

    // A node restarted within a session timeout of its death still sees its old registration,
    // and those of peers that died with it (kill -9 of the whole group): counted, they could
    // elect a lone node as master, or let stale slave positions count as reported. So a
    // candidate decides nothing until ZooKeeper has expired its previous session; peers killed
    // at the same moment expire with it.
    const previous = view.members.filter((m) => m.brokerName === this.config.brokerName && m.nodeId === this.nodeId && m.znode !== this.elector.ownZnode);
    if (this.phase === 'candidate' && previous.length > 0) {
      this.setReason(
        `waiting for ZooKeeper to expire this node's registration from before its restart (${previous.map((m) => m.znode).join(', ')}; ` +
          `at most zkSessionTimeout): until then the group may list members that are gone`,
      );
      return;
    }

    if (this.phase === 'master' || this.phase === 'taking-over') {
      if (d.kind === 'elected' && d.master === this.nodeId) return;
      // Standing aside may have let the others elect before our queued demotion ran.
      const why = d.kind === 'no-master' ? `lost the quorum (${d.reason})` : `${d.master} is master now (${d.reason})`;
      await this.demote(this.standingAside === undefined ? why : `standing aside: ${this.standingAside}`);
    }

    if (d.kind === 'no-master') {
      await this.stopFollowing(true);
      this.setReason(`waiting for quorum: ${d.have} of ${d.need} members${d.unreported.length ? `, waiting for ${d.unreported.join(', ')} to report` : ''} (${d.reason})`);
      return;
    }
    if (d.master === this.nodeId) {
      // Group changes wake us at any time; a failed takeover still waits out its back-off.
      const waitMs = this.takeoverNotBefore - this.clock.now();
      if (waitMs > 0) {
        this.retryLater(waitMs);
        return;
      }
      await this.takeOver();
      return;
    }
    const master = masterToFollow(view, this.config.brokerName, this.nodeId);
    if (!master) {
      await this.stopFollowing(true);
      this.setReason(`waiting for ${d.master} to take over (${d.reason})`);
      return;
    }
    if (this.following && this.following.address === master.replication && this.following.epoch === master.masterEpoch) return;
    await this.stopFollowing(true);
    await this.follow(master);
  }

  private async follow(master: ListedMember): Promise<void> {
    const address = master.replication!;
    const epoch = master.masterEpoch!;
    const client = this.replication.client({
      journal: this.journal,
      nodeId: this.nodeId,
      securityToken: this.cfg.securityToken,
      logger: this.logger.child({ component: 'replication-client' }),
      clock: this.clock,
    });
    this.setReason(`catching up from ${master.nodeId} (${address}) at epoch ${epoch}`);
    const attempt = { target: { nodeId: master.nodeId, address, epoch }, abort: new AbortController() };
    this.attempt = attempt;
    attempt.abort.signal.addEventListener('abort', () => void client.stop().catch(() => undefined));
    client.onLost((why) => {
      void this.run(async () => {
        if (this.client !== client) return;
        this.logger.warn({ master: master.nodeId, why }, 'replication stream from the master ended');
        await this.stopFollowing(true);
        this.setReason(`lost the stream from ${master.nodeId}: ${why}`);
        this.retryLater();
      });
    });
    try {
      // A refused or silent port fails here, before the client reads the whole log for its login.
      await this.replication.probe?.(address, PROBE_TIMEOUT_MS, attempt.abort.signal);
      await client.follow(address, epoch);
    } catch (e) {
      await client.stop().catch(() => undefined);
      this.setReason(`cannot follow ${master.nodeId} at ${address}: ${(e as Error).message}`);
      // Called off because the group changed: the reconcile queued by that view decides now.
      if (!attempt.abort.signal.aborted) this.retryLater();
      return;
    } finally {
      if (this.attempt === attempt) this.attempt = null;
    }
    this.client = client;
    this.following = { nodeId: master.nodeId, address, epoch };
    this.phase = 'following';
    // Following works: nothing left to stand aside from.
    this.standingAside = undefined;
    this.epoch = epoch;
    const reason = `slave of ${master.nodeId} at epoch ${epoch}`;
    this.setReason(reason);
    await this.publish({ role: 'slave', following: master.nodeId, masterEpoch: undefined, replication: undefined, reason });
  }

  /**
   * Stops following. A candidate publishes its final position, since only then may the
   * election count it (see `electionMembers`).
   */
  private async stopFollowing(publish: boolean): Promise<void> {
    const client = this.client;
    this.client = null;
    this.following = null;
    if (client) await client.stop().catch((e) => this.logger.warn({ err: (e as Error).message }, 'error stopping replication client'));
    if (this.phase === 'following') this.phase = 'candidate';
    if (publish && this.elector.published.role !== 'candidate') {
      await this.publish({ role: 'candidate', following: undefined, masterEpoch: undefined, replication: undefined, reason: this.reason });
    }
  }

  private async takeOver(): Promise<void> {
    await this.stopFollowing(false);
    this.phase = 'taking-over';
    const last = this.logPosition();
    let epoch: number;
    try {
      epoch = await this.elector.takeEpoch(Math.max(last.epoch, this.journal.currentEpoch));
    } catch (e) {
      this.phase = 'candidate';
      this.retryFailedTakeover(`elected, but could not take an epoch: ${(e as Error).message}`);
      return;
    }
    // The view may have moved on while we asked ZooKeeper (a newer member, a lost session).
    const still = this.elector.view?.decision;
    if (this.stopped || this.elector.sessionProblem || !still || still.kind !== 'elected' || still.master !== this.nodeId) {
      this.phase = 'candidate';
      this.scheduleReconcile();
      return;
    }
    // The epoch marker: after it, nothing an older master writes can be accepted by our slaves.
    // Until a quorum has it, the election must not count it (see unconfirmed-epoch.ts).
    this.unconfirmed = noteUnconfirmedEpoch(this.cfg.directory, epoch, this.journal.lastPosition(), this.unconfirmed);
    try {
      await this.journal.setEpoch(epoch);
    } catch (e) {
      this.phase = 'candidate';
      // A writer that stopped for good has already queued the reopen, which backs off on its own.
      if (!this.journalFailure) this.retryFailedTakeover(`elected, but the epoch marker could not be written: ${(e as Error).message}`);
      return;
    }
    const server = this.replication.server({
      journal: this.journal,
      epoch,
      bind: this.cfg.bind,
      nodeId: this.nodeId,
      securityToken: this.cfg.securityToken,
      replicas: this.cfg.replicas,
      level: this.level,
      syncTimeoutMs: this.cfg.syncTimeoutMs,
      logger: this.logger.child({ component: 'replication-server' }),
      clock: this.clock,
    });
    let bound: { host: string; port: number };
    try {
      bound = await server.start();
    } catch (e) {
      await server.stop().catch(() => undefined);
      this.phase = 'candidate';
      this.retryFailedTakeover(`elected, but the replication port ${this.cfg.bind} could not be opened: ${(e as Error).message}`);
      return;
    }
    server.onFenced((higher) => this.fenceNow(`a slave has seen epoch ${higher}, newer than ours (${epoch})`));
    this.server = server;
    this.serverAddress = `tcp://${this.advertisedHost(bound.host)}:${bound.port}`;
    this.epoch = epoch;
    const marker = this.journal.lastPosition();
    const need = this.level.remote === 'none' ? 0 : slaveAcksNeeded(this.cfg.replicas);
    this.setReason(`taking over at epoch ${epoch}: waiting for the epoch marker to reach ${this.level.tokens.join(',')} (${need} slave ack${need === 1 ? '' : 's'} needed)`);
    this.logger.info({ nodeId: this.nodeId, epoch, replication: this.serverAddress, marker }, 'elected: epoch taken, replication server listening');
    await this.publish({ role: 'master', masterEpoch: epoch, replication: this.serverAddress, following: undefined, reason: this.reason });
    // Waiting here must not hold the queue: a lost session has to be able to demote us meanwhile.
    server.waitForSync(marker.position).then(
      () => void this.run(() => this.openMaster(epoch, server)),
      (e: unknown) =>
        void this.run(async () => {
          if (this.server !== server || this.phase !== 'taking-over') return;
          await this.demote(`the epoch marker of epoch ${epoch} did not reach ${this.level.tokens.join(',')}: ${(e as Error).message}`);
          this.retryLater();
        }),
    );
  }

  private async openMaster(epoch: number, server: ReplicationServerLike): Promise<void> {
    if (this.server !== server || this.phase !== 'taking-over' || this.stopped) return;
    const store = new MasterStore(
      this.replication.store(this.journal, server),
      epoch,
      (e) => this.fenceNow(`a send waited syncTimeout (${this.cfg.syncTimeoutMs} ms) for the sync level: ${e.message}`),
      () => this.elector?.sessionIsFresh() ?? false,
    );
    this.store = store;
    this.phase = 'master';
    clearUnconfirmedEpoch(this.cfg.directory);
    this.unconfirmed = null;
    this.lastPublishedLog = this.logPosition();
    this.logger.info({ nodeId: this.nodeId, epoch, sync: this.level.tokens }, 'master: the epoch marker met the sync level; opening client ports');
    try {
      await this.events.elected(epoch, store);
    } catch (e) {
      await this.demote(`the node could not serve as master: ${(e as Error).message}`);
      this.retryFailedTakeover(`the node could not serve as master: ${(e as Error).message}`);
      return;
    }
    this.failedTakeovers = 0;
    this.takeoverNotBefore = 0;
    this.reason = '';
    this.events.statusChanged?.(this.status());
    await this.publish({ reason: undefined });
  }

  /** Stops acknowledging at once (outside the queue), then demotes in order. */
  private fenceNow(reason: string): void {
    if (this.phase !== 'master' && this.phase !== 'taking-over') return;
    this.store?.fence(reason);
    void this.run(() => this.demote(reason));
  }

  /**
   * A suspended session is not yet a lost one: the client may resume it on another server (one
   * ZooKeeper server dying must change nothing, issue 5 scenario 5). ZooKeeper cannot expire
   * the session, and so nobody else can be elected, before a whole session timeout of silence;
   * the master keeps serving until 2/3 of it has passed and stops then, ahead of any successor.
   */
  private onSessionDown(kind: 'suspended' | 'lost', why: string, silentMs: number): void {
    if (this.phase !== 'master' && this.phase !== 'taking-over') {
      if (this.phase !== 'following') this.setReason(why);
      return;
    }
    const grantedMs = this.elector.grantedSessionTimeoutMs ?? this.cfg.zkSessionTimeoutMs;
    const leftMs = Math.floor((grantedMs * 2) / 3) - silentMs;
    if (kind === 'lost' || leftMs <= 0) {
      this.fenceNow(why);
      return;
    }
    this.suspendTimer?.cancel();
    this.logger.warn({ why, silentMs, fenceInMs: leftMs }, 'ZooKeeper session suspended; still master unless it is not served again in time');
    this.suspendTimer = this.clock.schedule(leftMs, () => {
      this.suspendTimer = null;
      const problem = this.elector.sessionProblem;
      if (problem) this.fenceNow(problem);
    });
  }

  private onSessionUp(): void {
    this.suspendTimer?.cancel();
    this.suspendTimer = null;
    this.scheduleReconcile();
  }

  private async demote(reason: string): Promise<void> {
    if (this.phase !== 'master' && this.phase !== 'taking-over') return;
    const wasServing = this.phase === 'master';
    const store = this.store;
    this.store = null;
    store?.fence(reason);
    this.phase = 'candidate';
    this.lastDemotion = reason;
    this.logger.warn({ nodeId: this.nodeId, epoch: this.epoch, reason }, 'giving up mastership; staying up as a candidate');
    if (wasServing) await this.events.demoted(reason).catch((e) => this.logger.error({ err: (e as Error).message }, 'error while closing the client ports'));
    const server = this.server;
    this.server = null;
    this.serverAddress = undefined;
    await server?.stop().catch((e) => this.logger.warn({ err: (e as Error).message }, 'error stopping the replication server'));
    this.setReason(`demoted: ${reason}`);
    await this.publish({ role: 'candidate', masterEpoch: undefined, replication: undefined, following: undefined, log: this.logPosition(), reason: this.reason });
    this.scheduleReconcile();
  }

  // --- the journal ---------------------------------------------------------------------------

  private journalConfig(): JournalPersistence {
    return {
      ...defaultJournal(path.dirname(this.cfg.directory), 'levelDB'),
      directory: this.cfg.directory,
      journalMaxFileLengthBytes: this.cfg.journalMaxFileLengthBytes,
      // A slave's *_disk ack and the master's local fsync both need synced writes.
      enableJournalDiskSyncs: this.level.local === 'synced' || this.level.remote === 'synced',
    };
  }

  /** Opens a journal store on the directory and watches its writer. */
  private async openJournal(): Promise<JournalStore> {
    // A group member can fetch what damage cost it from the master, so damaged records are set
    // aside instead of refusing to start (even before this node ever replicated).
    const make = this.options.journal ?? ((c, l, o) => new JournalStore(c, l, o));
    const journal = make(this.journalConfig(), this.logger.child({ component: 'journal' }), { damagedLog: 'quarantine' });
    await journal.open();
    journal.onWriteFailure((err) => this.onJournalFailed(journal, err));
    return journal;
  }

  /**
   * The journal's writer stopped for good (an I/O error that leaves the page cache in doubt, or a
   * group sent early that failed): this store takes no more writes. A master, or a node taking
   * over, gives up at once, and the node withdraws from the election until a store opened again
   * on the same directory (recovery re-reads the files; the failed group was zeroed or is a torn
   * tail) works: no restart, nothing deleted. This runs inside the writer's failure path, so
   * beyond the fence the work is queued.
   */
  private onJournalFailed(journal: JournalStore, err: QmqError): void {
    if (this.stopped || journal !== this.journal || this.journalFailure) return;
    this.journalFailure = err.message;
    this.countJournalFailure();
    this.logger.error({ nodeId: this.nodeId, phase: this.phase, epoch: this.epoch, err: err.message, failures: this.journalFailures }, 'the journal can no longer be written; giving up any role and reopening it');
    this.fenceNow(`the journal can no longer be written: ${err.message}`);
    // The first failure is reopened at once. A reopened journal that fails again soon waits,
    // withdrawn: a disk that reads fine but keeps failing writes would otherwise win the election
    // again each time (it holds the longest log) and spin through epochs.
    const delayMs = this.journalFailures > 1 ? backoffMs(this.journalFailures - 1) : 0;
    void this.run(() => this.withdraw(delayMs));
  }

  /** Stops every use of the failed journal, closes it, and tells the group (no log position). */
  private async withdraw(delayMs: number): Promise<void> {
    if (this.stopped || !this.journalFailure) return;
    if (this.phase === 'master' || this.phase === 'taking-over') await this.demote(`the journal can no longer be written: ${this.journalFailure}`);
    await this.stopFollowing(false);
    await this.journal.close().catch((e) => this.logger.warn({ err: (e as Error).message }, 'error closing the failed journal'));
    this.setReason(`journal unusable: ${this.journalFailure}; ${delayMs > 0 ? `reopening in ${delayMs} ms (failure ${this.journalFailures})` : 'reopening it'}`);
    await this.publish({ role: 'candidate', following: undefined, masterEpoch: undefined, replication: undefined, reason: this.reason });
    this.scheduleReopen(delayMs);
  }

  private countJournalFailure(): void {
    const now = this.clock.now();
    if (now - this.lastJournalFailureAt > JOURNAL_FAILURES_APART_MS) this.journalFailures = 0;
    this.journalFailures++;
    this.lastJournalFailureAt = now;
  }

  private scheduleReopen(delayMs: number): void {
    if (this.stopped) return;
    this.reopenTimer?.cancel();
    this.reopenTimer = null;
    if (delayMs <= 0) {
      void this.run(() => this.reopenJournal());
      return;
    }
    this.reopenTimer = this.clock.schedule(delayMs, () => {
      this.reopenTimer = null;
      void this.run(() => this.reopenJournal());
    });
  }

  /** A new store on the same directory; on success the node is a candidate with its new position again. */
  private async reopenJournal(): Promise<void> {
    if (this.stopped || !this.journalFailure) return;
    let journal: JournalStore;
    try {
      journal = await this.openJournal();
    } catch (e) {
      this.countJournalFailure();
      const delayMs = backoffMs(this.journalFailures - 1);
      const why = `journal unusable: ${(e as Error).message}; retrying in ${delayMs} ms (attempt ${this.journalFailures - 1})`;
      this.logger.error({ nodeId: this.nodeId, directory: this.cfg.directory, retryInMs: delayMs }, why);
      this.setReason(why);
      await this.publish({ reason: this.reason });
      this.scheduleReopen(delayMs);
      return;
    }
    const failure = this.journalFailure;
    this.journal = journal;
    this.journalFailure = null;
    // As at start: a marker of ours that no quorum confirmed must not count (unconfirmed-epoch.ts).
    this.unconfirmed = readUnconfirmedEpoch(this.cfg.directory);
    const log = this.logPosition();
    this.logger.info({ nodeId: this.nodeId, log, after: failure }, 'journal reopened; a candidate again');
    this.setReason(`journal reopened after: ${failure}; a candidate at ${formatLog(log)}`);
    await this.publish({ role: 'candidate', following: undefined, masterEpoch: undefined, replication: undefined, log, reason: this.reason });
    this.scheduleReconcile();
  }

  // --- publishing ---------------------------------------------------------------------------

  private logPosition(): LogPosition {
    const own = electionPosition(this.journal.lastPosition(), this.unconfirmed);
    const followed = this.client?.position();
    return followed && compareLog(followed, own) > 0 ? followed : own;
  }

  private async publish(change: Partial<MemberRecord>): Promise<void> {
    // Without a working journal the node withdraws: a member with no position counts as
    // unreported, so the others elect among themselves instead of electing this node and then
    // waiting for a takeover that cannot happen (DESIGN §4, the early send).
    const log = this.journalFailure ? null : (change.log ?? this.logPosition());
    this.lastPublishedLog = log;
    await this.elector.publish({ ...change, log, standingAside: this.standingAside });
  }

  /**
   * Runs every second: a leader that no slave has reached for a while stands aside while the
   * others are alive (stand-aside.ts), and a node whose time aside is over rejoins the election.
   */
  private checkStandAside(): void {
    const now = this.clock.now();
    const leading = this.phase === 'master' || this.phase === 'taking-over';
    if (this.standingAside !== undefined && !leading && now >= this.standingAsideUntil) {
      this.standingAside = undefined;
      this.logger.info({ nodeId: this.nodeId }, 'no longer standing aside; a candidate again');
      void this.publish({});
      this.scheduleReconcile();
    }
    const needed = this.level.remote === 'none' ? 0 : slaveAcksNeeded(this.cfg.replicas);
    const connected = (this.server?.slaves() ?? []).filter((sl) => (sl.silentMs ?? 0) <= SLAVE_SILENT_MS).length;
    if (!leading || connected >= needed) {
      this.slavesShortSince = null;
      return;
    }
    this.slavesShortSince ??= now;
    const view = this.elector.view;
    const others = new Set((view?.members ?? []).filter((m) => m.brokerName === this.config.brokerName && m.nodeId !== this.nodeId).map((m) => m.nodeId)).size;
    const why = standAsideReason({
      leading,
      slavesNeeded: needed,
      slavesConnected: connected,
      shortSince: this.slavesShortSince,
      now,
      graceMs: this.standAsideGraceMs,
      othersRegistered: others,
      quorum: quorumSize(this.cfg.replicas),
    });
    if (!why) return;
    this.slavesShortSince = null;
    this.standingAside = why;
    this.standingAsideUntil = now + STAND_ASIDE_MS;
    this.logger.warn({ nodeId: this.nodeId, epoch: this.epoch, forMs: STAND_ASIDE_MS }, `standing aside: ${why}`);
    // Nothing waiting can be acknowledged; answer it now rather than at syncTimeout.
    this.store?.fence(`standing aside: ${why}`);
    void this.run(() => this.demote(`standing aside: ${why}`));
  }

  /**
   * How long a leader may lack slaves before it stands aside: a slave that lost its stream logs in
   * again within a second or two, one following a new master needs the session timeout to learn
   * of it, and one that just started reads its whole log before it connects (seconds for a large
   * log on a busy machine); well past all of these, and well below syncTimeout's 30 s.
   */
  private get standAsideGraceMs(): number {
    return Math.max(10_000, 5 * (this.elector?.grantedSessionTimeoutMs ?? this.cfg.zkSessionTimeoutMs));
  }

  private schedulePositionPublish(): void {
    if (this.stopped) return;
    this.positionTimer = this.clock.schedule(POSITION_PUBLISH_MS, () => {
      this.positionTimer = null;
      // Positions are for status and lag; a candidate's is published by the transitions that matter.
      if ((this.phase === 'following' || this.phase === 'master') && !this.stopped) {
        const log = this.logPosition();
        if (!this.lastPublishedLog || compareLog(log, this.lastPublishedLog) !== 0) void this.publish({ log });
      }
      if (!this.stopped) this.checkStandAside();
      this.schedulePositionPublish();
    });
  }

  private advertisedHost(boundHost: string): string {
    if (this.cfg.hostname) return this.cfg.hostname;
    const bindHost = new URL(this.cfg.bind.replace(/^tcp:/, 'http:')).hostname;
    if (!WILDCARD_HOSTS.has(bindHost)) return bindHost;
    return WILDCARD_HOSTS.has(boundHost) ? os.hostname() : boundHost;
  }

  /** The STOMP addresses this node serves on when master; ports 0 are only known once bound. */
  private clientUrls(): string[] {
    const urls: string[] = [];
    for (const c of this.config.transportConnectors) {
      if (c.port === 0) continue;
      const scheme = c.scheme === 'stomp' || c.scheme === 'stomp+nio' ? 'tcp' : c.scheme === 'stomp+ssl' || c.scheme === 'stomp+nio+ssl' ? 'ssl' : null;
      if (!scheme) continue;
      const host = WILDCARD_HOSTS.has(c.host) ? this.cfg.hostname ?? os.hostname() : c.host;
      urls.push(`${scheme}://${host}:${c.port}`);
    }
    return urls;
  }
}

/** One row per member of our group, for `/api/status` and `quorummq status --zk`. */
export function memberTable(view: GroupView, brokerName: string): Array<Record<string, unknown>> {
  const group = view.members.filter((m) => m.brokerName === brokerName);
  const master = group.find((m) => m.role === 'master');
  return group.map((m) => ({
    nodeId: m.nodeId,
    znode: m.znode,
    role: m.role,
    epoch: m.role === 'master' ? m.masterEpoch : m.log?.epoch,
    log: m.log,
    lagBytes: master?.log && m.log && m !== master ? Math.max(0, master.log.position - m.log.position) : undefined,
    following: m.following,
    replication: m.replication,
    clientUrls: m.clientUrls,
    reason: m.reason,
    standingAside: m.standingAside,
  }));
}
