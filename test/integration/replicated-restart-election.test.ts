/**
 * A node restarted within a session timeout of a kill -9 of the whole group (issue 5 scenario 6,
 * the fast-restart case the process test cannot time reliably): ZooKeeper still lists its old
 * registration and those of the peers that died with it. In one process, with a real ZooKeeper:
 * the "dead" group's znodes are made by a session of our own, the node starts, and it must not
 * be elected by members that are gone; once their session ends it says it waits for a quorum.
 * Replication is faked (the fake's epoch marker is "synced" at once, as under local_disk alone).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ReplicatedMode } from '../../src/ha/replicated-mode.js';
import { ZkSession } from '../../src/ha/zk-session.js';
import { encodeMember, MEMBER_PREFIX, type MemberRecord } from '../../src/ha/zookeeper/elector-member.js';
import { silentLogger } from '../../src/util/logger.js';
import { waitFor } from '../helpers/wait.js';
import { fakeReplication, inProcessNodeConfig } from '../helpers/replicated-in-process.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

describe('replicated mode: a restart within the session timeout of a whole-group crash', () => {
  let zk: SharedZooKeeper;
  const dirs: string[] = [];
  let mode: ReplicatedMode | undefined;
  let ghosts: ZkSession | undefined;

  before(async () => {
    zk = await sharedZooKeeper();
  });
  after(async () => {
    await mode?.stop().catch(() => undefined);
    await ghosts?.close().catch(() => undefined);
    await zk.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('is not elected by the registrations of dead members; says it waits for them to expire, then for a quorum', { timeout: 60_000 }, async () => {
    const zkPath = uniqueZkPath('restart-election');
    // The group before the crash: node-a was master, b and c its slaves. Their logs are no
    // further than node-a's fresh journal, so counting them would elect node-a at once.
    ghosts = await ZkSession.connect({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
    await ghosts.ensurePath(zkPath);
    const member = (nodeId: string, role: MemberRecord['role'], extra: Partial<MemberRecord> = {}): MemberRecord => ({
      brokerName: 'group-r', nodeId, log: { epoch: 0, position: 0 }, weight: 1, role, clientUrls: [], replicas: 3, ...extra,
    });
    await ghosts.createEphemeralSequential(`${zkPath}/${MEMBER_PREFIX}`, encodeMember(member('node-a', 'master', { masterEpoch: 1, replication: 'tcp://127.0.0.1:1' })));
    await ghosts.createEphemeralSequential(`${zkPath}/${MEMBER_PREFIX}`, encodeMember(member('node-b', 'candidate')));
    await ghosts.createEphemeralSequential(`${zkPath}/${MEMBER_PREFIX}`, encodeMember(member('node-c', 'candidate')));

    const config = inProcessNodeConfig({ brokerName: 'group-r', zkConnect: zk.connectString, zkPath, dirs, dirPrefix: 'qmq-restart-elect-' });
    const elected: number[] = [];
    mode = new ReplicatedMode(config, silentLogger, { nodeId: 'node-a', replication: fakeReplication() });
    await mode.start({ elected: async (epoch) => void elected.push(epoch), demoted: async () => {} });

    const waiting = await waitFor('node-a to wait for its old registration to expire', () => {
      const r = mode!.status().reason ?? '';
      return /expire this node's registration from before its restart/.test(r) ? r : undefined;
    }, 20_000);
    assert.match(waiting, /member-\d{10}/, 'the reason names the old znode');
    // Give a wrong decision time to happen: the view is read and reconciled within milliseconds.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(elected, [], 'never elected by members that are gone');
    assert.notEqual(mode.status().role, 'master');

    // The dead group's session ends: now node-a is alone and says so.
    await ghosts.close();
    ghosts = undefined;
    await waitFor('node-a to wait for a quorum', () => /waiting for quorum: 1 of 2 members/.test(mode!.status().reason ?? ''), 20_000);
    assert.deepEqual(elected, []);
  });
});
