/**
 * Issue 5 scenarios 2, 3, 9 and 7 with three real broker processes and real ZooKeeper, in this
 * order on one group:
 * (2) kill -9 the master under load: a slave is master within zkSessionTimeout + 2 s, and no
 *     acknowledged message is lost; the time from the kill to the first acknowledged send on the
 *     new master is printed (the README's failover figure);
 * (3) the killed node restarts, rejoins as a slave and catches up; a divergent tail it had is in
 *     `<directory>/quarantine/`, byte for byte;
 * (9) a slave with a wrong securityToken is refused and its log (and the master's) says why;
 * (7) SIGSTOP the master past the session timeout: a new master serves; after SIGCONT the old
 *     master acknowledges nothing it was sent while frozen, and it rejoins as a slave.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../../src/client/index.js';
import { cleanupTemp } from '../helpers/broker-process.js';
import { startCluster, Workload, type Cluster, type ClusterNode, type HistoryCheck } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

const SESSION_TIMEOUT_MS = 2000;
const TOKEN = 'sesame-7f3a';

function storeDir(n: ClusterNode): string {
  // The seed's block puts the journal at ${activemq.data}/leveldb; the cluster passes --data <dir>/data.
  return path.join(n.dir, 'data', 'leveldb');
}

function dumpLogs(cluster: Cluster, why: string): void {
  console.log(`--- ${why}`);
  for (const n of cluster.nodes) {
    const lines = n
      .logLines(/elected|demot|master|truncat|catch|epoch|follow|refused|fenc|giving up|started|recovered|closing connection|session|stream/i)
      .map((l) => `${l.time ?? ''} ${l.msg}${l.remote ? ` remote=${String(l.remote)}` : ''}`);
    console.log(`--- ${n.name} (stomp ${n.stompPort})\n${lines.join('\n')}`);
  }
}

/** Every node's whole output into one directory kept after the run, to place a loss or duplicate. */
function keepLogs(cluster: Cluster, label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `qmq-failover-${label.replace(/\W+/g, '-')}-`));
  for (const n of cluster.nodes) writeFileSync(path.join(dir, `${n.name}-stomp-${n.stompPort}.log`), n.output());
  return dir;
}

async function checkWorkload(cluster: Cluster, load: Workload, label: string): Promise<number> {
  const result = await load.finish();
  await load.close();
  return assertClean(cluster, load, result, label);
}

function assertClean(cluster: Cluster, load: Workload, result: HistoryCheck, label: string): number {
  console.log(
    `${label}: ${result.acked} acknowledged, ${result.lost.length} lost, ${result.deliveries} deliveries, ` +
      `${result.flaggedDuplicates} delivered again with the redelivered flag, ${result.unflaggedDuplicates.length} without`,
  );
  if (result.lost.length > 0 || result.unflaggedDuplicates.length > 0) {
    for (const id of [...result.lost, ...result.unflaggedDuplicates].slice(0, 5)) console.log(load.explain(id));
    dumpLogs(cluster, label);
    console.log(`${label}: every node's output kept in ${keepLogs(cluster, label)}`);
  }
  assert.deepEqual(result.lost, [], `${label}: acknowledged but lost: ${result.lost.slice(0, 10).join(', ')}`);
  assert.deepEqual(result.unflaggedDuplicates, [], `${label}: delivered again without the redelivered flag`);
  assert.ok(result.acked > 0, `${label}: some sends were acknowledged`);
  return result.acked;
}

describe('replicated cluster: failover, rejoin, security token, frozen master', { timeout: 150_000 }, () => {
  let zk: SharedZooKeeper;
  let cluster: Cluster | undefined;
  const zkPath = uniqueZkPath('failover');
  let killed: ClusterNode | undefined;

  before(async () => {
    zk = await sharedZooKeeper();
    cluster = await startCluster({
      zkConnect: zk.connectString,
      zkPath,
      zkSessionTimeout: "2s",
      syncTimeout: '5s',
      attrs: () => ({ securityToken: TOKEN }),
    });
    await cluster.waitForMaster({ slaves: 2, timeoutMs: 30_000 });
  });
  after(async () => {
    // QMQ_KEEP_LOGS=1 keeps every node's output of a passing run too (for looping the file).
    if (cluster && process.env.QMQ_KEEP_LOGS) console.log(`every node's output kept in ${keepLogs(cluster, 'run')}`);
    await cluster?.stopAll();
    await zk.stop();
    cleanupTemp();
  });

  it('scenario 2: kill -9 the master under load; a slave is master within zkSessionTimeout + 2 s; nothing acknowledged is lost', async () => {
    assert.ok(cluster);
    const load = await Workload.start(cluster, { producers: 2 });
    try {
      await waitFor('some acknowledged sends', () => load.acked() >= 50, 20_000);
      const { master } = await cluster.waitForMaster({ slaves: 2 });
      const killAt = Date.now();
      await master.kill();
      killed = master;
      const { master: next } = await cluster.waitForMaster({ not: master, timeoutMs: 15_000 });
      const electedMs = Date.now() - killAt;
      // Receipts the old master wrote just before it died can still be read after the kill; the
      // new master cannot exist before the dead one's session expires, so 200 ms separates them.
      const firstNewAck = await waitFor('an acknowledged send on the new master', () => load.history.ackTimes.find((t) => t > killAt + 200), 20_000, 20);
      const firstAckMs = firstNewAck - killAt;
      console.log(`scenario 2: kill -9 of ${master.name} -> ${next.name} reports master after ${electedMs} ms; first acknowledged send on it after ${firstAckMs} ms (zkSessionTimeout ${SESSION_TIMEOUT_MS} ms)`);
      assert.ok(electedMs <= SESSION_TIMEOUT_MS + 2000, `a new master after ${electedMs} ms, more than zkSessionTimeout + 2 s`);
      await checkWorkload(cluster, load, 'scenario 2');
    } finally {
      await load.close();
    }
  });

  it('scenario 3: the killed node restarts, rejoins as a slave and catches up; a divergent tail is quarantined', async () => {
    assert.ok(cluster && killed);
    const node = killed;
    const load = await Workload.start(cluster, { producers: 1, stompit: false });
    try {
      await rejoin(cluster, load, node);
    } finally {
      await load.close();
    }
  });

  it('scenario 9: a slave with a wrong securityToken is refused and the logs say why', async () => {
    assert.ok(cluster);
    await wrongToken(cluster);
  });

  it('scenario 7: SIGSTOP the master past the session timeout; a new master serves; after SIGCONT the old one acknowledges nothing and rejoins as a slave', async () => {
    assert.ok(cluster);
    const load = await Workload.start(cluster, { producers: 1, stompit: false });
    try {
      await frozenMaster(cluster, load);
    } finally {
      await load.close();
    }
  });
});

async function rejoin(cluster: Cluster, load: Workload, node: ClusterNode): Promise<void> {
  await waitFor('some acknowledged sends', () => load.acked() >= 20, 20_000);
  const startedAt = Date.now();
  node.start();
  const st = await waitFor(
    `${node.name} to rejoin as a slave`,
    async () => {
      const s = await node.status();
      return s?.role === 'slave' ? s : undefined;
    },
    30_000,
    50,
  );
  const rejoinMs = Date.now() - startedAt;
  assert.match(st.reason ?? '', /slave of node-\w+ at epoch \d+/);
  const result = await load.finish();
  await load.close();
  // With the producers stopped, the rejoined slave's log must reach the master's exactly.
  const { master } = await cluster.waitForMaster();
  const caughtUp = await waitFor(
    `${node.name} to catch up with the master`,
    async () => {
      const [m, s] = [await master.status(), await node.status()];
      const ml = m?.ha.log;
      const sl = s?.ha.log;
      return ml && sl && ml.epoch === sl.epoch && ml.position === sl.position ? sl : undefined;
    },
    20_000,
  );
  console.log(`scenario 3: ${node.name} was a slave ${rejoinMs} ms after it started; caught up at epoch ${caughtUp.epoch} position ${caughtUp.position}`);
  assertClean(cluster, load, result, 'scenario 3');

  const qdir = path.join(storeDir(node), 'quarantine');
  const files = existsSync(qdir) ? readdirSync(qdir).filter((f) => f.startsWith('divergent-')) : [];
  const truncations = node.logLines(/replica log truncated/);
  assert.equal(files.length, truncations.length, `one quarantine file per logged truncation: ${files.join(', ')}`);
  for (const f of files) {
    // divergent-<from>-<to>-<stamp>.log holds exactly the bytes cut, starting with a whole record at <from>.
    const m = /^divergent-(\d+)-(\d+)-/.exec(f);
    assert.ok(m, f);
    const [from, to] = [Number(m[1]), Number(m[2])];
    const bytes = readFileSync(path.join(qdir, f));
    assert.equal(statSync(path.join(qdir, f)).size, to - from, `${f} holds the ${to - from} bytes cut`);
    assert.ok(bytes.length >= 25, 'at least one record header');
    const recordLength = bytes.readUInt32LE(0);
    assert.ok(recordLength >= 25 && recordLength <= bytes.length, `a whole record at the start of ${f} (length ${recordLength})`);
    assert.equal(Number(bytes.readBigUInt64LE(16)), from, `the first quarantined record is the one at position ${from}`);
  }
  console.log(`scenario 3: ${files.length} divergent tail(s) quarantined${files.length ? `: ${files.join(', ')}` : ' (the killed master had no unreplicated tail)'}`);
}

async function wrongToken(cluster: Cluster): Promise<void> {
  const { master } = await cluster.waitForMaster({ slaves: 2 });
  const slave = cluster.nodes.find((n) => n !== master)!;
  const original = readFileSync(slave.configFile, 'utf8');
  await slave.stop();
  writeFileSync(slave.configFile, original.replace(`securityToken="${TOKEN}"`, 'securityToken="not-the-token"'));
  try {
    slave.start();
    const st = await waitFor(
      `${slave.name} to be refused`,
      async () => {
        const s = await slave.status();
        return s && /invalid securityToken/.test(s.reason ?? '') ? s : undefined;
      },
      20_000,
    );
    assert.notEqual(st.role, 'slave');
    assert.notEqual(st.role, 'master');
    await waitFor('the master to log the refusal', () => master.logLines(/replication login refused.*invalid securityToken/).length > 0, 5000);
    await waitFor('the slave to log the refusal', () => /invalid securityToken/.test(slave.output()), 5000);
    // The refused node does not count towards the sync level, but the group still serves.
    const c = await connect(cluster.failoverUrl(), { timeoutMs: 10_000 });
    await c.send('/queue/s9', 'still served', { persistent: 'true' });
    await c.close();
  } finally {
    await slave.stop();
    writeFileSync(slave.configFile, original);
  }
  slave.start();
  await cluster.waitForMaster({ slaves: 2, timeoutMs: 30_000 });
}

async function frozenMaster(cluster: Cluster, load: Workload): Promise<void> {
  await waitFor('some acknowledged sends', () => load.acked() >= 20, 20_000);
  const { master: old } = await cluster.waitForMaster({ slaves: 2 });
  // A client pinned to the old master (no failover): whatever it sends while the master is frozen waits in the socket.
  const pinned = await connect(old.url, { timeoutMs: 30_000 });
  const q = '/queue/s7.pinned';
  old.signal('SIGSTOP');
  const stoppedAt = Date.now();
  const frozenSends = [0, 1, 2].map((i) => pinned.send(q, `frozen-${i}`, { persistent: 'true' }).then(
    () => 'acknowledged' as const,
    (e: Error) => e.message,
  ));
  let outcomes: string[] = [];
  try {
    const { master: next } = await cluster.waitForMaster({ not: old, timeoutMs: 15_000 }).catch((e: Error) => {
      console.log(`scenario 7: no new master; every node's output kept in ${keepLogs(cluster, 'scenario 7 no master')}`);
      throw e;
    });
    const electedMs = Date.now() - stoppedAt;
    const before = load.acked();
    await waitFor('the new master to acknowledge sends', () => load.acked() > before + 5, 15_000);
    // Past the session timeout in any case, so the old master's session is surely gone.
    await waitFor('the session timeout to pass', () => Date.now() - stoppedAt > SESSION_TIMEOUT_MS + 1000, 10_000);
    console.log(`scenario 7: ${old.name} frozen; ${next.name} master after ${electedMs} ms`);
  } finally {
    old.signal('SIGCONT');
  }
  outcomes = await Promise.all(frozenSends);
  assert.deepEqual(outcomes.filter((o) => o === 'acknowledged'), [], `the fenced master acknowledged a send: ${outcomes.join(' | ')}`);
  await pinned.close().catch(() => undefined);
  const st = await waitFor(
    `${old.name} to rejoin as a slave`,
    async () => {
      const s = await old.status();
      return s?.role === 'slave' ? s : undefined;
    },
    30_000,
  ).catch(async (e: Error) => {
    console.log(JSON.stringify(await old.status()));
    dumpLogs(cluster, `${old.name} did not rejoin`);
    console.log(old.output().split('\n').slice(-40).join('\n'));
    throw e;
  });
  assert.match(st.reason ?? '', /slave of node-\w+/);
  const all = await cluster.statuses();
  assert.equal(all.filter((s) => s?.role === 'master').length, 1, 'exactly one master');
  console.log(`scenario 7: frozen sends answered: ${outcomes.join(' | ')}`);
  await checkWorkload(cluster, load, 'scenario 7');
}
