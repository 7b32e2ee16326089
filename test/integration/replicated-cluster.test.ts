/**
 * Issue 5 scenarios 1 and 4 with three real broker processes and real ZooKeeper:
 * (1) three nodes start, exactly one master is elected, the slaves refuse client connections,
 *     and `quorummq status --zk` shows the group;
 * (4) only one broker left: no master and the status says why; a second one returns and
 *     service resumes by itself, with every acknowledged message still there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/index.js';
import { cleanupTemp, runCli } from '../helpers/broker-process.js';
import { startCluster, Workload, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { pahoMqtt } from '../helpers/third-party.js';
import { waitFor } from '../helpers/wait.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

describe('replicated cluster: election and quorum loss', { timeout: 120_000 }, () => {
  let zk: SharedZooKeeper;
  let cluster: Cluster | undefined;
  const zkPath = uniqueZkPath('cluster');

  before(async () => {
    zk = await sharedZooKeeper();
  });
  after(async () => {
    await cluster?.stopAll();
    await zk.stop();
    cleanupTemp();
  });

  it('scenario 1: three nodes elect exactly one master; slaves accept no clients; status --zk shows the group', async () => {
    cluster = await startCluster({ zkConnect: zk.connectString, zkPath, schedulerSupport: true, mqtt: true });
    const { master } = await cluster.waitForMaster({ slaves: 2, timeoutMs: 30_000 });
    const st = await cluster.statuses();
    assert.equal(st.filter((s) => s?.role === 'master').length, 1);
    assert.equal(master.servesClients(), true, 'the master listens on its STOMP port');
    for (const n of cluster.nodes) {
      if (n === master) continue;
      assert.equal(n.servesClients(), false, `slave ${n.name} must refuse clients`);
      assert.match(st[n.index]?.reason ?? '', /slave of node-\w+ at epoch \d+/);
    }
    const c = await connect(master.url);
    const cluster_ = c.serverHeaders?.['qmq-cluster'] ?? '';
    for (const n of cluster.nodes) assert.ok(cluster_.includes(n.url), `qmq-cluster "${cluster_}" lists ${n.url}`);
    await c.send('/queue/s1', 'hello', { persistent: 'true' });
    await c.close();
    // The master's status counts its group commits, and each slave's its own.
    const after = await cluster.statuses();
    for (const n of cluster.nodes) {
      const w = after[n.index]?.ha.journalWriter as { groups: number; batches: number; syncs: number } | undefined;
      assert.ok(w && w.groups > 0 && w.batches >= w.groups, `${n.name} reports its journal writer: ${JSON.stringify(w)}`);
    }

    const out = await runCli(['status', '--zk', zk.connectString, '--path', zkPath]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /group ppgmq \(replicas=3\): master node-/);
    assert.equal(out.stdout.split('\n').filter((l) => /^\s+node-\w+\s+slave\s/.test(l)).length, 2, out.stdout);
  });

  it('after kill -9 of the master, the next one has the deletes, the schedule and MQTT sessions of the first', async () => {
    assert.ok(cluster);
    const { master } = await cluster.waitForMaster({ slaves: 2 });
    const api = (n: ClusterNode, method: string, path: string) =>
      fetch(`http://127.0.0.1:${n.httpPort}${path}`, { method }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
    const c = await connect(master.url);
    for (const q of ['/queue/api.doomed', '/queue/api.kept']) for (let i = 0; i < 3; i++) await c.send(q, `m${i}`, { persistent: 'true' });
    // An MQTT persistent session, away while a QoS 1 message is published for it.
    const session = await pahoMqtt(master.mqttPort!, 'subscribe', 'cluster-mqtt', '0', 'cluster/alerts', '1');
    assert.deepEqual(session.subacks, [[1]]);
    const published = await pahoMqtt(master.mqttPort!, 'publish', 'cluster/alerts', 'disk full', '1');
    assert.deepEqual(published, { connack: 0, completed: true });
    // Due after the kill below: the schedule is in the replicated store, so the next master sends it.
    await c.send('/queue/api.later', 'scheduled before the failover', { persistent: 'true', AMQ_SCHEDULED_DELAY: '3000' });
    await c.close();
    for (const n of cluster.nodes.filter((x) => x !== master)) {
      const r = await api(n, 'GET', '/api/destinations');
      assert.deepEqual([r.status, r.json.error.code], [503, 'QMQ-5001'], `slave ${n.name} sends callers to the master`);
    }
    assert.equal((await api(master, 'DELETE', '/api/queues/api.doomed')).status, 200);
    // The delete went through the replicated journal: the next master does not have the queue.
    await master.kill();
    const next = await cluster.waitForMaster({ not: master, timeoutMs: 30_000 });
    const listed = await api(next.master, 'GET', '/api/destinations');
    const names = (listed.json.destinations as { name: string; depth: number }[]).map((d) => `${d.name}:${d.depth}`);
    assert.ok(names.includes('api.kept:3'), names.join(' '));
    assert.ok(!names.some((n) => n.startsWith('api.doomed')), names.join(' '));
    const later = await connect(next.master.url);
    try {
      const sub = await later.subscribe('/queue/api.later', { ack: 'auto' });
      const got = await sub.next(30_000);
      assert.equal(got?.text(), 'scheduled before the failover');
    } finally {
      await later.close();
    }
    const resumed = await pahoMqtt(next.master.mqttPort!, 'receive', 'cluster-mqtt', '0', '1', '15');
    assert.equal(resumed.sessionPresent, true, 'the session is in the replicated store');
    assert.deepEqual(resumed.messages.map((m: { payload: string }) => m.payload), ['disk full']);
    master.start();
    await cluster.waitForMaster({ slaves: 2, timeoutMs: 30_000 });
  });

  it('scenario 4: one broker left has no master and says why; a second returns and service resumes', async () => {
    assert.ok(cluster);
    const load = await Workload.start(cluster, { producers: 1 });
    await waitFor('some acknowledged sends', () => load.acked() >= 20, 20_000);
    const { master } = await cluster.waitForMaster();
    const others = cluster.nodes.filter((n) => n !== master);
    await master.kill();
    await others[0].kill();
    const survivor = others[1];
    const why = await waitFor(
      'the survivor to explain why there is no master',
      async () => {
        const s = await survivor.status();
        return s && s.role !== 'master' && /waiting for quorum: 1 of 2 members/.test(s.reason ?? '') ? s.reason : undefined;
      },
      20_000,
    );
    assert.match(why, /waiting for quorum/);
    assert.equal(survivor.servesClients(), false);

    const before = load.acked();
    master.start();
    const back = Date.now();
    await cluster.waitForMaster({ timeoutMs: 30_000 });
    await waitFor('sends to be acknowledged again', () => load.acked() > before + 10, 30_000);
    const resumedMs = Date.now() - back;
    const result = await load.finish();
    await load.close();
    if (result.lost.length > 0 || result.unflaggedDuplicates.length > 0) {
      for (const id of result.unflaggedDuplicates) console.log(load.explain(id));
      for (const n of cluster.nodes) {
        const lines = n.logLines(/elected|demot|master|truncat|catch|epoch|follow/i).map((l) => `${l.time ?? ''} ${l.msg} ${JSON.stringify({ ...l, msg: undefined, time: undefined, pid: undefined, hostname: undefined, level: undefined })}`);
        console.log(`--- ${n.name} (${n === master ? 'first master' : n === survivor ? 'survivor' : 'killed slave'})\n${lines.join('\n')}`);
      }
    }
    assert.deepEqual(result.lost, [], `acknowledged but lost: ${result.lost.slice(0, 10).join(', ')}`);
    assert.deepEqual(result.unflaggedDuplicates, []);
    console.log(`scenario 4: service resumed ${resumedMs} ms after a second node returned; ${result.acked} sends acknowledged`);
  });
});
