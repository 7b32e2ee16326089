import type pg from 'pg';
import { QmqError } from '../../util/errors.js';

/**
 * The tables, modelled on ActiveMQ's JDBC store (`Statements.java`): ACTIVEMQ_MSGS holds one row
 * per stored message, ACTIVEMQ_ACKS the durable subscriptions, ACTIVEMQ_LOCK the lease. Where
 * ActiveMQ keys messages by a global id, a row here is keyed by (store queue, seq), the unit
 * of the MessageStore contract; EPOCH records which mastership wrote it. The QMQ_* tables hold
 * what ActiveMQ keeps elsewhere or not at all: destinations, the highest seq ever used per
 * store queue, producer high-water marks and committed transaction ids.
 */
export interface TableNames {
  msgs: string;
  acks: string;
  lock: string;
  destinations: string;
  queues: string;
  producers: string;
  transactions: string;
}

export function tableNames(prefix: string): TableNames {
  // The config schema allows only [A-Za-z0-9_], so the prefix is safe to splice into SQL.
  if (!/^[A-Za-z0-9_]*$/.test(prefix)) throw new QmqError('CONFIG_INVALID', `tablePrefix "${prefix}" may hold only letters, digits and "_"`);
  return {
    msgs: `${prefix}ACTIVEMQ_MSGS`,
    acks: `${prefix}ACTIVEMQ_ACKS`,
    lock: `${prefix}ACTIVEMQ_LOCK`,
    destinations: `${prefix}QMQ_DESTINATIONS`,
    queues: `${prefix}QMQ_QUEUES`,
    producers: `${prefix}QMQ_PRODUCERS`,
    transactions: `${prefix}QMQ_TRANSACTIONS`,
  };
}

function ddl(t: TableNames): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.msgs} (
       CONTAINER TEXT NOT NULL, SEQ BIGINT NOT NULL,
       MSGID_PROD TEXT, MSGID_SEQ BIGINT, EXPIRATION BIGINT NOT NULL, PRIORITY INT NOT NULL,
       EPOCH BIGINT NOT NULL, MSG BYTEA NOT NULL,
       PRIMARY KEY (CONTAINER, SEQ))`,
    `CREATE TABLE IF NOT EXISTS ${t.acks} (
       CLIENT_ID TEXT NOT NULL, SUB_NAME TEXT NOT NULL, CONTAINER TEXT NOT NULL,
       SUB_DEST TEXT NOT NULL, SELECTOR TEXT, NO_LOCAL BOOLEAN,
       PRIMARY KEY (CLIENT_ID, SUB_NAME))`,
    // TIME is the lease expiry in ms on the database's clock, as in ActiveMQ's LeaseDatabaseLocker.
    `CREATE TABLE IF NOT EXISTS ${t.lock} (
       ID BIGINT NOT NULL PRIMARY KEY, TIME BIGINT NOT NULL DEFAULT 0, BROKER_NAME TEXT,
       EPOCH BIGINT NOT NULL DEFAULT 0, ACQUIRED_AT TIMESTAMPTZ)`,
    `INSERT INTO ${t.lock} (ID, TIME, EPOCH) VALUES (1, 0, 0) ON CONFLICT (ID) DO NOTHING`,
    `CREATE TABLE IF NOT EXISTS ${t.destinations} (DEST TEXT NOT NULL PRIMARY KEY)`,
    `CREATE TABLE IF NOT EXISTS ${t.queues} (CONTAINER TEXT NOT NULL PRIMARY KEY, LAST_SEQ BIGINT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.producers} (
       PRODUCER_ID TEXT NOT NULL PRIMARY KEY, SEQ BIGINT NOT NULL, TOUCHED TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
    `CREATE INDEX IF NOT EXISTS ${t.producers}_TIDX ON ${t.producers} (TOUCHED)`,
    `CREATE TABLE IF NOT EXISTS ${t.transactions} (TX_ID TEXT NOT NULL PRIMARY KEY, COMMITTED_AT TIMESTAMPTZ NOT NULL DEFAULT now())`,
  ];
}

/** Creates what is missing. Brokers starting together serialise on an advisory lock, since concurrent CREATE TABLE IF NOT EXISTS can still collide. */
export async function createTables(client: pg.ClientBase, t: TableNames): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`quorummq-schema:${t.lock}`]);
    for (const stmt of ddl(t)) await client.query(stmt);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** With createTablesOnStartup="false": the tables must exist already; names the missing ones. */
export async function checkTables(client: pg.ClientBase, t: TableNames): Promise<void> {
  const wanted = Object.values(t).map((n) => n.toLowerCase());
  const r = await client.query<{ name: string }>(`SELECT c.relname AS name FROM pg_class c WHERE c.relname = ANY($1) AND c.relkind = 'r' AND pg_table_is_visible(c.oid)`, [wanted]);
  const found = new Set(r.rows.map((x) => x.name));
  const missing = wanted.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new QmqError(
      'CONFIG_INVALID',
      `the JDBC store's tables are missing (${missing.join(', ')}) and createTablesOnStartup="false"; create them or set createTablesOnStartup="true"`,
    );
  }
  const lock = await client.query(`SELECT 1 FROM ${t.lock} WHERE ID = 1`);
  if (lock.rowCount === 0) await client.query(`INSERT INTO ${t.lock} (ID, TIME, EPOCH) VALUES (1, 0, 0) ON CONFLICT (ID) DO NOTHING`);
}

/** The schema as used by `ensureSchema`: created when allowed, else checked. */
export async function ensureSchema(client: pg.ClientBase, t: TableNames, createTablesOnStartup: boolean): Promise<void> {
  if (createTablesOnStartup) await createTables(client, t);
  else await checkTables(client, t);
}
