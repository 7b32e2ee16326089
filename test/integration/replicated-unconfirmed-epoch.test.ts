/**
 * A node elected whose epoch marker never meets the sync level (no slave confirms it) must not
 * count that marker in the election, before or after a restart: a 10-minute chaos run (seed 14)
 * lost a committed transaction when such a node later won with its lone marker against the two
 * nodes holding the transaction. Replication is faked (the marker is never confirmed); the
 * election runs through a real ZooKeeper.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ReplicatedMode } from '../../src/ha/replicated-mode.js';
import { silentLogger } from '../../src/util/logger.js';
import { fakeReplication, inProcessNodeConfig } from '../helpers/replicated-in-process.js';
import { waitFor } from '../helpers/wait.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

/** The master's marker never meets the sync level; followers never finish following. */
const unconfirmingReplication = fakeReplication({ confirmsMarker: false, hangFollowers: true });

describe('replicated mode: an unconfirmed epoch marker', () => {
  let zk: SharedZooKeeper;
  const dirs: string[] = [];
  const modes: ReplicatedMode[] = [];

  before(async () => {
    zk = await sharedZooKeeper();
  });
  after(async () => {
    for (const m of modes) await m.stop().catch(() => undefined);
    await zk.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('does not count in the election, before or after a restart', { timeout: 60_000 }, async () => {
    const zkPath = uniqueZkPath('unconfirmed');
    const configA = inProcessNodeConfig({ brokerName: 'group-u', zkConnect: zk.connectString, zkPath, dirs, dirPrefix: 'qmq-unconfirmed-' });
    const configB = inProcessNodeConfig({ brokerName: 'group-u', zkConnect: zk.connectString, zkPath, dirs, dirPrefix: 'qmq-unconfirmed-' });
    const start = async (config: typeof configA, nodeId: string) => {
      const mode = new ReplicatedMode(config, silentLogger, { nodeId, replication: unconfirmingReplication });
      modes.push(mode);
      await mode.start({ elected: async () => {}, demoted: async () => {} });
      return mode;
    };
    const a = await start(configA, 'node-a');
    await start(configB, 'node-b');
    // Equal (empty) logs: node-a, the lower id, is elected and writes its marker, which nobody confirms.
    // `epoch` is set once the marker is written and the replication server listens.
    const taking = await waitFor('node-a taking over with its marker written', () => {
      const st = a.status();
      return (st.details as { phase?: string }).phase === 'taking-over' && (st.epoch ?? 0) > 0 ? st : undefined;
    }, 20_000);
    const details = taking.details as { log: { epoch: number; position: number } };
    assert.ok(taking.epoch !== undefined && taking.epoch > 0, 'an epoch was taken');
    assert.deepEqual(details.log, { epoch: 0, position: 0 }, 'the reported log leaves the unconfirmed marker out');

    // After a restart the marker is still in the log, and still not counted.
    await a.stop();
    modes.splice(modes.indexOf(a), 1);
    const again = new ReplicatedMode(configA, silentLogger, { nodeId: 'node-a', replication: unconfirmingReplication });
    modes.push(again);
    await again.start({ elected: async () => {}, demoted: async () => {} });
    const log = (again.status().details as { log: { epoch: number; position: number } }).log;
    assert.deepEqual(log, { epoch: 0, position: 0 });
  });
});
