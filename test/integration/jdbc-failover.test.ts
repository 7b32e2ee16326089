/**
 * JDBC master/slave with real broker processes on one real PostgreSQL database: one master, a
 * kill -9 under load, a master frozen past its lease (SIGSTOP) and woken again, a database
 * restart mid-load, and startup errors. The cluster is private to this file because one test
 * restarts it; each test has a database of its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type StompClient } from '../../src/client/index.js';
import { cleanupTemp, runCli, tempDir } from '../helpers/broker-process.js';
import { JdbcNode, jdbcXml, startJdbcGroup, type JdbcGroup } from '../helpers/jdbc-group.js';
import { freePort } from '../helpers/ports.js';
import { privatePostgres, type PostgresCluster } from '../helpers/postgres.js';
import { RawStomp, header } from '../helpers/raw-stomp.js';
import { waitFor } from '../helpers/wait.js';
import { drainQueue, lostAndDuplicated } from '../helpers/drain.js';

const LEASE_MS = 1500;
const KEEPALIVE_MS = 300;

let pg: PostgresCluster & { freshDatabase(label?: string): Promise<string> };
const groups: JdbcGroup[] = [];
const nodes: JdbcNode[] = [];
const clients: StompClient[] = [];

before(async () => {
  pg = await privatePostgres();
});
after(async () => {
  if (process.env.QMQ_JDBC_DUMP) {
    for (const g of groups) for (const n of g.nodes) writeFileSync(path.join(process.env.QMQ_JDBC_DUMP, `${path.basename(n.dir)}-${n.name}.log`), n.output());
  }
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await Promise.all(groups.map((g) => g.stopAll()));
  await Promise.all(nodes.map((n) => n.kill()));
  await pg?.stop();
  cleanupTemp();
});

async function group(label: string): Promise<JdbcGroup> {
  const g = await startJdbcGroup({ databaseUrl: await pg.freshDatabase(label), lockKeepAlivePeriodMs: KEEPALIVE_MS, lockAcquireSleepIntervalMs: LEASE_MS });
  groups.push(g);
  return g;
}

async function client(url: string): Promise<StompClient> {
  const c = await connect(url);
  clients.push(c);
  return c;
}

/** `count` failover producers sending persistent messages with receipts, at most 16 in flight each. */
function produce(url: string, destination: string, producers: number, perProducer: number) {
  const acked = new Set<string>();
  const failures: string[] = [];
  const done = (async () => {
    const cs = await Promise.all(Array.from({ length: producers }, () => client(url)));
    await Promise.all(
      cs.map(async (c, i) => {
        const inflight = new Set<Promise<void>>();
        for (let n = 0; n < perProducer; n++) {
          const body = `p${i}-${n}`;
          const s: Promise<void> = c.send(destination, body, { persistent: 'true' }).then(
            () => {
              acked.add(body);
              inflight.delete(s);
            },
            (e: unknown) => {
              failures.push(`${body}: ${(e as Error).message}`);
              inflight.delete(s);
            },
          );
          inflight.add(s);
          if (inflight.size >= 16) await Promise.race(inflight);
        }
        await Promise.all(inflight);
        await c.close();
      }),
    );
  })();
  return { acked, failures, done };
}

const drain = (url: string, destination: string, quietMs = 800) => drainQueue(() => client(url), destination, quietMs);


describe('JDBC master/slave (real processes, real PostgreSQL)', () => {
  test('two brokers on one database: one master; the slave keeps its client ports closed and names the holder', async () => {
    const g = await group('two');
    const { master, status } = await g.waitForMaster({ slaves: 1, timeoutMs: 20_000 });
    const slave = g.nodes.find((n) => n !== master)!;
    const st = (await slave.status())!;
    assert.equal(status.epoch, 1);
    assert.equal(st.role, 'slave');
    assert.match(st.reason!, new RegExp(`waiting for the lease held by ${master.name}@.*\\(epoch 1, expires in \\d+ ms\\)`));
    assert.equal(typeof status.ha.leaseExpiresAt, 'string');
    assert.deepEqual(st.connectors, []);
    assert.equal(slave.servesClients(), false, 'the slave has no client port open');
    const cli = await runCli(['status', '--http', `http://127.0.0.1:${slave.httpPort}`]);
    assert.match(cli.stdout, /role {5}slave {2}mode=jdbc/);
    assert.match(cli.stdout, new RegExp(`lease {4}postgres@127\\.0\\.0\\.1:\\d+/\\w+ {2}held by ${master.name}@\\S+ \\(epoch 1, expires \\S+ \\(in \\d+ ms\\)\\)`));
    const c = await client(g.failoverUrl());
    await c.send('/queue/jdbc.two', 'hello', { persistent: 'true' });
    assert.deepEqual(await drain(master.url, '/queue/jdbc.two'), ['hello']);
    // Several renewals later nothing changed.
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    const again = await g.statuses();
    assert.deepEqual(again.map((s) => s?.role).sort(), ['master', 'slave']);
    assert.equal(again.find((s) => s?.role === 'master')!.epoch, 1);
  });

  test('kill -9 the master under load from 8 failover producers: the slave takes over, nothing acknowledged is lost or duplicated', async (t) => {
    const g = await group('kill');
    const { master } = await g.waitForMaster({ slaves: 1, timeoutMs: 20_000 });
    const perProducer = 150;
    const run = produce(g.failoverUrl('randomize=false&initialReconnectDelay=20&maxReconnectDelay=200&timeout=60000'), '/queue/jdbc.kill', 8, perProducer);
    await waitFor('a third of the sends to be receipted', () => run.acked.size >= (8 * perProducer) / 3, 30_000);
    const killedAt = Date.now();
    await master.kill();
    const next = await g.waitForMaster({ not: master, timeoutMs: 4 * LEASE_MS + 10_000 });
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(`takeover after kill -9: ${takeoverMs} ms (lease ${LEASE_MS} ms, keep-alive ${KEEPALIVE_MS} ms)`);
    assert.equal(next.status.epoch, 2);
    assert.ok(takeoverMs < 2 * LEASE_MS + 1000, `takeover took ${takeoverMs} ms`);
    await run.done;
    assert.deepEqual(run.failures, []);
    assert.equal(run.acked.size, 8 * perProducer);
    const received = await drain(next.master.url, '/queue/jdbc.kill');
    assert.deepEqual(lostAndDuplicated(run.acked, received), { lost: [], duplicated: [] });
    assert.equal(received.length, 8 * perProducer);
  });

  test('SIGSTOP the master past its lease, let the slave take over, SIGCONT: every write of the old master is refused and reaches no consumer', async () => {
    const g = await group('stop');
    const { master: old } = await g.waitForMaster({ slaves: 1, timeoutMs: 20_000 });
    const raw = await RawStomp.connect(old.stompPort);
    await raw.handshake();
    raw.write('SEND\ndestination:/queue/jdbc.fence\npersistent:true\nreceipt:before\n\nbefore\0');
    await raw.waitFrame('RECEIPT');

    old.signal('SIGSTOP');
    try {
      const next = await g.waitForMaster({ not: old, timeoutMs: 4 * LEASE_MS + 10_000 });
      assert.equal(next.status.epoch, 2);
      // Sends queued in the frozen master's socket: it reads them the moment it runs again.
      for (let i = 1; i <= 5; i++) raw.write(`SEND\ndestination:/queue/jdbc.fence\npersistent:true\nreceipt:stale-${i}\n\nstale-${i}\0`);
    } finally {
      old.signal('SIGCONT');
    }
    await waitFor('the old master to step down', async () => (await old.status())?.role === 'slave', 10_000);
    const oldStatus = (await old.status())!;
    assert.equal(oldStatus.epoch, 2, 'it now follows the new epoch');
    assert.deepEqual(oldStatus.connectors, []);
    // The stale sends got no receipt: an ERROR, or the connection was closed on demotion.
    await waitFor('the stale connection to be answered or closed', () => raw.closed || raw.frames.some((f) => f.command === 'ERROR'), 10_000);
    assert.deepEqual(raw.frames.filter((f) => f.command === 'RECEIPT').map((f) => header(f, 'receipt-id')), []);
    raw.close();

    const master = (await g.waitForMaster({ slaves: 1 })).master;
    assert.notEqual(master, old);
    assert.deepEqual(await drain(master.url, '/queue/jdbc.fence'), ['before']);
    assert.match(old.output(), /"msg":"demoted"/);
  });

  test('restart PostgreSQL mid-load: never two masters at once, and service resumes with nothing acknowledged lost', async (t) => {
    const g = await group('pgrestart');
    await g.waitForMaster({ slaves: 1, timeoutMs: 20_000 });
    let sampling = true;
    const overlaps: string[] = [];
    const epochs: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        const st = await g.statuses();
        const masters = st.filter((s) => s?.role === 'master');
        if (masters.length > 1) overlaps.push(JSON.stringify(masters.map((m) => m!.epoch)));
        for (const m of masters) if (m!.epoch !== undefined && epochs.at(-1) !== m!.epoch) epochs.push(m!.epoch!);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const perProducer = 150;
    const run = produce(g.failoverUrl('randomize=false&initialReconnectDelay=20&maxReconnectDelay=300&timeout=60000'), '/queue/jdbc.pgrestart', 4, perProducer);
    await waitFor('a third of the sends to be receipted', () => run.acked.size >= (4 * perProducer) / 3, 30_000);
    const t0 = Date.now();
    await pg.restart();
    t.diagnostic(`PostgreSQL was down for ${Date.now() - t0} ms`);
    await run.done;
    sampling = false;
    await sampler;
    assert.deepEqual(overlaps, [], 'never two masters at once');
    assert.deepEqual(epochs, [...epochs].sort((a, b) => a - b), 'epochs only rise');
    assert.ok(epochs.length >= 2, `a new mastership after the restart (epochs seen: ${epochs.join(', ')})`);
    assert.deepEqual(run.failures, []);
    const { master } = await g.waitForMaster({ slaves: 1, timeoutMs: 20_000 });
    const received = await drain(master.url, '/queue/jdbc.pgrestart');
    assert.deepEqual(lostAndDuplicated(run.acked, received), { lost: [], duplicated: [] });
  });

  test('a wrong password and an unreachable database stop the broker at startup with a clear error', async () => {
    await pg.createUser('qmq_amq', 'right-password');
    const db = await pg.freshDatabase('auth');
    const dbName = new URL(db).pathname.slice(1);
    const cases = [
      { url: `postgres://qmq_amq:wrong-password@127.0.0.1:${pg.port}/${dbName}`, expect: /QMQ-4001 PostgreSQL at qmq_amq@127\.0\.0\.1:\d+\/\w+: wrong password \(28P01/ },
      { url: `postgres://postgres@127.0.0.1:${await freePort()}/${dbName}`, expect: /QMQ-3002 cannot reach PostgreSQL at postgres@127\.0\.0\.1:\d+\/\w+ while connecting for the lease: ECONNREFUSED/ },
    ];
    for (const c of cases) {
      const dir = tempDir('qmq-jdbc-bad-');
      const configFile = path.join(dir, 'activemq.xml');
      writeFileSync(configFile, jdbcXml({ brokerName: 'bad', databaseUrl: c.url, stompPort: await freePort(), keepAliveMs: KEEPALIVE_MS, leaseMs: LEASE_MS, tablePrefix: '' }));
      const node = new JdbcNode('bad', dir, configFile, 0, await freePort());
      nodes.push(node);
      node.start();
      const code = await Promise.race([node.exited(), new Promise((r) => setTimeout(r, 20_000, 'still running'))]);
      assert.equal(code, 1, node.output());
      assert.match(node.output(), c.expect);
      assert.doesNotMatch(node.output(), /wrong-password/, 'the password is not printed');
    }
  });
});
