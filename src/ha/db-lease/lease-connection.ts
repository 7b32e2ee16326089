import pg from 'pg';
import { ensureSchema, type TableNames } from '../../store/jdbc/schema.js';
import { databaseError } from '../../store/jdbc/pg-errors.js';
import { isQmqError } from '../../util/errors.js';
import type { LeaseTiming, LeaseView } from './lease-decisions.js';

/** Milliseconds since 1970 on the database's clock: the lease never uses a broker's clock. */
const DB_NOW_MS = `(extract(epoch from now()) * 1000)::bigint`;

export type AcquireResult = { acquired: true; epoch: number; remainingMs: number } | { acquired: false; view: LeaseView };
export type RenewResult = { renewed: true; remainingMs: number } | { renewed: false; view: LeaseView };

/**
 * The lease row in ACTIVEMQ_LOCK (ID = 1), on a connection of its own: holder (BROKER_NAME),
 * expiry (TIME, ms on the database's clock) and EPOCH. Taking the lease over raises the epoch
 * in the same UPDATE, and that UPDATE conflicts with the FOR SHARE every store write takes on
 * the row, which is what fences the previous master (see JdbcStore).
 */
export class LeaseConnection {
  private client: pg.Client | undefined;
  private broken: ((err: Error) => void) | undefined;

  constructor(
    private readonly opts: {
      connectionString: string;
      tables: TableNames;
      timing: LeaseTiming;
      holderId: string;
      createTablesOnStartup: boolean;
    },
  ) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Connects and makes sure the tables and the lease row exist. `onBroken` fires once if the connection dies later. */
  async connect(onBroken: (err: Error) => void): Promise<void> {
    const { leaseMs } = this.opts.timing;
    const c = new pg.Client({
      connectionString: this.opts.connectionString,
      keepAlive: true,
      connectionTimeoutMillis: Math.max(1000, leaseMs),
      // A renewal that takes longer than the lease is worthless: fail it and reconnect.
      query_timeout: Math.max(1000, leaseMs),
      application_name: `quorummq-lease`,
    });
    let reported = false;
    const report = (e: Error) => {
      if (reported) return;
      reported = true;
      if (this.client === c) this.client = undefined;
      this.broken?.(e);
    };
    c.on('error', report);
    c.on('end', () => report(new Error('the lease connection was closed')));
    try {
      await c.connect();
      // A takeover may wait behind a write transaction's FOR SHARE; never longer than a lease.
      await c.query(`SET lock_timeout = ${Math.max(100, Math.round(leaseMs))}`);
      await ensureSchema(c, this.opts.tables, this.opts.createTablesOnStartup);
    } catch (e) {
      reported = true;
      await c.end().catch(() => undefined);
      throw isQmqError(e) ? e : databaseError(this.opts.connectionString, 'connecting for the lease', e);
    }
    this.broken = onBroken;
    this.client = c;
  }

  /**
   * Takes the lease if it is free, expired, or already ours (a master that lost its connection
   * re-takes it at once after reconnecting; the new epoch fences whatever its old store had in
   * flight). ActiveMQ's LeaseDatabaseLocker acquires with the same WHERE, minus the epoch.
   */
  async tryAcquire(): Promise<AcquireResult> {
    const c = this.require();
    const t = this.opts.tables;
    const r = await c.query<{ epoch: string; remaining: string }>(
      `UPDATE ${t.lock} SET BROKER_NAME = $1, EPOCH = EPOCH + 1, TIME = ${DB_NOW_MS} + $2, ACQUIRED_AT = now()
        WHERE ID = 1 AND (BROKER_NAME IS NULL OR BROKER_NAME = $1 OR TIME < ${DB_NOW_MS})
        RETURNING EPOCH AS epoch, TIME - ${DB_NOW_MS} AS remaining`,
      [this.opts.holderId, this.opts.timing.leaseMs],
    );
    if (r.rows.length === 1) return { acquired: true, epoch: Number(r.rows[0].epoch), remainingMs: Number(r.rows[0].remaining) };
    return { acquired: false, view: await this.view() };
  }

  /** Extends our lease by a full lease length from the database's now; fails if the epoch moved on. */
  async renew(epoch: number): Promise<RenewResult> {
    const c = this.require();
    const t = this.opts.tables;
    const r = await c.query<{ remaining: string }>(
      `UPDATE ${t.lock} SET TIME = ${DB_NOW_MS} + $3 WHERE ID = 1 AND BROKER_NAME = $1 AND EPOCH = $2 RETURNING TIME - ${DB_NOW_MS} AS remaining`,
      [this.opts.holderId, epoch, this.opts.timing.leaseMs],
    );
    if (r.rows.length === 1) return { renewed: true, remainingMs: Number(r.rows[0].remaining) };
    return { renewed: false, view: await this.view() };
  }

  /** Gives the lease up (graceful stop), so a standby takes over without waiting for expiry. */
  async release(epoch: number): Promise<void> {
    const c = this.require();
    await c.query(`UPDATE ${this.opts.tables.lock} SET BROKER_NAME = NULL, TIME = 0 WHERE ID = 1 AND BROKER_NAME = $1 AND EPOCH = $2`, [
      this.opts.holderId,
      epoch,
    ]);
  }

  async view(): Promise<LeaseView> {
    const c = this.require();
    const r = await c.query<{ holder: string | null; epoch: string; remaining: string }>(
      `SELECT BROKER_NAME AS holder, EPOCH AS epoch, TIME - ${DB_NOW_MS} AS remaining FROM ${this.opts.tables.lock} WHERE ID = 1`,
    );
    const row = r.rows[0];
    if (!row) return { holder: null, epoch: 0, remainingMs: 0 };
    return { holder: row.holder, epoch: Number(row.epoch), remainingMs: Number(row.remaining) };
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.broken = undefined;
    if (c) {
      await Promise.race([c.end().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
  }

  private require(): pg.Client {
    if (!this.client) throw new Error('the lease connection is not open');
    return this.client;
  }
}
