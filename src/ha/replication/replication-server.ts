import net from 'node:net';
import type { WrittenTap } from '../../store/journal/group-commit.js';
import type { JournalStore } from '../../store/journal/journal-store.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { checkSync, commitPosition, slaveAcksNeeded, type ReplicationState, type SyncLevel } from '../quorum.js';
import type { EpochStart, LogShape } from './frames.js';
import { recordLengthAt, scanLogShape } from './log-shape.js';
import { promiseEpoch } from './promised-epoch.js';
import { SlaveSession } from './slave-session.js';
import { assignSyncDuty } from './sync-duty.js';
import { syncOnLoop } from './sync-placement.js';
import type { SlaveProgress } from './types.js';

export const DEFAULT_REPLICATION_PORT = 61619;

export interface ReplicationServerOptions {
  journal: JournalStore;
  epoch: number;
  /** tcp://host:port; port 0 picks a free port. */
  bind: string;
  nodeId: string;
  securityToken?: string;
  replicas: number;
  level: SyncLevel;
  syncTimeoutMs: number;
  logger: Logger;
  clock?: Clock;
  /** Records sent to one slave and not yet acknowledged as received, at most (default 4 MiB). */
  maxInFlightBytes?: number;
  /** Records per frame, about (default 256 KiB). */
  frameBytes?: number;
  /** Heart-beat period on an idle stream; a peer silent for 5 of them is dropped (default 1000 ms). */
  heartbeatMs?: number;
  /**
   * How long groups for a slave that no send waits for (no sync duty, a `*_disk` level) may be
   * coalesced before they are sent (default 50 ms): one frame per 50 ms instead of one per group
   * saves the master a socket write and that slave a wake-up per group, CPU the master needs on a
   * machine shared by the group (bench/RESULTS.md, 2026-12-07). The price: while the duty holder
   * hangs with its socket open, waiting sends get that slave's copy up to 50 ms + 20 ms later.
   */
  lazySendMs?: number;
}

/** Splits `tcp://host:port` (the seed's `bind` form; the port may be omitted or 0). */
export function parseBind(bind: string): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/[\]]+)(?::(\d+))?\/?$/.exec(bind.trim());
  if (!m) throw new QmqError('CONFIG_INVALID', `replication bind address '${bind}' is not tcp://host:port`);
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  const port = m[2] === undefined ? DEFAULT_REPLICATION_PORT : Number(m[2]);
  if (port > 65535) throw new QmqError('CONFIG_INVALID', `replication bind address '${bind}' has port ${port} > 65535`);
  return { host, port };
}

interface Waiter {
  position: number;
  /** When the wait ends with SYNC_TIMEOUT (clock ms). */
  deadline: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Master side of replication (DESIGN §4): accepts slave connections on `bind`, brings each
 * slave's log in line with ours (truncate a divergent tail, or a snapshot), then streams
 * journal records, stamped with our epoch: each new group as the writer writes it to slaves that
 * keep up, read back from the segment files for those behind. Counts the slaves'
 * acknowledgements against the sync level.
 */
export class ReplicationServer {
  private readonly journal: JournalStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private server: net.Server | null = null;
  private readonly sessions = new Set<SlaveSession>();
  private epochs: EpochStart[] = [];
  private markerEnd = Number.POSITIVE_INFINITY;
  private commit = 0;
  /**
   * Writes waiting for their sync level, in log order (each waits for the end of its own batch,
   * and batches are placed in order), so one pass from the front settles them. One timer, for
   * the earliest deadline, stands for all of them: a timer per send cost the busy master CPU.
   */
  private waiters: Waiter[] = [];
  private deadlineTimer: TimerHandle | null = null;
  private fencedBy: number | null = null;
  private readonly fencedListeners: ((higherEpoch: number) => void)[] = [];
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  /**
   * The early send (DESIGN §4): each group goes to the caught-up slaves between our write and
   * our fdatasync, so their disks sync while ours does (Raft lets a leader write its own log in
   * parallel with replicating it, Ongaro's thesis §10.2.1).
   */
  private readonly tap: WrittenTap = {
    written: (start, bytes) => {
      if (this.fencedBy !== null) return;
      // The slaves a send waits for first: each socket write may hand the CPU to its reader.
      for (const s of this.sessions) if (s.hasSyncDuty) s.offerWritten(start, bytes);
      for (const s of this.sessions) if (!s.hasSyncDuty) s.offerWritten(start, bytes);
    },
    lost: (start, err) => this.dropSentFrom(start, err),
    syncOnLoop: (groupBatches) => syncOnLoop({ localSyncRequired: this.opts.level.local === 'synced', waitingWrites: this.waiters.length, groupBatches }),
  };
  readonly maxInFlightBytes: number;
  readonly frameBytes: number;
  readonly heartbeatMs: number;
  readonly lazySendMs: number;

  constructor(readonly opts: ReplicationServerOptions) {
    this.journal = opts.journal;
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.maxInFlightBytes = opts.maxInFlightBytes ?? 4 * 1024 * 1024;
    this.frameBytes = opts.frameBytes ?? 256 * 1024;
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
    this.lazySendMs = opts.lazySendMs ?? 50;
  }

  get epoch(): number {
    return this.opts.epoch;
  }

  /**
   * Makes sure our epoch's marker is in the log (writing it if the caller has not), learns the
   * epoch history from the log, and listens.
   */
  async start(): Promise<{ host: string; port: number }> {
    const { journal, epoch } = this.opts;
    const { host, port } = parseBind(this.opts.bind);
    journal.setReplica(false);
    if (journal.currentEpoch > epoch) throw new QmqError('FENCED', `the journal is already at epoch ${journal.currentEpoch}, above ours (${epoch})`);
    let shape = await scanLogShape(journal);
    if (!shape.epochs.some((e) => e.epoch === epoch)) {
      await journal.setEpoch(epoch);
      shape = await scanLogShape(journal);
    }
    // The master keeps its promise on disk too: it marks the store as a group member's, which may
    // heal damage from the group (DESIGN §3), and a restart never follows an older master.
    promiseEpoch(journal.config.directory, epoch);
    this.epochs = shape.epochs;
    const own = this.epochs.find((e) => e.epoch === epoch)!;
    this.markerEnd = own.start + (await recordLengthAt(journal, own.start));
    this.unsubscribe = journal.onDurableAdvance(() => this.progress());
    journal.setWrittenTap(this.tap);
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.logger.error({ err: e.message }, 'replication server error'));
    const addr = server.address() as net.AddressInfo;
    this.logger.info({ bind: this.opts.bind, host: addr.address, port: addr.port, epoch, markerEnd: this.markerEnd, sync: this.opts.level.tokens, replicas: this.opts.replicas }, 'replication server listening');
    return { host: addr.address, port: addr.port };
  }

  /** Our log as a joining slave compares it: held range and epoch starts. */
  logShape(): LogShape {
    return { first: this.journal.firstPosition, end: this.journal.lastPosition().position, epochs: this.epochs };
  }

  private accept(socket: net.Socket): void {
    if (this.stopped || this.fencedBy !== null) {
      socket.destroy();
      return;
    }
    const session = new SlaveSession(socket, this, this.journal, this.logger, this.clock);
    this.sessions.add(session);
    session.closed.then(() => {
      this.sessions.delete(session);
      this.sessionsChanged();
    });
  }

  /** Called by a session when it learns of a newer epoch (or by anyone who knows better). */
  fence(higherEpoch: number, why: string): void {
    if (this.fencedBy !== null && this.fencedBy >= higherEpoch) return;
    const first = this.fencedBy === null;
    this.fencedBy = higherEpoch;
    this.logger.error({ epoch: this.opts.epoch, higherEpoch, why }, `replication: fenced by epoch ${higherEpoch} (ours is ${this.opts.epoch}): ${why}`);
    this.abortWaiters(new QmqError('FENCED', `this master (epoch ${this.opts.epoch}) is fenced: ${why}`));
    if (first) for (const fn of this.fencedListeners) fn(higherEpoch);
  }

  get fencedEpoch(): number | null {
    return this.fencedBy;
  }

  /**
   * A group we sent early never became durable here, and the writer has stopped for good (it
   * never writes other bytes at those positions in this epoch). The slaves that got it hold a
   * tail we lack: they are disconnected, and when they log in again the catch-up finds their
   * records past our end divergent and cuts them into their quarantine. Those records were
   * never acknowledged: a send needs our own fsync (`state`).
   */
  private dropSentFrom(position: number, err: QmqError): void {
    for (const s of this.sessions) {
      if (s.holdsFrom(position)) s.close(`records from log position ${position} were sent before our fdatasync, which failed (${err.message}); the slave must cut them at its next catch-up`);
    }
  }

  private state(): ReplicationState {
    const durable = this.journal.lastPosition().position;
    return {
      // A record counts as written, and as ours, only once the writer has fsynced it: that is
      // when readers see it. Slaves may get (and fsync) it earlier, from the early send; the
      // commit position is capped by our own durable end all the same.
      localWritten: durable,
      localSynced: durable,
      slaveAcks: [...this.sessions].filter((s) => s.streaming).map((s) => ({ received: s.received, synced: s.synced })),
    };
  }

  /** Whether the sync level counts a slave's receipt of records (`*_mem`), not only its fdatasync. */
  get countsReceipts(): boolean {
    return this.opts.level.remote === 'received';
  }

  /** A slave started streaming or left: the sync duty may move, and the commit position too. */
  sessionsChanged(): void {
    const streaming = [...this.sessions].filter((s) => s.streaming);
    const needed = this.opts.level.remote === 'synced' ? slaveAcksNeeded(this.opts.replicas) : 0;
    const key = (s: SlaveSession) => s.address;
    const current = new Set(streaming.filter((s) => s.hasSyncDuty).map(key));
    const duty = assignSyncDuty(needed, current, streaming.map((s) => ({ key: key(s), synced: s.synced, connectedAt: s.connectedAt })));
    for (const s of streaming) s.setSyncDuty(duty.has(key(s)));
    this.progress();
  }

  /** Re-evaluates the commit position after an ack, a durable write or a lost slave. */
  progress(): void {
    for (const s of this.sessions) s.wake();
    if (this.waiters.length === 0) return;
    this.commit = commitPosition({ level: this.opts.level, state: this.state(), replicas: this.opts.replicas, epochMarkerEnd: this.markerEnd, previous: this.commit });
    let n = 0;
    while (n < this.waiters.length && this.waiters[n].position <= this.commit) n++;
    if (n === 0) return;
    const done = this.waiters.splice(0, n);
    for (const w of done) w.resolve();
  }

  /** Rejects every waiting write with `err` (fenced, stopped, or the store gave up). */
  abortWaiters(err: QmqError): void {
    this.deadlineTimer?.cancel();
    this.deadlineTimer = null;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Ends the waits whose deadline has passed with SYNC_TIMEOUT, and sets the timer for the next. */
  private expireWaiters(): void {
    this.deadlineTimer = null;
    const now = this.clock.now();
    const expired = this.waiters.filter((w) => w.deadline <= now);
    if (expired.length > 0) {
      this.waiters = this.waiters.filter((w) => w.deadline > now);
      const state = this.state();
      for (const w of expired) {
        const c = checkSync(this.opts.level, state, w.position, this.opts.replicas);
        w.reject(
          new QmqError(
            'SYNC_TIMEOUT',
            `log position ${w.position} did not reach sync level ${this.opts.level.tokens.join(',')} within ${this.opts.syncTimeoutMs} ms: ` +
              `${c.slavesHave} of ${c.slavesNeed} slave acknowledgement(s)${c.localMet ? '' : ', local write not done'}`,
          ),
        );
      }
    }
    this.armDeadline();
  }

  private armDeadline(): void {
    if (this.deadlineTimer || this.waiters.length === 0) return;
    let next = Number.POSITIVE_INFINITY;
    for (const w of this.waiters) next = Math.min(next, w.deadline);
    this.deadlineTimer = this.clock.schedule(Math.max(0, next - this.clock.now()), () => this.expireWaiters());
  }

  /**
   * Resolves once the log up to `position` (an end offset) meets the sync level in our epoch,
   * with our epoch marker (Raft Figure 8, DESIGN §4 step 5). Rejects with SYNC_TIMEOUT after
   * syncTimeoutMs, or FENCED once a slave has told us of a newer epoch.
   */
  waitForSync(position: number, local?: Promise<void>): Promise<void> {
    if (this.fencedBy !== null) return Promise.reject(new QmqError('FENCED', `this master (epoch ${this.opts.epoch}) is fenced by epoch ${this.fencedBy}`));
    if (this.stopped) return Promise.reject(new QmqError('SHUTTING_DOWN', 'the replication server is stopped'));
    const target = Math.max(position, this.markerEnd);
    this.commit = commitPosition({ level: this.opts.level, state: this.state(), replicas: this.opts.replicas, epochMarkerEnd: this.markerEnd, previous: this.commit });
    if (this.commit >= target) return local ?? Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { position: target, deadline: this.clock.now() + this.opts.syncTimeoutMs, resolve, reject };
      let i = this.waiters.length;
      while (i > 0 && this.waiters[i - 1].position > target) i--;
      this.waiters.splice(i, 0, w);
      this.armDeadline();
      // A failed local write fails its send at once, not after syncTimeout (the commit position
      // never passes our own durable end, so it would only time out).
      local?.catch((e: unknown) => {
        const at = this.waiters.indexOf(w);
        if (at < 0) return;
        this.waiters.splice(at, 1);
        reject(e);
      });
    });
  }

  slaves(): SlaveProgress[] {
    const end = this.journal.lastPosition().position;
    return [...this.sessions].filter((s) => s.nodeId !== null).map((s) => s.progress(end));
  }

  onFenced(fn: (higherEpoch: number) => void): void {
    this.fencedListeners.push(fn);
    if (this.fencedBy !== null) fn(this.fencedBy);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.journal.setWrittenTap(null);
    this.abortWaiters(new QmqError('SHUTTING_DOWN', 'the replication server stopped'));
    const closing = [...this.sessions].map((s) => {
      s.close('the master stopped replicating');
      return s.closed;
    });
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all(closing);
    this.logger.info({ epoch: this.opts.epoch }, 'replication server stopped');
  }

  /** For sessions: the settings they need. */
  get settings(): { epoch: number; nodeId: string; securityToken: string; maxInFlightBytes: number; frameBytes: number; heartbeatMs: number; lazySendMs: number } {
    return { epoch: this.opts.epoch, nodeId: this.opts.nodeId, securityToken: this.opts.securityToken ?? '', maxInFlightBytes: this.maxInFlightBytes, frameBytes: this.frameBytes, heartbeatMs: this.heartbeatMs, lazySendMs: this.lazySendMs };
  }

  /** Bytes held for slaves right now (socket buffers and frames being built), for tests and status. */
  bufferedBytes(): number {
    let n = 0;
    for (const s of this.sessions) n += s.bufferedBytes;
    return n;
  }

}
