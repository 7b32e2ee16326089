/**
 * The ZooKeeper side of the replicated mode (DESIGN §4 steps 1-3): keeps one registration
 * znode alive across session losses, watches the group, runs `decideMaster` on every change, and
 * hands out epochs by compare-and-set. What to do with a decision is the mode's business.
 */
import { decideMaster, type ElectionDecision } from '../election.js';
import { ZkSession, type ZkSessionOptions } from '../zk-session.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { decodeMember, electionMembers, encodeMember, EPOCH_NODE, MEMBER_PREFIX, type ListedMember, type MemberRecord } from './elector-member.js';

export interface GroupView {
  members: ListedMember[];
  decision: ElectionDecision;
}

/** The part of `ZkSession` the elector uses (a fake can stand in for it in unit tests). */
export type ElectorSession = Pick<
  ZkSession,
  'state' | 'grantedSessionTimeoutMs' | 'on' | 'createEphemeralSequential' | 'ensurePath' | 'getData' | 'setData' | 'compareAndSet' | 'getChildrenWithData' | 'close'
>;

export interface ElectorOptions {
  connectString: string;
  zkPath: string;
  sessionTimeoutMs: number;
  digestAuth?: string;
  replicas: number;
  brokerName: string;
  nodeId: string;
  logger: Logger;
  clock?: Clock;
  /** Opens a session (default: `ZkSession.connect`). */
  connect?: (opts: ZkSessionOptions) => Promise<ElectorSession>;
}

export interface ElectorHandlers {
  /** The group changed (or was read again); called one at a time, newest view only. */
  onView(view: GroupView): void;
  /** The session stopped being served (`suspended`) or is gone (`lost`); a master must stop now. */
  onSessionDown(kind: 'suspended' | 'lost', why: string, silentMs: number): void;
  /** The session is usable again (a new registration after `lost`, or served again after `suspended`). */
  onSessionUp(): void;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

export class ZkElector {
  private readonly clock: Clock;
  private readonly log: Logger;
  private session: ElectorSession | null = null;
  private znodePath: string | null = null;
  private record: MemberRecord;
  private handlers: ElectorHandlers | null = null;
  private stopped = false;
  private refreshing = false;
  private refreshAgain = false;
  private publishing: Promise<void> = Promise.resolve();
  /** The record changed since it was last written to the znode. */
  private unwritten = false;
  private republishTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private retryDelayMs = RETRY_MIN_MS;
  private lastView: GroupView | null = null;
  /** Why the elector has no usable session, for the status page. */
  private downReason: string | null;

  constructor(
    private readonly opts: ElectorOptions,
    initial: MemberRecord,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.record = initial;
    this.downReason = `connecting to ZooKeeper at ${opts.connectString} (no session yet)`;
  }

  get view(): GroupView | null {
    return this.lastView;
  }

  /** Null while registered and served; otherwise why not (e.g. "ZooKeeper session lost: …"). */
  get sessionProblem(): string | null {
    return this.downReason;
  }

  /** Whether this node's ZooKeeper session is certainly alive right now. */
  sessionIsFresh(): boolean {
    const s = this.session as (ElectorSession & { isFresh?: () => boolean }) | null;
    if (!s) return false;
    return s.isFresh ? s.isFresh() : s.state === 'connected';
  }

  get grantedSessionTimeoutMs(): number | undefined {
    return this.session?.grantedSessionTimeoutMs;
  }

  start(handlers: ElectorHandlers): void {
    this.handlers = handlers;
    void this.register();
  }

  /**
   * Replaces this node's published record (merged); written at once if the session is served.
   * A record that could not be written (the session suspended, or the write failed) is written
   * when the session is served again: until then the znode holds an older record, and the mode
   * must not act as if the group saw the new one (a slave that stopped following and stays
   * listed as a slave counts as unreported, and the group can elect nobody).
   */
  publish(change: Partial<MemberRecord>): Promise<void> {
    this.record = { ...this.record, ...change };
    const data = encodeMember(this.record);
    this.unwritten = true;
    // Writes go out in order, so an older record never overwrites a newer one.
    this.publishing = this.publishing.then(async () => {
      const s = this.session;
      const path = this.znodePath;
      if (!s || !path || s.state !== 'connected' || this.stopped) return;
      try {
        await s.setData(path, data);
        if (encodeMember(this.record).equals(data)) this.unwritten = false;
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'could not publish this node\'s state to ZooKeeper; retrying');
        this.scheduleRepublish(s);
      }
    });
    return this.publishing;
  }

  /** Writes the record again after a failed write, while the same session is served. */
  private scheduleRepublish(s: ElectorSession): void {
    if (this.republishTimer || this.stopped) return;
    this.republishTimer = this.clock.schedule(RETRY_MAX_MS, () => {
      this.republishTimer = null;
      if (this.session === s && this.unwritten && !this.stopped) void this.publish({});
    });
  }

  /** The name of this session's registration znode (e.g. `member-0000000007`), null while unregistered. */
  get ownZnode(): string | null {
    return this.znodePath ? this.znodePath.slice(this.znodePath.lastIndexOf('/') + 1) : null;
  }

  get published(): MemberRecord {
    return this.record;
  }

  /**
   * Takes the next epoch: above what the epoch node holds and above `atLeastAbove`, by
   * compare-and-set, so two would-be masters never share an epoch (DESIGN §4 step 3).
   */
  async takeEpoch(atLeastAbove: number): Promise<number> {
    const s = this.session;
    if (!s || s.state !== 'connected') throw new QmqError('NO_QUORUM', `cannot take an epoch: ${this.downReason ?? 'ZooKeeper session not usable'}`);
    const path = `${this.opts.zkPath}/${EPOCH_NODE}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await s.getData(path);
      const stored = current ? Number(current.data.toString('utf8')) : 0;
      const next = Math.max(Number.isSafeInteger(stored) ? stored : 0, atLeastAbove) + 1;
      const r = await s.compareAndSet(path, current ? current.version : -1, String(next));
      if (r.ok) return next;
    }
    throw new QmqError('NO_QUORUM', 'cannot take an epoch: another node kept changing it (5 attempts)');
  }

  /** Reads the group again (e.g. after a failed follow). */
  refresh(): void {
    void this.readGroup();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = null;
    this.republishTimer?.cancel();
    this.republishTimer = null;
    const s = this.session;
    this.session = null;
    this.znodePath = null;
    await this.publishing.catch(() => undefined);
    // Closing ends the session, so our ephemeral znode goes at once and peers re-elect.
    if (s) await s.close().catch(() => undefined);
  }

  private scheduleRegister(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(RETRY_MAX_MS, this.retryDelayMs * 2);
    this.retryTimer = this.clock.schedule(delay, () => {
      this.retryTimer = null;
      void this.register();
    });
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    let session: ElectorSession;
    try {
      const connect = this.opts.connect ?? ((o: ZkSessionOptions) => ZkSession.connect(o));
      session = await connect({
        connectString: this.opts.connectString,
        sessionTimeoutMs: this.opts.sessionTimeoutMs,
        digestAuth: this.opts.digestAuth,
        clock: this.clock,
        logger: this.log,
      });
    } catch (e) {
      this.downReason = `cannot reach ZooKeeper (${this.opts.connectString}): ${(e as Error).message}`;
      this.log.warn({ err: (e as Error).message }, 'ZooKeeper connect failed; retrying');
      this.scheduleRegister();
      return;
    }
    if (this.stopped) {
      await session.close();
      return;
    }
    this.session = session;
    session.on('suspended', (e: { why: string; silentMs: number }) => {
      if (this.session !== session) return;
      this.downReason = `ZooKeeper session suspended: ${e.why}`;
      // Whatever we saw before may be stale by now; nothing may be decided on it after the session is back.
      this.lastView = null;
      this.handlers?.onSessionDown('suspended', this.downReason, e.silentMs);
    });
    session.on('reconnected', () => {
      if (this.session !== session) return;
      this.downReason = null;
      // What was published while the session was suspended never reached the znode.
      if (this.unwritten) void this.publish({});
      this.handlers?.onSessionUp();
      void this.readGroup();
    });
    session.on('lost', (e: { why: string; silentMs: number }) => {
      if (this.session !== session) return;
      this.session = null;
      this.znodePath = null;
      this.downReason = `ZooKeeper session lost: ${e.why}`;
      // The old view may still name this node master. Acted on after re-registering (before the
      // first fresh read), it made a frozen ex-master take a new epoch over the real master and
      // truncate that master's acknowledged records (issue 5 scenario 7). No view until re-read.
      this.lastView = null;
      this.handlers?.onSessionDown('lost', this.downReason, e.silentMs);
      this.retryDelayMs = RETRY_MIN_MS;
      this.scheduleRegister();
    });
    try {
      await session.ensurePath(this.opts.zkPath);
      this.znodePath = await session.createEphemeralSequential(`${this.opts.zkPath}/${MEMBER_PREFIX}`, encodeMember(this.record));
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not register in ZooKeeper; retrying with a new session');
      this.session = null;
      this.znodePath = null;
      await session.close().catch(() => undefined);
      this.downReason = `cannot register in ZooKeeper: ${(e as Error).message}`;
      this.scheduleRegister();
      return;
    }
    this.retryDelayMs = RETRY_MIN_MS;
    this.downReason = null;
    this.log.info({ znode: this.znodePath, grantedSessionTimeoutMs: session.grantedSessionTimeoutMs, nodeId: this.opts.nodeId }, 'registered in ZooKeeper');
    // The record may have changed while we registered.
    void this.publish({});
    this.handlers?.onSessionUp();
    await this.readGroup();
  }

  /** Lists the group with a watch; coalesces changes that arrive while a read is running. */
  private async readGroup(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        const s = this.session;
        if (!s || !this.znodePath || this.stopped || s.state === 'lost' || s.state === 'closed') return;
        let children;
        try {
          children = await s.getChildrenWithData(this.opts.zkPath, () => void this.readGroup());
        } catch (e) {
          // The session watchdog decides whether this matters; try again shortly.
          this.log.warn({ err: (e as Error).message }, 'could not read the group from ZooKeeper');
          this.clock.schedule(200, () => void this.readGroup());
          return;
        }
        const members = children.map((c) => decodeMember(c.name, c.data)).filter((m): m is ListedMember => m !== null);
        const decision = decideMaster({
          members: electionMembers(members, this.opts.brokerName),
          replicas: this.opts.replicas,
          self: this.opts.nodeId,
          brokerName: this.opts.brokerName,
        });
        // Our own znode missing means the server already expired the session we think we have.
        if (!members.some((m) => this.znodePath?.endsWith(`/${m.znode}`))) {
          this.log.warn({ znode: this.znodePath }, 'our registration is gone from ZooKeeper');
        }
        // A read that began on a session since lost must not become the view.
        if (this.stopped || this.session !== s || s.state !== 'connected') continue;
        this.lastView = { members, decision };
        this.handlers?.onView(this.lastView);
      } while (this.refreshAgain);
    } finally {
      this.refreshing = false;
    }
  }
}
