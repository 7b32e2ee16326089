/**
 * A slave's follow attempt runs inside the role queue. When the master dies, the slaves try to
 * follow it again until ZooKeeper expires its session; an attempt that is slow (a log scan, a
 * connect timeout against a partitioned master) used to hold the election back until it ended
 * (a bench trial: 5.4 s after the expiry). Here the attempts never end by themselves: the
 * election must still happen as soon as the master's registration is gone.
 * Replication is faked; the election runs through a real ZooKeeper.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerConfig } from '../../src/config/types.js';
import { ReplicatedMode, type ReplicationFactory } from '../../src/ha/replicated-mode.js';
import { QmqError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import { uniqueZkPath } from '../helpers/zookeeper.js';
import { waitFor } from '../helpers/wait.js';
import { fakeReplication, inProcessGroup, inProcessNodeConfig } from '../helpers/replicated-in-process.js';

interface Node {
  id: string;
  mode: ReplicatedMode;
  elected: number[];
  /** Follow attempts: the master's epoch, and how each ended. */
  attempts: Array<{ epoch: number; ended?: string }>;
}

/**
 * Followers hang in `follow` until stopped; masters need no slave ack. `startFails` makes every
 * master's replication server fail to start (recording when), as a log that cannot be read does.
 */
function hangingReplication(attempts: Node['attempts'], startFails?: number[]): ReplicationFactory {
  return fakeReplication({
    hangFollowers: true,
    onFollow: (_address, epoch) => {
      const attempt: Node['attempts'][number] = { epoch };
      attempts.push(attempt);
      return () => void (attempt.ended ??= 'stopped');
    },
    start: startFails
      ? async () => {
          startFails.push(Date.now());
          throw new QmqError('STORE_CORRUPT', 'journal record at position 7339000 is invalid (empty)');
        }
      : undefined,
  });
}

describe('replicated mode: a follow attempt does not hold up the election', () => {
  const fixture = inProcessGroup<Node>();
  const { dirs, nodes } = fixture;

  function config(zkPath: string): BrokerConfig {
    return inProcessNodeConfig({ brokerName: 'group-f', zkConnect: fixture.zk().connectString, zkPath, dirs, dirPrefix: 'qmq-follow-abort-' });
  }

  async function startNode(id: string, zkPath: string, startFails?: number[]): Promise<Node> {
    const attempts: Node['attempts'] = [];
    const node: Node = { id, mode: new ReplicatedMode(config(zkPath), silentLogger, { nodeId: id, replication: hangingReplication(attempts, startFails) }), elected: [], attempts };
    await node.mode.start({ elected: async (epoch) => void node.elected.push(epoch), demoted: async () => {} });
    nodes.push(node);
    return node;
  }

  it('the master leaves while both others are stuck following it: one of them is elected at once', { timeout: 60_000 }, async () => {
    const zkPath = uniqueZkPath('follow-abort');
    const a = await startNode('node-a', zkPath);
    const b = await startNode('node-b', zkPath);
    const c = await startNode('node-c', zkPath);
    await waitFor('node-a master', () => a.mode.status().role === 'master', 20_000);
    const epoch1 = a.elected[0];
    await waitFor('node-b and node-c stuck following node-a', () => [b, c].every((n) => n.attempts.some((x) => x.epoch === epoch1 && !x.ended)), 20_000);

    // Closing the session removes node-a's registration at once.
    await a.mode.stop();
    nodes.splice(nodes.indexOf(a), 1);
    // Without calling the attempts off, neither queue would ever run the election.
    await waitFor('node-b elected (equal logs: lower node id)', () => b.elected.length === 1, 15_000);
    assert.ok(b.elected[0] > epoch1, `new epoch ${b.elected[0]} must be above ${epoch1}`);
    assert.equal(b.mode.status().role, 'master');
    for (const n of [b, c]) assert.ok(n.attempts.filter((x) => x.epoch === epoch1).every((x) => x.ended === 'stopped'), `${n.id}: ${JSON.stringify(n.attempts)}`);
    // node-c now tries to follow the new master.
    await waitFor('node-c following node-b', () => c.attempts.some((x) => x.epoch === b.elected[0]), 15_000);
  });

  // A chaos run found a node whose takeover failed the same way on every attempt (its log could
  // not be read back): it retried every 500 ms, taking a new epoch each time, thousands of them.
  it('a takeover that keeps failing for a local reason backs off and says why', { timeout: 60_000 }, async () => {
    const zkPath = uniqueZkPath('takeover-backoff');
    const fails: number[] = [];
    const pair = [await startNode('node-a', zkPath, fails), await startNode('node-b', zkPath, fails)];
    await waitFor('four failed takeovers', () => fails.length >= 4, 30_000);
    const gaps = fails.slice(1).map((t, i) => t - fails[i]!);
    // 500, 1000, 2000 ms apart (the role queue and ZooKeeper add a little; a timer may fire early by a few ms).
    assert.ok(gaps[1]! >= 900 && gaps[2]! >= 1900, `gaps between attempts grow: ${gaps.join(', ')} ms`);
    const reason = pair.map((n) => n.mode.status().reason ?? '').find((r) => /attempt \d+/.test(r));
    assert.match(reason ?? '', /replication port .* could not be opened: journal record at position 7339000 is invalid \(empty\) \(attempt \d+; next in \d+ ms\)/);
    assert.deepEqual(pair.map((n) => n.elected.length), [0, 0], 'nobody serves');
  });
});
