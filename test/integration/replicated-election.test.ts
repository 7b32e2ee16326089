/**
 * The replicated mode's election through a real ZooKeeper, in one process: three nodes with
 * their own journals register, exactly one becomes master with an epoch taken by CAS, the others
 * follow it; the master leaving elects another at a higher epoch; a lone node says why it waits.
 * Replication itself is faked here (its own tests cover it); only the control path is under test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerConfig } from '../../src/config/types.js';
import { ReplicatedMode } from '../../src/ha/replicated-mode.js';
import type { HaStatus } from '../../src/ha/ha-mode.js';
import { silentLogger } from '../../src/util/logger.js';
import { privateEnsemble, uniqueZkPath, type Ensemble } from '../helpers/zookeeper.js';
import { waitFor } from '../helpers/wait.js';
import { fakeReplication, inProcessGroup, inProcessNodeConfig } from '../helpers/replicated-in-process.js';

interface Node {
  id: string;
  mode: ReplicatedMode;
  elected: number[];
  demoted: string[];
  followed: Array<{ address: string; epoch: number }>;
}

describe('replicated mode: election through ZooKeeper', () => {
  const fixture = inProcessGroup<Node>();
  const { dirs, nodes } = fixture;

  function config(zkPath: string, connectString = fixture.zk().connectString): BrokerConfig {
    return inProcessNodeConfig({ brokerName: 'group-a', zkConnect: connectString, zkPath, dirs, dirPrefix: 'qmq-elect-' });
  }

  async function startNode(id: string, zkPath: string, connectString?: string): Promise<Node> {
    const followed: Node['followed'] = [];
    const node: Node = { id, mode: new ReplicatedMode(config(zkPath, connectString), silentLogger, { nodeId: id, replication: fakeReplication({ onFollow: (address, epoch) => void followed.push({ address, epoch }) }) }), elected: [], demoted: [], followed };
    await node.mode.start({
      elected: async (epoch) => void node.elected.push(epoch),
      demoted: async (reason) => void node.demoted.push(reason),
    });
    nodes.push(node);
    return node;
  }

  const roles = (ns: Node[]): HaStatus['role'][] => ns.map((n) => n.mode.status().role);

  it('elects exactly one master once a quorum has registered; the others follow it; a lone survivor says why it waits', async () => {
    const zkPath = uniqueZkPath('elect');
    const a = await startNode('node-a', zkPath);
    await waitFor('node-a to report that it waits for a quorum', () => /waiting for quorum: 1 of 2 members/.test(a.mode.status().reason ?? ''), 15_000);
    assert.equal(a.mode.status().role, 'standby');
    assert.deepEqual(a.elected, []);

    const b = await startNode('node-b', zkPath);
    const c = await startNode('node-c', zkPath);
    const group = [a, b, c];
    await waitFor('one master and two slaves', () => {
      const r = roles(group);
      return r.filter((x) => x === 'master').length === 1 && r.filter((x) => x === 'slave').length === 2;
    }, 15_000);
    const master = group.find((n) => n.mode.status().role === 'master')!;
    // Equal empty logs and weights: the lowest node id wins (DESIGN §4 step 2).
    assert.equal(master.id, 'node-a');
    assert.equal(master.elected.length, 1);
    const epoch1 = master.elected[0];
    for (const s of group.filter((n) => n !== master)) {
      assert.equal(s.mode.status().epoch, epoch1);
      assert.match(s.mode.status().reason ?? '', new RegExp(`slave of ${master.id} at epoch ${epoch1}`));
      assert.equal(s.followed.at(-1)?.epoch, epoch1);
    }
    // The master's view comes from its own ZooKeeper watch, which may trail the slaves' by an event.
    const memberIds = () => ((master.mode.status().details?.members ?? []) as Array<{ nodeId: string }>).map((m) => m.nodeId).sort().join(',');
    await waitFor('the master lists all three members', () => memberIds() === 'node-a,node-b,node-c', 15_000);

    // The master leaves: a slave takes over at a higher epoch, the other follows it.
    await master.mode.stop();
    nodes.splice(nodes.indexOf(master), 1);
    const rest = group.filter((n) => n !== master);
    await waitFor('a new master', () => rest.some((n) => n.mode.status().role === 'master') && rest.some((n) => n.mode.status().role === 'slave'), 15_000);
    const next = rest.find((n) => n.mode.status().role === 'master')!;
    assert.ok(next.elected[0] > epoch1, `new epoch ${next.elected[0]} must be above ${epoch1}`);

    // Down to one node: no master, and the status says why.
    const other = rest.find((n) => n !== next)!;
    await other.mode.stop();
    nodes.splice(nodes.indexOf(other), 1);
    await waitFor('the last node to demote', () => next.demoted.length === 1, 15_000);
    assert.match(next.demoted[0], /lost the quorum/);
    await waitFor('the reason', () => /waiting for quorum: 1 of 2 members/.test(next.mode.status().reason ?? ''), 15_000);
    assert.equal(next.mode.status().role, 'standby');
  });
  it('ZooKeeper failures: one server down changes nothing; two down demote the master; their return restores service', { timeout: 120_000 }, async () => {
    let ens: (Ensemble & { stop(): Promise<void> }) | undefined;
    try {
      ens = await privateEnsemble(3, 500);
      const zkPath = uniqueZkPath('zkfail');
      const group = [await startNode('zk-a', zkPath, ens.connectString), await startNode('zk-b', zkPath, ens.connectString), await startNode('zk-c', zkPath, ens.connectString)];
      await waitFor('one master', () => roles(group).filter((r) => r === 'master').length === 1 && roles(group).filter((r) => r === 'slave').length === 2, 20_000);
      const master = group.find((n) => n.mode.status().role === 'master')!;
      const epoch = master.elected[0];

      // One ZooKeeper follower down: ZooKeeper keeps its quorum and the sessions move over.
      // (Killing the leader stalls every session for a ZooKeeper leader election; a master
      // cannot tell that from being cut off, so it may step down after 2/3 of its session timeout.)
      let victim = 1;
      for (const n of ens.nodes) if ((await ens.mode(n.id)) === 'follower') victim = n.id;
      await ens.killNode(victim);
      // Give the sessions longer than their timeout to prove that nothing moves.
      const until = Date.now() + 4000;
      await waitFor('4 s to pass with the master in place', () => {
        assert.equal(master.mode.status().role, 'master', `master demoted: ${master.demoted.join('; ')}`);
        return Date.now() > until;
      }, 10_000, 100);
      assert.deepEqual(master.demoted, []);
      assert.deepEqual(master.elected, [epoch]);

      // A second server down: no ZooKeeper quorum, the master demotes itself.
      const second = ens.nodes.find((n) => n.id !== victim)!.id;
      const t0 = Date.now();
      await ens.killNode(second);
      await waitFor('the master to demote', () => master.demoted.length === 1, 15_000);
      const demoteMs = Date.now() - t0;
      assert.match(master.demoted[0], /ZooKeeper session/);
      assert.ok(group.every((n) => n.mode.status().role !== 'master'));

      // Both return: service resumes by itself.
      await ens.startNode(victim);
      await ens.startNode(second);
      await waitFor('a master again', () => group.some((n) => n.mode.status().role === 'master'), 40_000);
      const again = group.find((n) => n.mode.status().role === 'master')!;
      assert.ok(again.elected.at(-1)! > epoch);
      console.log(`zk failures: master demoted ${demoteMs} ms after the second ZooKeeper server died`);
    } finally {
      for (const n of nodes.splice(0)) await n.mode.stop().catch(() => undefined);
      await ens?.stop();
    }
  });
});
