/**
 * The lease and the epoch fence against a real PostgreSQL, in process: two JdbcModes on one
 * database with recording events in place of the node. (Real broker processes: jdbc-failover.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { defaultJdbc } from '../../src/config/defaults.js';
import type { JdbcPersistence } from '../../src/config/types.js';
import { JdbcMode } from '../../src/ha/db-lease/jdbc-mode.js';
import type { HaEvents } from '../../src/ha/ha-mode.js';
import type { MessageStore } from '../../src/store/message-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { testPostgres, type TestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

let server: TestPostgres;
before(async () => {
  server = await testPostgres();
});
after(async () => {
  await server?.stop();
});

function config(url: string, over: Partial<JdbcPersistence> = {}): JdbcPersistence {
  return { ...defaultJdbc(url), lockKeepAlivePeriodMs: 200, lockAcquireSleepIntervalMs: 800, ...over };
}

interface Recorder {
  events: HaEvents;
  log: string[];
  store: MessageStore | undefined;
  epoch: number | undefined;
}

/** Every recorder made, so `after` can close the stores a failed test left open (their pools keep the process alive). */
const recorders: Recorder[] = [];

function recorder(): Recorder {
  const r: Recorder = {
    log: [],
    store: undefined,
    epoch: undefined,
    events: {
      async elected(epoch, store) {
        await store.open();
        r.store = store;
        r.epoch = epoch;
        r.log.push(`elected ${epoch}`);
      },
      async demoted(reason) {
        r.log.push(`demoted ${reason}`);
        const s = r.store;
        r.store = undefined;
        await s?.close();
      },
    },
  };
  recorders.push(r);
  return r;
}

const add = (seq: number) => ({
  type: 'add' as const,
  queue: 'queue://q',
  seq,
  message: { id: `m${seq}`, destination: { kind: 'queue' as const, name: 'q' }, headers: {}, body: Buffer.from(`b${seq}`), bodyIsBytes: false, persistent: true, priority: 4, expires: 0, timestamp: 1, redeliveryCount: 0 },
});

describe('JDBC lease', () => {
  const modes: JdbcMode[] = [];
  after(async () => {
    await Promise.all(recorders.map((r) => r.store?.close().catch(() => undefined)));
    await Promise.all(modes.map((m) => m.stop().catch(() => undefined)));
  });
  function mode(url: string, name: string, over: Partial<JdbcPersistence> = {}): JdbcMode {
    const m = new JdbcMode({ config: config(url, over), brokerName: name, logger: silentLogger, holderId: name });
    modes.push(m);
    return m;
  }

  it('one master among two; the other is slave, names the holder; a graceful stop hands over with a higher epoch', async () => {
    const url = await server.freshDatabase('lease');
    // a's lease lasts far longer than the wait for b below, while b retries every 800 ms: b can
    // only be elected in time through a's release, not through its expiry.
    const a = mode(url, 'a', { lockAcquireSleepIntervalMs: 20_000 });
    const b = mode(url, 'b');
    const ra = recorder();
    const rb = recorder();
    await a.start(ra.events);
    await waitFor('a elected', () => ra.epoch !== undefined);
    await b.start(rb.events);
    await waitFor('b slave', () => b.status().role === 'slave');
    assert.equal(a.status().role, 'master');
    assert.equal(a.status().epoch, 1);
    assert.match(b.status().reason!, /waiting for the lease held by a \(epoch 1, expires in \d+ ms\)/);
    assert.equal(b.status().details!.leaseHolder, 'a');
    assert.equal(typeof a.status().details!.leaseExpiresAt, 'string');
    // Several renewals later (each moves the expiry on) a is still master and b still waits.
    const expiry = () => String(a.status().details!.leaseExpiresAt);
    for (let renewals = 0; renewals < 3; renewals++) {
      const before = expiry();
      await waitFor(`renewal ${renewals + 1}`, () => expiry() !== before, 5000);
    }
    assert.deepEqual(ra.log, ['elected 1']);
    assert.deepEqual(rb.log, []);
    await ra.store!.write([add(1)]);
    // As the node does on a graceful stop: close the core's store, then give the lease up.
    await ra.store!.close();
    await a.stop();
    await waitFor('b elected on the released lease, long before it would expire', () => rb.epoch !== undefined, 5000);
    assert.equal(rb.epoch, 2);
    assert.equal((await rb.store!.read('queue://q', 0, 10)).length, 1, 'the new master recovers from the tables');
    await rb.store!.close();
    await b.stop();
  });

  it('a lease that is taken over fences the old store: its writes fail with FENCED and leave nothing behind', async () => {
    const url = await server.freshDatabase('fence');
    const a = mode(url, 'a', { lockKeepAlivePeriodMs: 5000, lockAcquireSleepIntervalMs: 20_000 });
    const ra = recorder();
    await a.start(ra.events);
    await waitFor('a elected', () => ra.epoch !== undefined);
    const store = ra.store!;
    await store.write([add(1)]);
    // Another broker takes the lease over behind a's back (as after a pause past the lease).
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`UPDATE ACTIVEMQ_LOCK SET BROKER_NAME = 'intruder', EPOCH = EPOCH + 1, TIME = (extract(epoch from now()) * 1000)::bigint + 60000`);
    await assert.rejects(store.write([add(2)]), (e: unknown) => (e as { codeName?: string }).codeName === 'FENCED' && /epoch 1.*epoch 2 held by intruder/.test((e as Error).message));
    // The fenced store demoted the mode in place.
    await waitFor('a demoted', () => ra.log.some((l) => l.startsWith('demoted')) && a.status().role !== 'master');
    const rows = await c.query(`SELECT SEQ FROM ACTIVEMQ_MSGS ORDER BY SEQ`);
    assert.deepEqual(rows.rows.map((r) => Number(r.seq)), [1]);
    await c.end();
    await waitFor('a slave', () => a.status().role === 'slave');
    assert.match(a.status().reason!, /held by intruder \(epoch 2/);
    await a.stop();
  });

  it('a write transaction in flight when the lease is taken over either commits first or is refused', async () => {
    const url = await server.freshDatabase('race');
    const a = mode(url, 'a', { lockKeepAlivePeriodMs: 5000, lockAcquireSleepIntervalMs: 20_000 });
    const ra = recorder();
    await a.start(ra.events);
    await waitFor('a elected', () => ra.epoch !== undefined);
    const store = ra.store!;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    // Four writers keep committing until well after the takeover.
    let seq = 0;
    let stop = false;
    const outcome: number[] = [];
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const s = ++seq;
        const r = await store.write([add(s)]).then(() => s, () => -s);
        outcome.push(r);
        // A fenced store refuses at once; yield so the timers of this test still run.
        if (r < 0) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await waitFor('some writes to commit', () => outcome.length >= 20);
    await c.query(`UPDATE ACTIVEMQ_LOCK SET BROKER_NAME = 'next', EPOCH = EPOCH + 1, TIME = (extract(epoch from now()) * 1000)::bigint + 60000`);
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await Promise.all(writers);
    outcome.sort((a, b) => Math.abs(a) - Math.abs(b));
    const acked = outcome.filter((x) => x > 0);
    const stored = (await c.query(`SELECT SEQ FROM ACTIVEMQ_MSGS ORDER BY SEQ`)).rows.map((r) => Number(r.seq));
    // Exactly the acknowledged writes are stored: nothing refused slipped in, nothing acked is missing.
    assert.deepEqual(stored, acked);
    assert.ok(acked.length >= 20, 'writes before the takeover were acknowledged');
    assert.ok(outcome.some((x) => x < 0), 'some writes came after the takeover and were refused');
    await c.end();
    await a.stop();
  });

  it('a keep-alive that lets the lease lapse is a startup error', async () => {
    const url = await server.freshDatabase('timing');
    const m = mode(url, 'x', { lockKeepAlivePeriodMs: 10_000, lockAcquireSleepIntervalMs: 5000 });
    await assert.rejects(m.start(recorder().events), /lockKeepAlivePeriod \(10000 ms\) must be shorter than lockAcquireSleepInterval \(5000 ms/);
  });

  it('a wrong password, a missing database and an unreachable server are clear startup errors', async () => {
    const u = new URL(server.url);
    const user = `qmq_u_${Date.now() % 100000}`;
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await c.query(`CREATE ROLE ${user} LOGIN PASSWORD 'right'`);
    await c.end();
    const wrong = `postgres://${user}:wrong@127.0.0.1:${u.port}/postgres`;
    await assert.rejects(mode(wrong, 'w').start(recorder().events), (e: unknown) => {
      assert.equal((e as { codeName?: string }).codeName, 'CONFIG_INVALID');
      assert.match((e as Error).message, new RegExp(`PostgreSQL at ${user}@127.0.0.1:${u.port}/postgres: wrong password \\(28P01`));
      assert.doesNotMatch((e as Error).message, /wrong@/, 'the password is not echoed');
      return true;
    });
    const missing = `postgres://postgres@127.0.0.1:${u.port}/no_such_db_here`;
    await assert.rejects(mode(missing, 'm').start(recorder().events), /the database does not exist \(3D000/);
    const unreachable = 'postgres://postgres@127.0.0.1:1/x';
    await assert.rejects(mode(unreachable, 'u').start(recorder().events), /cannot reach PostgreSQL at postgres@127.0.0.1:1\/x while connecting for the lease: ECONNREFUSED/);
  });
});
