import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { JdbcPersistence } from '../../config/types.js';
import { JdbcStore } from '../../store/jdbc/jdbc-store.js';
import { databaseError, describeDatabase, isConfigError } from '../../store/jdbc/pg-errors.js';
import { tableNames } from '../../store/jdbc/schema.js';
import { QmqError, isQmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { HaEvents, HaMode, HaStatus } from '../ha-mode.js';
import { LeaseConnection } from './lease-connection.js';
import {
  leaseTimingError,
  masterDeadlineMs,
  reconnectBackoffMs,
  standbyReason,
  standbyWaitMs,
  type LeaseTiming,
  type LeaseView,
} from './lease-decisions.js';

export interface JdbcModeOptions {
  config: JdbcPersistence;
  brokerName: string;
  logger: Logger;
  /** Defaults to `<brokerName>@<host>:<pid>:<random>`, unique per process so a restarted broker never mistakes an old lease for its own. */
  holderId?: string;
}

/**
 * JDBC master/slave (DESIGN §5): PostgreSQL holds the lease and the messages. The master renews
 * its lease every lockKeepAlivePeriod; standbys retry when the lease would expire. Every
 * mastership has a new epoch, and the master's store refuses to commit once the lease row
 * carries another one, so a master that was paused or cut off can never write after its
 * successor took over. Losing the database connection demotes the master in place; it
 * reconnects with a bounded backoff and campaigns again.
 */
export class JdbcMode implements HaMode {
  readonly kind = 'jdbc';
  private readonly timing: LeaseTiming;
  private readonly holderId: string;
  private readonly lease: LeaseConnection;
  private readonly logger: Logger;
  private events: HaEvents | undefined;
  private role: HaStatus['role'] = 'standby';
  private epoch: number | undefined;
  private reason = 'starting';
  private lastView: LeaseView | undefined;
  private leaseExpiresAtMs: number | undefined;
  private lastError: string | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** The demotion in progress, awaited before campaigning again so transitions never overlap. */
  private demoting: Promise<void> = Promise.resolve();
  private connectFailures = 0;

  constructor(private readonly opts: JdbcModeOptions) {
    const c = opts.config;
    this.timing = { keepAliveMs: c.lockKeepAlivePeriodMs, leaseMs: c.lockAcquireSleepIntervalMs };
    this.holderId = opts.holderId ?? `${opts.brokerName}@${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.logger = opts.logger.child({ component: 'ha', mode: 'jdbc' });
    this.lease = new LeaseConnection({
      connectionString: c.connectionString,
      tables: tableNames(c.tablePrefix),
      timing: this.timing,
      holderId: this.holderId,
      createTablesOnStartup: c.createTablesOnStartup,
    });
  }

  /**
   * Checks the timing and reaches the database once, so a wrong password, a missing database or
   * an unreachable server is a clear startup error; afterwards campaigns in the background.
   */
  async start(events: HaEvents): Promise<void> {
    const timingError = leaseTimingError(this.timing);
    if (timingError) throw new QmqError('CONFIG_INVALID', timingError);
    this.events = events;
    try {
      await this.lease.connect((e) => this.onLeaseConnectionBroken(e));
    } catch (e) {
      throw isQmqError(e) ? e : databaseError(this.opts.config.connectionString, 'connecting', e);
    }
    this.setStatus('standby', 'connected; campaigning for the lease');
    this.loop = this.run();
  }

  status(): HaStatus {
    const s: HaStatus = {
      mode: this.kind,
      role: this.role,
      details: {
        holderId: this.holderId,
        database: describeDatabase(this.opts.config.connectionString),
        tablePrefix: this.opts.config.tablePrefix,
        lockKeepAlivePeriodMs: this.timing.keepAliveMs,
        lockAcquireSleepIntervalMs: this.timing.leaseMs,
        leaseHolder: this.role === 'master' ? this.holderId : (this.lastView?.holder ?? null),
        leaseEpoch: this.role === 'master' ? this.epoch : this.lastView?.epoch,
        leaseExpiresInMs: this.leaseExpiresAtMs === undefined ? undefined : Math.round(this.leaseExpiresAtMs - performance.now()),
        leaseExpiresAt: this.leaseExpiresAtMs === undefined ? undefined : new Date(Date.now() + (this.leaseExpiresAtMs - performance.now())).toISOString(),
        lastError: this.lastError,
      },
    };
    const epoch = this.role === 'master' ? this.epoch : this.lastView?.epoch;
    if (epoch !== undefined) s.epoch = epoch;
    if (this.role !== 'master') s.reason = this.reason;
    return s;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.demoting;
    // A graceful stop hands the lease over at once instead of letting the standby wait it out.
    const epoch = this.epoch;
    if (this.role === 'master' && epoch !== undefined && this.lease.connected) {
      await this.lease.release(epoch).catch((e) => this.logger.warn({ err: (e as Error).message }, 'could not release the lease'));
    }
    this.clearDeadline();
    this.role = 'standby';
    await this.lease.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.demoting;
        if (this.stopped) break;
        if (!this.lease.connected) await this.lease.connect((e) => this.onLeaseConnectionBroken(e));
        this.connectFailures = 0;
        if (this.role === 'master') await this.renewOnce();
        else await this.campaignOnce();
      } catch (e) {
        if (this.stopped) break;
        const err = isQmqError(e) ? e : databaseError(this.opts.config.connectionString, 'keeping the lease', e);
        this.lastError = err.message;
        if ((e as { code?: string }).code === '55P03') {
          // lock_timeout: a write transaction of the old master still holds the row; try again shortly.
          this.setStatus(this.role, 'the lease row is locked by a transaction of the previous master; retrying');
          continue;
        }
        this.loseMastership(`lost the database connection: ${err.message}`);
        await this.lease.close();
        const waitMs = reconnectBackoffMs(this.connectFailures++, this.timing);
        this.setStatus(this.role, `cannot reach the database (${err.message}); retrying in ${waitMs} ms`);
        if (isConfigError(e)) this.logger.error({ err: err.message }, 'the database refuses this broker; check the data source');
        else this.logger.warn({ err: err.message, retryInMs: waitMs }, 'lease connection failed');
        await this.sleep(waitMs);
      }
    }
  }

  private async campaignOnce(): Promise<void> {
    const r = await this.lease.tryAcquire();
    if (this.stopped) {
      if (r.acquired) await this.lease.release(r.epoch).catch(() => undefined);
      return;
    }
    if (!r.acquired) {
      this.lastView = r.view;
      this.leaseExpiresAtMs = r.view.holder === null ? undefined : performance.now() + r.view.remainingMs;
      this.setStatus('slave', standbyReason(r.view, this.holderId));
      await this.sleep(standbyWaitMs(r.view, this.timing));
      return;
    }
    const sentAtMs = performance.now();
    this.becomeMaster(r.epoch, sentAtMs, r.remainingMs);
  }

  private becomeMaster(epoch: number, sentAtMs: number, remainingMs: number): void {
    const c = this.opts.config;
    this.epoch = epoch;
    this.role = 'master';
    this.lastError = undefined;
    this.lastView = { holder: this.holderId, epoch, remainingMs };
    this.armDeadline(sentAtMs);
    const store = new JdbcStore({
      connectionString: c.connectionString,
      tablePrefix: c.tablePrefix,
      createTablesOnStartup: c.createTablesOnStartup,
      fenceEpoch: epoch,
      idleInTransactionTimeoutMs: this.timing.leaseMs,
      queryTimeoutMs: Math.max(5000, 2 * this.timing.leaseMs),
      logger: this.logger.child({ component: 'jdbc-store', epoch }),
      onLost: (err) => {
        if (this.epoch === epoch) this.loseMastership(err.codeName === 'FENCED' ? err.message : `the store lost the database: ${err.message}`);
      },
    });
    this.logger.info({ epoch, holder: this.holderId, leaseMs: this.timing.leaseMs }, 'took the lease; recovering from the tables');
    this.setStatus('master', undefined);
    // Recovery may take longer than a lease: the loop goes on renewing while the node opens the core.
    this.events!.elected(epoch, store).catch(async (e: unknown) => {
      this.logger.error({ err: (e as Error).message, epoch }, 'could not start serving as master; giving the lease up');
      this.lastError = (e as Error).message;
      await store.close().catch(() => undefined);
      if (this.role === 'master' && this.epoch === epoch) {
        this.clearDeadline();
        this.role = 'standby';
        this.leaseExpiresAtMs = undefined;
        if (this.lease.connected) await this.lease.release(epoch).catch(() => undefined);
        this.setStatus('standby', `could not serve as master: ${(e as Error).message}`);
        // Leave the lease to another broker for a while before trying again.
        const pause = new Promise<void>((r) => setTimeout(r, this.timing.leaseMs).unref());
        this.demoting = this.demoting.then(() => (this.stopped ? undefined : pause));
      }
    });
  }

  private async renewOnce(): Promise<void> {
    await this.sleep(this.timing.keepAliveMs);
    if (this.stopped || this.role !== 'master' || this.epoch === undefined) return;
    const epoch = this.epoch;
    const sentAtMs = performance.now();
    const r = await this.lease.renew(epoch);
    if (this.role !== 'master' || this.epoch !== epoch) return;
    if (r.renewed) {
      this.armDeadline(sentAtMs);
      return;
    }
    this.lastView = r.view;
    this.loseMastership(`lost the lease: it now carries epoch ${r.view.epoch}, held by ${r.view.holder ?? 'nobody'}`);
  }

  private armDeadline(sentAtMs: number): void {
    this.clearDeadline();
    const deadline = masterDeadlineMs(sentAtMs, this.timing);
    this.leaseExpiresAtMs = deadline;
    const epoch = this.epoch;
    this.deadlineTimer = setTimeout(() => {
      if (this.epoch === epoch) this.loseMastership(`the lease was not renewed within lockAcquireSleepInterval (${this.timing.leaseMs} ms)`);
    }, Math.max(0, deadline - performance.now()));
    this.deadlineTimer.unref();
  }

  private clearDeadline(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  private onLeaseConnectionBroken(e: Error): void {
    if (this.stopped) return;
    this.lastError = e.message;
    this.loseMastership(`lost the lease connection: ${e.message}`);
    this.wake?.();
  }

  /** Demotes in place (the node closes its ports and the core); campaigning continues. */
  private loseMastership(reason: string): void {
    if (this.role !== 'master') return;
    this.clearDeadline();
    this.role = 'standby';
    this.leaseExpiresAtMs = undefined;
    this.logger.warn({ epoch: this.epoch, reason }, 'demoted');
    this.setStatus('standby', reason);
    const events = this.events!;
    const previous = this.demoting;
    this.demoting = previous.then(() => events.demoted(reason)).catch((e) => this.logger.warn({ err: (e as Error).message }, 'demotion failed'));
    this.wake?.();
  }

  private setStatus(role: HaStatus['role'], reason: string | undefined): void {
    // Countdowns change on every poll; only a new role or a new kind of reason is news.
    const kind = (x: string | undefined) => x?.replace(/\d+ ms/g, 'N ms');
    const changed = role !== this.role || kind(reason) !== kind(this.reason);
    this.role = role;
    if (reason !== undefined) this.reason = reason;
    if (changed) this.events?.statusChanged?.(this.status());
  }

  /** Waits, but returns at once when woken (stop, or the connection broke). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
