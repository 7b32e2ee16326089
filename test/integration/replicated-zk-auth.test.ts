/**
 * zkPassword with real broker processes and the run-wide ZooKeeper: two nodes with the password
 * elect a master; their znodes refuse a client without it; a third node with a wrong password
 * cannot join, says why in its status and log, and keeps running (it retries, it does not crash).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp } from '../helpers/broker-process.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';
import { ZkSession } from '../../src/ha/zk-session.js';

const PASSWORD = 'zk-s3cret';

describe('replicated mode: zkPassword', () => {
  let zk: SharedZooKeeper;
  let cluster: Cluster | undefined;
  const zkPath = uniqueZkPath('zkauth');

  before(async () => {
    zk = await sharedZooKeeper();
    // Whoever creates the group's znode owns it. Started together, the wrong-password node could
    // win that race and lock the others out, so the group node is made first, as an operator would.
    const owner = await ZkSession.connect({ connectString: zk.connectString, sessionTimeoutMs: 2000, digestAuth: `fabric:${PASSWORD}` });
    await owner.ensurePath(zkPath);
    await owner.close();
    cluster = await startCluster({
      zkConnect: zk.connectString,
      zkPath,
      replicas: 3,
      // Nodes 0 and 1 share the password (a quorum of 3); node 2 has a wrong one.
      attrs: (i) => ({ zkPassword: i < 2 ? PASSWORD : 'not-the-password' }),
    });
  });
  after(async () => {
    await cluster?.stopAll();
    await zk.stop();
    cleanupTemp();
  });

  it('the group elects a master; a node with the wrong password cannot join and says why; a stranger gets NoAuth', async () => {
    assert.ok(cluster);
    const [a, b, wrong] = cluster.nodes;
    const { master } = await cluster.waitForMaster({ slaves: 1, timeoutMs: 30_000 }).catch(async (e: Error) => {
      for (const n of cluster!.nodes) console.log(n.name, JSON.stringify(await n.status()), '\n', n.output().split('\n').slice(-15).join('\n'));
      throw e;
    });
    assert.ok(master === a || master === b, `master is ${master.name}`);

    // The wrong-password node: no role beyond standby, and a reason that names the problem.
    const st = await waitFor('the wrong-password node to report why it cannot join', async () => {
      const s = await wrong.status();
      return s && /NoAuth/.test(s.reason ?? '') ? s : null;
    }, 20_000, 100);
    assert.equal(st.role, 'standby');
    assert.match(st.reason ?? '', /zkPassword/);
    assert.ok(wrong.logLines(/could not register in ZooKeeper/).some((l) => /NoAuth.*zkPassword/.test(String(l.err))), 'the log names NoAuth and zkPassword');

    // It keeps trying at a bounded pace and stays up (an operator can fix the password without a restart loop).
    const tries = wrong.logLines(/could not register in ZooKeeper/).length;
    await waitFor('another registration attempt', () => wrong.logLines(/could not register in ZooKeeper/).length > tries, 10_000, 100);
    assert.ok(wrong.running, 'the wrong-password node is still running');
    const afterMs = wrong.logLines(/could not register in ZooKeeper/).length;
    // Backoff caps at 2 s between attempts: a few in 4 s, not hundreds.
    await new Promise((r) => setTimeout(r, 4000));
    const in4s = wrong.logLines(/could not register in ZooKeeper/).length - afterMs;
    assert.ok(in4s <= 4, `${in4s} registration attempts in 4 s`);
    assert.equal((await cluster.waitForMaster({ slaves: 1 })).master, master);

    // A client without the password, and one with a wrong one, can neither list nor read the group.
    for (const digestAuth of [undefined, 'fabric:not-the-password']) {
      const s = await ZkSession.connect({ connectString: zk.connectString, sessionTimeoutMs: 2000, digestAuth });
      try {
        await assert.rejects(s.getChildrenWithData(zkPath), /NoAuth/);
        await assert.rejects(s.getData(`${zkPath}/epoch`), /NoAuth/);
        await assert.rejects(s.createEphemeralSequential(`${zkPath}/member-`, '{}'), /NoAuth/);
      } finally {
        await s.close();
      }
    }
    // The group's own identity (ActiveMQ's digest user "fabric") reads both members.
    const own = await ZkSession.connect({ connectString: zk.connectString, sessionTimeoutMs: 2000, digestAuth: `fabric:${PASSWORD}` });
    try {
      const members = (await own.getChildrenWithData(zkPath)).filter((c) => c.name.startsWith('member'));
      assert.equal(members.length, 2);
    } finally {
      await own.close();
    }
  });
});
