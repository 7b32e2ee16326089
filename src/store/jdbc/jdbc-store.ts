import pg from 'pg';
import { parseDestinationKey } from '../../broker/message.js';
import { QmqError, isQmqError } from '../../util/errors.js';
import { silentLogger, type Logger } from '../../util/logger.js';
import type { DurableSubscriptionRecord, MessageStore, RecoveredState, StoredMessage, StoreOp, StoreStats } from '../message-store.js';
import { decodeMessage } from './message-codec.js';
import { databaseError, isConnectionError } from './pg-errors.js';
import { ensureSchema, tableNames, type TableNames } from './schema.js';
import { writeStatements } from './write-statements.js';

/** Most recent producers whose high-water mark is loaded on open (as the other stores do). */
const PRODUCER_WINDOW = 10_000;

export interface JdbcStoreOptions {
  connectionString: string;
  tablePrefix: string;
  createTablesOnStartup: boolean;
  /**
   * The mastership this store writes for. When set, every write transaction first reads the
   * lock row FOR SHARE and aborts unless it still carries this epoch (DESIGN §5): the database
   * decides, so a paused or partitioned ex-master can never commit. Unset = unfenced (a store
   * used without HA, and tests).
   */
  fenceEpoch?: number;
  /** Called once when the store can no longer write for its epoch (fenced, or its connection lost). */
  onLost?(err: QmqError): void;
  /**
   * PostgreSQL ends a transaction idle for longer than this, so a frozen process cannot keep the
   * lock row share-locked and block the next master's takeover (`idle_in_transaction_session_timeout`).
   */
  idleInTransactionTimeoutMs?: number;
  /** Bound on any single statement's round trip; a hung database then fails writes instead of stalling them. */
  queryTimeoutMs?: number;
  readPoolSize?: number;
  /** Most ops one group-commit transaction takes. */
  maxGroupOps?: number;
  logger?: Logger;
}

interface PendingWrite {
  ops: StoreOp[];
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * A MessageStore in PostgreSQL tables (see schema.ts). Writes go through one connection, one
 * transaction per group: every write() that arrives while a transaction is in flight joins the
 * next one, so many sends share a commit (and its fsync), as in the journal. Reads use a small
 * pool. Writes are applied in call order because a single writer commits the groups in turn.
 */
export class JdbcStore implements MessageStore {
  readonly kind = 'jdbc';
  private readonly t: TableNames;
  private readonly logger: Logger;
  private writer: pg.Client | undefined;
  private pool: pg.Pool | undefined;
  private pending: PendingWrite[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  /** Set once fenced or cut off: every later write fails with it. */
  private lost: QmqError | undefined;

  constructor(private readonly opts: JdbcStoreOptions) {
    this.t = tableNames(opts.tablePrefix);
    this.logger = opts.logger ?? silentLogger;
  }

  get tables(): TableNames {
    return this.t;
  }

  async open(): Promise<RecoveredState> {
    this.assertOpen();
    const writer = await this.connectWriter();
    this.pool ??= new pg.Pool({
      connectionString: this.opts.connectionString,
      max: this.opts.readPoolSize ?? 4,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      query_timeout: this.opts.queryTimeoutMs ?? 30_000,
      application_name: 'quorummq-store-read',
    });
    // An idle pooled connection that the server dropped emits 'error' on the pool; the next checkout replaces it.
    this.pool.on('error', (e) => this.logger.warn({ err: e.message }, 'idle PostgreSQL connection lost'));
    try {
      await ensureSchema(writer, this.t, this.opts.createTablesOnStartup);
      return await this.recover(writer);
    } catch (e) {
      throw isQmqError(e) ? e : databaseError(this.opts.connectionString, 'recovering the store', e);
    }
  }

  write(ops: StoreOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new QmqError('STORE_CLOSED', 'the JDBC store is closed'));
    if (this.lost) return Promise.reject(this.lost);
    if (ops.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  async read(queue: string, fromSeq: number, maxCount: number): Promise<StoredMessage[]> {
    this.assertOpen();
    if (maxCount <= 0) return [];
    const pool = this.requirePool();
    // Fenced: a stale master reads nothing, so it cannot hand out what the new master owns.
    const fence = this.opts.fenceEpoch === undefined ? '' : ` AND EXISTS (SELECT 1 FROM ${this.t.lock} WHERE ID = 1 AND EPOCH = $4)`;
    const values: unknown[] = [queue, fromSeq, maxCount];
    if (this.opts.fenceEpoch !== undefined) values.push(this.opts.fenceEpoch);
    try {
      const r = await pool.query<{ seq: string; msg: Buffer }>(
        `SELECT SEQ AS seq, MSG AS msg FROM ${this.t.msgs} WHERE CONTAINER = $1 AND SEQ >= $2${fence} ORDER BY SEQ LIMIT $3`,
        values,
      );
      return r.rows.map((row) => ({ queue, seq: Number(row.seq), message: decodeMessage(row.msg) }));
    } catch (e) {
      throw databaseError(this.opts.connectionString, `reading ${queue}`, e);
    }
  }

  async isTransactionCommitted(txId: string): Promise<boolean> {
    this.assertOpen();
    try {
      const r = await this.requirePool().query(`SELECT 1 FROM ${this.t.transactions} WHERE TX_ID = $1`, [txId]);
      return (r.rowCount ?? 0) > 0;
    } catch (e) {
      throw databaseError(this.opts.connectionString, 'looking up a transaction', e);
    }
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    try {
      const r = await this.requirePool().query<{ n: string; size: string }>(
        `SELECT (SELECT count(*) FROM ${this.t.msgs}) AS n, pg_total_relation_size('${this.t.msgs.toLowerCase()}') AS size`,
      );
      return { messages: Number(r.rows[0].n), sizeBytes: Number(r.rows[0].size) };
    } catch (e) {
      throw databaseError(this.opts.connectionString, 'reading store statistics', e);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Writes already accepted finish (or fail) first, so none is left without an answer.
    while (this.writing) await this.writing;
    this.closed = true;
    const writer = this.writer;
    const pool = this.pool;
    this.writer = undefined;
    this.pool = undefined;
    // A database that went away must not hold the node's shutdown: bounded waits.
    await Promise.all([writer && bounded(writer.end(), 2000), pool && bounded(pool.end(), 2000)]);
  }

  private assertOpen(): void {
    if (this.closed) throw new QmqError('STORE_CLOSED', 'the JDBC store is closed');
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new QmqError('STORE_CLOSED', 'the JDBC store is not open');
    return this.pool;
  }

  private async connectWriter(): Promise<pg.Client> {
    if (this.writer) return this.writer;
    const c = new pg.Client({
      connectionString: this.opts.connectionString,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      query_timeout: this.opts.queryTimeoutMs ?? 30_000,
      application_name: 'quorummq-store-write',
    });
    // Without a listener a lost connection would crash the process; the failing query reports it.
    c.on('error', (e) => this.logger.warn({ err: e.message }, 'store write connection lost'));
    try {
      await c.connect();
      const idleMs = this.opts.idleInTransactionTimeoutMs;
      if (idleMs !== undefined) await c.query(`SET idle_in_transaction_session_timeout = ${Math.max(1, Math.round(idleMs))}`);
    } catch (e) {
      await bounded(c.end(), 1000);
      throw databaseError(this.opts.connectionString, 'connecting', e);
    }
    this.writer = c;
    return c;
  }

  private async recover(c: pg.Client): Promise<RecoveredState> {
    const t = this.t;
    const dests = await c.query<{ dest: string }>(`SELECT DEST AS dest FROM ${t.destinations}`);
    const subs = await c.query<{ client_id: string; sub_name: string; sub_dest: string; selector: string | null; no_local: boolean | null }>(
      `SELECT CLIENT_ID AS client_id, SUB_NAME AS sub_name, SUB_DEST AS sub_dest, SELECTOR AS selector, NO_LOCAL AS no_local FROM ${t.acks}`,
    );
    const queues = await c.query<{ container: string; last_seq: string; n: string }>(
      `SELECT q.CONTAINER AS container, q.LAST_SEQ AS last_seq, count(m.SEQ) AS n
         FROM ${t.queues} q LEFT JOIN ${t.msgs} m ON m.CONTAINER = q.CONTAINER
        GROUP BY q.CONTAINER, q.LAST_SEQ`,
    );
    const producers = await c.query<{ producer_id: string; seq: string }>(
      `SELECT PRODUCER_ID AS producer_id, SEQ AS seq FROM ${t.producers} ORDER BY TOUCHED DESC LIMIT ${PRODUCER_WINDOW}`,
    );
    if (producers.rows.length === PRODUCER_WINDOW) {
      // Marks older than the window would never be loaded again; dropping them bounds the table.
      await c.query(`DELETE FROM ${t.producers} WHERE TOUCHED < (SELECT min(TOUCHED) FROM (SELECT TOUCHED FROM ${t.producers} ORDER BY TOUCHED DESC LIMIT ${PRODUCER_WINDOW}) w)`);
    }
    return {
      destinations: dests.rows.map((r) => parseDestinationKey(r.dest)),
      subscriptions: subs.rows.map((r) => {
        const s: DurableSubscriptionRecord = { clientId: r.client_id, name: r.sub_name, destination: parseDestinationKey(r.sub_dest) };
        if (r.selector !== null) s.selector = r.selector;
        if (r.no_local !== null) s.noLocal = r.no_local;
        return s;
      }),
      queues: queues.rows.map((r) => ({ queue: r.container, count: Number(r.n), lastSeq: Number(r.last_seq) })),
      // Oldest first, so the map's insertion order matches recency as the broker expects.
      producerSeqs: new Map(producers.rows.reverse().map((r) => [r.producer_id, Number(r.seq)])),
    };
  }

  /** Commits pending writes group by group until none is left. */
  private async drain(): Promise<void> {
    const maxOps = this.opts.maxGroupOps ?? 4000;
    try {
      // Writers woken by the previous commit send their next write in the same turn of the event
      // loop; waiting for that turn to end lets them share one transaction instead of the first
      // one going alone.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.pending.length > 0) {
        const group: PendingWrite[] = [];
        let n = 0;
        while (this.pending.length > 0 && (group.length === 0 || n + this.pending[0].ops.length <= maxOps)) {
          const w = this.pending.shift()!;
          group.push(w);
          n += w.ops.length;
        }
        try {
          if (this.lost) throw this.lost;
          await this.commitGroup(group.flatMap((w) => w.ops));
          for (const w of group) w.resolve();
        } catch (e) {
          for (const w of group) w.reject(e);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async commitGroup(ops: StoreOp[]): Promise<void> {
    const c = await this.connectWriter();
    const epoch = this.opts.fenceEpoch;
    let began = false;
    try {
      if (epoch === undefined) {
        await c.query('BEGIN');
        began = true;
      } else {
        // BEGIN and the epoch check share one round trip. FOR SHARE conflicts with the UPDATE
        // that takes the lease over, so either this transaction commits before the new epoch
        // is written (and the new master recovers it), or it sees the new epoch and aborts.
        const [, check] = (await c.query(`BEGIN; SELECT EPOCH AS epoch, BROKER_NAME AS holder FROM ${this.t.lock} WHERE ID = 1 FOR SHARE`)) as unknown as pg.QueryResult<{
          epoch: string;
          holder: string | null;
        }>[];
        began = true;
        const row = check.rows[0];
        if (row === undefined || Number(row.epoch) !== epoch) {
          throw new QmqError(
            'FENCED',
            `write refused: this node's mastership (epoch ${epoch}) is over; the lease now carries epoch ${row ? row.epoch : '(none)'} held by ${row?.holder ?? 'nobody'}`,
          );
        }
      }
      for (const s of writeStatements(this.t, ops, epoch ?? 0)) await c.query(s.text, s.values);
      await c.query('COMMIT');
    } catch (e) {
      const err = isQmqError(e) ? e : databaseError(this.opts.connectionString, 'writing a batch', e);
      if (began && !isConnectionError(e)) await c.query('ROLLBACK').catch(() => undefined);
      if (isConnectionError(e) || err.codeName === 'STORE_IO') {
        // The connection may be unusable (or the COMMIT's outcome unknown): start afresh next time.
        this.writer = undefined;
        void bounded(c.end(), 1000);
      }
      if (epoch !== undefined && (err.codeName === 'FENCED' || isConnectionError(e))) this.markLost(err);
      throw err;
    }
  }

  private markLost(err: QmqError): void {
    if (this.lost) return;
    this.lost = err;
    this.logger.warn({ err: err.message, epoch: this.opts.fenceEpoch }, 'JDBC store can no longer write for its epoch');
    this.opts.onLost?.(err);
  }
}

function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
