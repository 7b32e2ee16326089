/**
 * Issue 5 scenario 5 with three broker processes, a private three-server ZooKeeper ensemble and
 * the workload (our failover client and stompit) sending throughout:
 * - one ZooKeeper server dies: nothing changes (same master, same epoch, sends acknowledged);
 * - a second one dies: the master demotes within zkSessionTimeout + margin, and no send is
 *   acknowledged once its session can no longer be proven;
 * - both return: a master serves again by itself; nothing acknowledged is lost, and a message
 *   delivered twice is flagged redelivered.
 *
 * The promise checked in the outage: a master acknowledges only while its session is certainly
 * alive, i.e. within floor(2/3 × zkSessionTimeout) of the SEND time of a request ZooKeeper answered
 * (DESIGN §4, the ack-time check). After the second kill no server answers once the survivor stops
 * serving (it has no quorum), so no acknowledgement may reach a client later than
 * survivorStopped + 2/3 T (+ a delivery grace) and before the servers return.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp } from '../helpers/broker-process.js';
import { startCluster, Workload, type Cluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { privateEnsemble, uniqueZkPath, type Ensemble } from '../helpers/zookeeper.js';

const SESSION_TIMEOUT_MS = 2000;
/** The ensemble's tick; ZooKeeper grants 2..20 ticks, so 2 s is granted as asked. */
const TICK_MS = 500;
/** The master's own fencing point: silence of floor(2/3 T) (SessionLiveness.suspendAfterMs). */
const PROVABLE_MS = Math.floor((2 * SESSION_TIMEOUT_MS) / 3);
/** Slack for two contended cores: status polling, and the time a receipt takes to reach the client. */
const DEMOTION_MARGIN_MS = 1500;
const DELIVERY_GRACE_MS = 500;

describe('replicated mode: ZooKeeper servers die and return (scenario 5)', { timeout: 150_000 }, () => {
  let ens: (Ensemble & { stop(): Promise<void> }) | undefined;
  let cluster: Cluster | undefined;
  let load: Workload | undefined;

  before(async () => {
    // This file kills ZooKeeper servers, so it must not use the run-wide ensemble.
    ens = await privateEnsemble(3, TICK_MS);
    cluster = await startCluster({ zkConnect: ens.connectString, zkPath: uniqueZkPath('zkoutage'), zkSessionTimeout: '2s', syncTimeout: '5s' });
    await cluster.waitForMaster({ slaves: 2, timeoutMs: 40_000 });
  });
  after(async () => {
    await load?.close();
    await cluster?.stopAll();
    await ens?.stop();
    cleanupTemp();
  });

  it('one server down changes nothing; two down demote the master and nothing is acknowledged; their return restores service', async () => {
    assert.ok(cluster && ens);
    const zk = ens;
    load = await Workload.start(cluster, { producers: 2 });
    await waitFor('some acknowledged sends', () => load!.acked() >= 50, 20_000);
    const { master, status } = await cluster.waitForMaster({ slaves: 2 });
    const epoch = status.epoch;

    // --- One server down (a follower: killing the ZooKeeper leader stalls every session for a
    // ZooKeeper election, which a master cannot tell apart from being cut off).
    const modes = new Map<number, string | null>();
    for (const n of zk.nodes) modes.set(n.id, await zk.mode(n.id));
    const first = [...modes].find(([, m]) => m === 'follower')?.[0];
    const leader = [...modes].find(([, m]) => m === 'leader')?.[0];
    assert.ok(first !== undefined && leader !== undefined, `modes ${JSON.stringify([...modes])}`);
    const firstKilledAt = Date.now();
    await zk.killNode(first);
    // Longer than a whole session timeout, so a master that would step down has had every chance.
    const holdUntil = firstKilledAt + 2 * SESSION_TIMEOUT_MS + 1000;
    await waitFor('two session timeouts with the master in place', async () => {
      const st = await master.status();
      assert.equal(st?.role, 'master', `${master.name} left master after one ZooKeeper server died: ${st?.reason}`);
      assert.equal(st?.epoch, epoch);
      return Date.now() > holdUntil;
    }, 20_000, 100);
    const oneDownAcks = load.history.ackTimes.filter((t) => t > firstKilledAt);
    const lateAcks = oneDownAcks.filter((t) => t > holdUntil - SESSION_TIMEOUT_MS);
    assert.ok(oneDownAcks.length >= 20 && lateAcks.length > 0, `sends kept being acknowledged with one server down: ${oneDownAcks.length}, ${lateAcks.length} in the last ${SESSION_TIMEOUT_MS} ms`);
    assert.equal((await cluster.waitForMaster()).master, master);

    // --- A second server down: the leader, so the survivor is a follower without a leader and
    // stops serving at once (the moment is recorded, polled from the survivor itself).
    const survivor = zk.nodes.find((n) => n.id !== first && n.id !== leader)!.id;
    let survivorStoppedAt = 0;
    const watchSurvivor = (async () => {
      while (survivorStoppedAt === 0) {
        const m = await zk.mode(survivor, 300);
        if (m !== 'leader' && m !== 'follower') survivorStoppedAt = Date.now();
        else await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const secondKilledAt = Date.now();
    await zk.killNode(leader);
    const demotedAt = await waitFor('the master to leave master', async () => ((await master.status(500))?.role !== 'master' ? Date.now() : 0), 15_000, 50);
    await Promise.race([watchSurvivor, new Promise((r) => setTimeout(r, 5000))]);
    assert.ok(survivorStoppedAt > 0, 'the surviving ZooKeeper server stopped serving');
    const demoteMs = demotedAt - secondKilledAt;
    assert.ok(demoteMs <= SESSION_TIMEOUT_MS + DEMOTION_MARGIN_MS, `demoted ${demoteMs} ms after the second ZooKeeper server died`);
    const demoted = await master.status();
    assert.match(demoted?.reason ?? '', /ZooKeeper/, `the reason names ZooKeeper: ${demoted?.reason}`);
    assert.ok(master.logLines(/giving up mastership/).some((l) => /ZooKeeper/.test(String(l.reason))), 'the log says why it gave up mastership');

    // The outage lasts a while longer; nobody may become master without a ZooKeeper quorum.
    const outageUntil = Date.now() + SESSION_TIMEOUT_MS + 1000;
    await waitFor('the outage to last', async () => {
      const st = await cluster!.statuses();
      assert.ok(st.every((s) => s?.role !== 'master'), `a master without a ZooKeeper quorum: ${JSON.stringify(st.map((s) => s?.role))}`);
      return Date.now() > outageUntil;
    }, 20_000, 100);
    const restoredAt = Date.now();

    // No acknowledgement once the master's session could no longer be proven: its last answered
    // request was sent before the survivor stopped serving.
    const provableUntil = survivorStoppedAt + PROVABLE_MS;
    const outageAcks = load.history.ackTimes.filter((t) => t > secondKilledAt && t < restoredAt);
    const unproven = outageAcks.filter((t) => t > provableUntil + DELIVERY_GRACE_MS);
    const lastAckMs = outageAcks.length ? Math.max(...outageAcks) - secondKilledAt : null;
    console.log(
      `scenario 5: second ZooKeeper kill -> survivor stopped serving ${survivorStoppedAt - secondKilledAt} ms, master demoted (seen) ${demoteMs} ms, ` +
        `last ack ${lastAckMs} ms; ${outageAcks.length} acks after the kill, none allowed after ${provableUntil + DELIVERY_GRACE_MS - secondKilledAt} ms`,
    );
    assert.deepEqual(unproven.map((t) => t - secondKilledAt), [], 'acknowledged (ms after the second kill) while no ZooKeeper server could answer');

    // --- Both return: a master serves again by itself.
    await Promise.all([zk.startNode(first), zk.startNode(leader)]);
    const zkBackMs = Date.now() - restoredAt;
    const { master: again, status: againStatus } = await cluster.waitForMaster({ timeoutMs: 40_000 });
    const backMs = Date.now() - restoredAt;
    assert.ok((againStatus.epoch ?? 0) > (epoch ?? 0), `a new epoch after the outage: ${againStatus.epoch} (was ${epoch})`);
    const firstAckAfter = await waitFor('an acknowledged send after the servers returned', () => load!.history.ackTimes.find((t) => t > restoredAt), 30_000, 50);
    console.log(`scenario 5: servers restarted -> ZooKeeper serving after ${zkBackMs} ms, ${again.name} master after ${backMs} ms, first ack after ${firstAckAfter - restoredAt} ms`);
    await waitFor('more sends acknowledged on the new master', () => load!.history.ackTimes.filter((t) => t > restoredAt).length >= 20, 20_000);

    // --- Drain: nothing acknowledged is lost; a second delivery is flagged.
    const result = await load.finish();
    if (result.lost.length > 0 || result.unflaggedDuplicates.length > 0) {
      for (const id of [...result.lost, ...result.unflaggedDuplicates].slice(0, 5)) console.log(load.explain(id));
    }
    assert.deepEqual(result.lost, [], `acknowledged but lost: ${result.lost.slice(0, 10).join(', ')}`);
    assert.deepEqual(result.unflaggedDuplicates, [], 'delivered again without the redelivered flag');
    console.log(`scenario 5: ${result.acked} sends acknowledged, none lost, longest gap between acks ${result.maxAckGapMs} ms`);
  });
});
