import { DEFAULT_LOCK_ACQUIRE_SLEEP_INTERVAL_MS, DEFAULT_LOCK_KEEP_ALIVE_PERIOD_MS } from '../../config/defaults.js';
import type { JournalPersistence } from '../../config/types.js';
import { JournalStore } from '../../store/journal/journal-store.js';
import type { RecoveredState } from '../../store/message-store.js';
import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { HaEvents, HaMode, HaStatus } from '../ha-mode.js';
import { LockFile } from './lock-file.js';
import { nextEpoch, type DecodedLock, type LockRecord } from './lock-record.js';
import { OpenedStore } from './opened-store.js';

export interface SharedFileModeOptions {
  config: JournalPersistence;
  /** Written into the lock file and shown to operators: `<brokerName>@<host>:<pid>`. */
  nodeId: string;
  logger: Logger;
  /** How often a store open is retried while a paused ex-master still has it open (default 100 ms). */
  storeRetryMs?: number;
}

const WAITING = 'waiting for the lock on';

type Phase = 'idle' | 'waiting' | 'taking-over' | 'master' | 'demoting' | 'stopped';

/**
 * Shared file system master/slave (DESIGN §5). Every broker on a journal directory runs this
 * mode; the one that holds the OFD lock on `<directory>/lock` is master, so a lone broker is
 * master at once and a second one on the same directory waits instead of failing (ActiveMQ's
 * SharedFileLocker behaves the same way).
 *
 * Closes the holes of ActiveMQ's locker (research/ha-anchors.md §2.1): the keep-alive is always
 * on (it checks that the lock file still exists as the same file and still carries our epoch);
 * a waiter is woken by the kernel the moment the lock frees instead of polling every 10 s; and
 * a master that lost the lock is fenced: the journal refuses its next write group, and it
 * demotes in place and waits again instead of stopping the process.
 */
export class SharedFileMode implements HaMode {
  readonly kind = 'shared-file';
  private readonly keepAliveMs: number;
  private readonly sleepMs: number;
  private readonly storeRetryMs: number;
  private readonly logger: Logger;
  private phase: Phase = 'idle';
  private events: HaEvents | undefined;
  private lock: LockFile | null = null;
  /** Our record in the lock file while we hold it. */
  private holding: LockRecord | null = null;
  /** Set the moment the lock is lost: from then on nothing may be written. */
  private lostBecause: string | null = null;
  private reason = 'starting';
  private keepAlive: NodeJS.Timeout | null = null;
  private campaign: Promise<void> = Promise.resolve();
  private wakeStop: (() => void) | null = null;
  private readonly stopSignal: Promise<void>;
  private store: OpenedStore | null = null;

  constructor(private readonly opts: SharedFileModeOptions) {
    this.keepAliveMs = opts.config.lockKeepAlivePeriodMs ?? DEFAULT_LOCK_KEEP_ALIVE_PERIOD_MS;
    this.sleepMs = opts.config.lockAcquireSleepIntervalMs ?? DEFAULT_LOCK_ACQUIRE_SLEEP_INTERVAL_MS;
    this.storeRetryMs = opts.storeRetryMs ?? 100;
    this.logger = opts.logger.child({ component: 'shared-file-lock' });
    this.stopSignal = new Promise((resolve) => (this.wakeStop = resolve));
  }

  get lockFile(): string {
    return this.lock?.file ?? `${this.opts.config.directory}/lock`;
  }

  /**
   * Opens the lock file (an unwritable directory fails here, clearly) and, if the lock is free,
   * becomes master before resolving, so a lone broker that cannot open its store fails to start
   * just as without HA. Otherwise it waits in the background (or fails with `failIfLocked`).
   */
  async start(events: HaEvents): Promise<void> {
    this.events = events;
    const lock = LockFile.open(this.opts.config.directory);
    this.lock = lock;
    if (!lock.tryLock()) {
      const holder = describeHolder(lock.read());
      if (this.opts.config.failIfLocked) {
        lock.close();
        this.lock = null;
        throw new QmqError('STORE_LOCKED', `the store ${this.opts.config.directory} is locked by ${holder} (${lock.file}) and failIfLocked is set`);
      }
      this.logger.info({ lockFile: lock.file, holder }, 'store locked by another broker: waiting as slave');
      this.campaign = this.campaignLoop();
      return;
    }
    try {
      await this.takeOver(lock);
    } catch (e) {
      this.releaseLock();
      this.setPhase('idle', 'failed to start');
      throw e;
    }
  }

  status(): HaStatus {
    const holder = this.phase === 'master' && this.holding ? this.holding : this.readHolder();
    return {
      mode: this.kind,
      role: this.phase === 'master' ? 'master' : 'standby',
      epoch: holder?.epoch,
      // While waiting, name the holder as the file says now (it rewrites its epoch once it has replayed).
      reason: this.phase === 'master' ? undefined : this.phase === 'waiting' && this.reason.startsWith(WAITING) ? `${WAITING} ${this.lockFile}, held by ${holder ? `${holder.nodeId} (epoch ${holder.epoch})` : 'another process'}` : this.reason,
      details: {
        nodeId: this.opts.nodeId,
        lockFile: this.lockFile,
        state: this.phase,
        lockHolder: holder ? { nodeId: holder.nodeId, epoch: holder.epoch, acquiredAt: holder.acquiredAtMs ? new Date(holder.acquiredAtMs).toISOString() : undefined } : null,
        lockKeepAlivePeriodMs: this.keepAliveMs,
        lockAcquireSleepIntervalMs: this.sleepMs,
      },
    };
  }

  /** Gives the lock up (the node has closed its core already), so a waiter takes over at once. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    const wasMaster = this.phase === 'master';
    this.phase = 'stopped';
    this.reason = 'stopped';
    this.wakeStop?.();
    this.stopKeepAlive();
    this.lostBecause ??= 'the broker is stopping';
    await this.campaign.catch(() => undefined);
    await this.store?.close().catch(() => undefined);
    this.releaseLock();
    if (wasMaster) this.logger.info({ lockFile: this.lockFile }, 'lock released: a waiting broker can take over');
  }

  /** Waits for the lock, takes over; retries after errors until stopped or master. */
  private async campaignLoop(): Promise<void> {
    while (!this.stopped()) {
      try {
        const lock = await this.acquire();
        if (!lock) return;
        await this.takeOver(lock);
        return;
      } catch (e) {
        this.releaseLock();
        if (this.stopped()) return;
        this.logger.error({ err: errText(e), retryInMs: this.sleepMs }, 'taking over the store failed; waiting for the lock again');
        this.setPhase('waiting', `taking over failed: ${errText(e)}`);
        await this.sleep(this.sleepMs);
      }
    }
  }

  /**
   * Blocks until this node holds the lock on the file the path currently names. The kernel
   * wakes the wait the moment the holder's description closes (kill -9 included); every
   * `lockAcquireSleepInterval` the waiter checks that the path still names the file it waits
   * on, because a lock on a deleted or replaced file guards nothing.
   */
  private async acquire(): Promise<LockFile | null> {
    for (;;) {
      if (this.stopped()) return null;
      let lock: LockFile;
      try {
        lock = this.lock ??= LockFile.open(this.opts.config.directory);
      } catch (e) {
        this.setPhase('waiting', errText(e));
        this.logger.error({ err: errText(e) }, 'cannot open the lock file; retrying');
        await this.sleep(this.sleepMs);
        continue;
      }
      if (!lock.isHeld && !lock.tryLock()) {
        this.setPhase('waiting', `${WAITING} ${lock.file}, held by ${describeHolder(lock.read())}`);
        let locked = false;
        const waited = lock.waitForLock().then(() => (locked = true));
        waited.catch(() => undefined);
        while (!locked && !this.stopped()) {
          await Promise.race([waited, this.sleep(this.sleepMs)]);
          if (locked || this.stopped()) break;
          if (!lock.isCurrent()) break;
          const reason = `${WAITING} ${lock.file}, held by ${describeHolder(lock.read())}`;
          if (reason !== this.reason) this.setPhase('waiting', reason);
        }
        if (!locked) {
          // Stopped, or the file was replaced: the description closes once its wait ends.
          this.releaseLock();
          continue;
        }
      }
      if (!lock.isCurrent()) {
        this.logger.warn({ lockFile: lock.file }, 'locked a lock file that has since been deleted or replaced; locking the current one');
        this.releaseLock();
        continue;
      }
      return lock;
    }
  }

  /**
   * With the lock held: claim the next epoch in the lock file, open (replay) the journal, write
   * the epoch marker, and hand the store to the node, which then opens its client ports.
   */
  private async takeOver(lock: LockFile): Promise<void> {
    this.setPhase('taking-over', `took the lock on ${lock.file}; recovering the store`);
    this.lostBecause = null;
    const previous = lock.read();
    const record: LockRecord = { nodeId: this.opts.nodeId, epoch: nextEpoch(previous, 0), acquiredAtMs: Date.now() };
    lock.write(record);
    this.holding = record;
    const started = Date.now();
    const { store, recovered } = await this.openStore(lock, record);
    try {
      const epoch = nextEpoch(previous, store.lastPosition().epoch);
      if (epoch !== record.epoch) {
        record.epoch = epoch;
        lock.write(record);
      }
      await store.setEpoch(epoch);
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
    const opened = new OpenedStore(store, recovered, () => this.lostBecause);
    this.store = opened;
    this.logger.info({ lockFile: lock.file, epoch: record.epoch, previousHolder: describeHolder(previous), recoveryMs: Date.now() - started }, 'lock acquired: becoming master');
    try {
      await this.events!.elected(record.epoch, opened);
    } catch (e) {
      this.lostBecause ??= `becoming master failed: ${errText(e)}`;
      await opened.close().catch(() => undefined);
      this.store = null;
      throw e;
    }
    if (this.stopped()) return;
    this.setPhase('master', undefined);
    // A fence may have tripped while the node was opening: then demote right away.
    if (this.lostBecause !== null) {
      this.demote(this.lostBecause);
      return;
    }
    this.keepAlive = setInterval(() => this.checkLock(), this.keepAliveMs);
    this.checkLock();
  }

  /**
   * Opens the journal with our lock and fence. While a paused ex-master still has it open,
   * LevelDB's own lock refuses us: retry (still holding the file lock) until it lets go.
   */
  private async openStore(lock: LockFile, record: LockRecord): Promise<{ store: JournalStore; recovered: RecoveredState }> {
    let lastErr = '';
    for (;;) {
      if (this.stopped()) throw new QmqError('SHUTTING_DOWN', 'the broker is stopping');
      const lost = lock.lostReason(record);
      if (lost) throw new QmqError('FENCED', `lost the lock while opening the store: ${lost}`);
      const store = new JournalStore(this.opts.config, this.opts.logger.child({ component: 'journal' }), { lockHeld: true, fence: () => this.fence(record) });
      try {
        const recovered = await store.open();
        return { store, recovered };
      } catch (e) {
        if (!isIndexLocked(e)) throw e;
        const msg = errText(e);
        if (msg !== lastErr) {
          this.logger.warn({ err: msg }, 'the store is still open in another process (a paused ex-master?); retrying until it lets go');
          this.setPhase('taking-over', `holding the lock, waiting for the previous master to close the store: ${msg}`);
          lastErr = msg;
        }
        await this.sleep(this.storeRetryMs);
      }
    }
  }

  /** The journal's fence: throws FENCED once the lock is lost; checks the file itself, not a flag. */
  private fence(record: LockRecord): void {
    if (this.lostBecause === null && this.holding === record && this.lock) {
      const lost = this.lock.lostReason(record);
      if (lost) this.lose(lost);
    }
    if (this.lostBecause !== null || this.holding !== record) {
      throw new QmqError('FENCED', `this node is no longer master: ${this.lostBecause ?? 'the lock was released'}`);
    }
  }

  private checkLock(): void {
    if (this.phase !== 'master' || !this.lock || !this.holding) return;
    const lost = this.lock.lostReason(this.holding);
    if (lost) this.lose(lost);
  }

  /** Fences at once (nothing more is written), then demotes in place and waits again. */
  private lose(reason: string): void {
    this.lostBecause ??= reason;
    this.stopKeepAlive();
    if (this.phase === 'master') this.demote(this.lostBecause);
  }

  private demote(reason: string): void {
    this.stopKeepAlive();
    this.logger.error({ lockFile: this.lockFile, reason }, 'no longer holds the store lock: demoting to slave, writing nothing more');
    this.setPhase('demoting', reason);
    this.campaign = (async () => {
      try {
        await this.events!.demoted(`lost the store lock: ${reason}`);
      } catch (e) {
        this.logger.error({ err: errText(e) }, 'error while demoting');
      }
      await this.store?.close().catch(() => undefined);
      this.store = null;
      this.holding = null;
      this.releaseLock();
      if (this.stopped()) return;
      this.setPhase('waiting', `demoted (${reason}); waiting for the lock`);
      await this.campaignLoop();
    })();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private releaseLock(): void {
    this.lock?.close();
    this.lock = null;
  }

  private stopped(): boolean {
    return this.phase === 'stopped';
  }

  private setPhase(phase: Exclude<Phase, 'stopped'>, reason: string | undefined): void {
    if (this.stopped()) return;
    this.phase = phase;
    if (reason !== undefined) this.reason = reason;
    this.events?.statusChanged?.(this.status());
  }

  /** The holder named in the lock file, for status; null when nobody has written it. */
  private readHolder(): LockRecord | null {
    try {
      const lock = this.lock ?? LockFile.open(this.opts.config.directory);
      try {
        const d = lock.read();
        return d.kind === 'record' ? d.record : null;
      } finally {
        if (lock !== this.lock) lock.close();
      }
    } catch {
      return null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      void this.stopSignal.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function describeHolder(d: DecodedLock): string {
  if (d.kind === 'record') return `${d.record.nodeId} (epoch ${d.record.epoch})`;
  return d.kind === 'empty' ? 'another process (the lock file names no holder yet)' : 'another process (unreadable lock file)';
}

/** LevelDB refuses a second opener of the index while another process (or this one) has it open. */
function isIndexLocked(e: unknown): boolean {
  const text = `${(e as Error)?.message ?? ''} ${((e as Error)?.cause as Error | undefined)?.message ?? ''} ${((e as { code?: string })?.code ?? '')} ${(((e as Error)?.cause as { code?: string } | undefined)?.code ?? '')}`;
  return /LEVEL_LOCKED|lock .*LOCK/.test(text);
}

function errText(e: unknown): string {
  return e instanceof QmqError ? `${e.code} ${e.message}` : (e as Error)?.message ?? String(e);
}
