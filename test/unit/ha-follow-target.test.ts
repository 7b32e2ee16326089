/**
 * What a slave follows, and when a follow attempt in progress is called off: once the group
 * no longer names its master (the killed master's session expired), the attempt must not hold
 * up the election. Also the TCP probe that spares a log scan against a dead master's port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { followStillWanted, masterToFollow, probeTcp, type FollowTarget } from '../../src/ha/replicated-mode.js';
import { decideMaster } from '../../src/ha/election.js';
import { electionMembers, type ListedMember } from '../../src/ha/zookeeper/elector-member.js';
import type { GroupView } from '../../src/ha/zookeeper/elector.js';

const GROUP = 'g';
let seq = 0;

function member(nodeId: string, extra: Partial<ListedMember> = {}): ListedMember {
  const sequence = seq++;
  return {
    znode: `member-${String(sequence).padStart(10, '0')}`,
    sequence,
    brokerName: GROUP,
    nodeId,
    log: { epoch: 2, position: 1000 },
    weight: 1,
    role: 'candidate',
    clientUrls: [],
    ...extra,
  };
}

const master = (nodeId: string, epoch: number, address: string) =>
  member(nodeId, { role: 'master', masterEpoch: epoch, replication: address, log: { epoch, position: 1000 } });

/** A view as the elector builds it: the members and `decideMaster` over them, seen by `self`. */
function view(self: string, members: ListedMember[]): GroupView {
  return { members, decision: decideMaster({ members: electionMembers(members, GROUP), replicas: 3, self, brokerName: GROUP }) };
}

const target: FollowTarget = { nodeId: 'a', address: 'tcp://127.0.0.1:5000', epoch: 2 };

test('masterToFollow: the elected master once it has published its replication address and epoch', () => {
  const v = view('b', [master('a', 2, target.address), member('b'), member('c')]);
  assert.equal(masterToFollow(v, GROUP, 'b')?.nodeId, 'a');
  // The elected node itself follows nobody.
  assert.equal(masterToFollow(view('a', v.members), GROUP, 'a'), null);
  // Elected but not yet serving: nothing to follow yet.
  assert.equal(masterToFollow(view('b', [member('a', { log: { epoch: 3, position: 1 } }), member('b'), member('c')]), GROUP, 'b'), null);
  // No quorum: nothing to follow.
  assert.equal(masterToFollow(view('b', [member('b')]), GROUP, 'b'), null);
});

test('masterToFollow takes the newest registration of the master (an old session not yet expired)', () => {
  const old = master('a', 2, 'tcp://127.0.0.1:1');
  const current = master('a', 3, 'tcp://127.0.0.1:2');
  const m = masterToFollow(view('b', [old, member('b'), current, member('c')]), GROUP, 'b');
  assert.equal(m?.replication, 'tcp://127.0.0.1:2');
  assert.equal(m?.masterEpoch, 3);
});

test('followStillWanted: kept while the master stays registered, dropped once its session expired', () => {
  const dead = master('a', 2, target.address);
  // Stream lost, but the dead master's znode lives until its session expires: keep trying.
  assert.equal(followStillWanted(view('b', [dead, member('b'), member('c')]), GROUP, 'b', target), true);
  // Expired: b and c alone elect (c is ahead), so an attempt on a must not hold the queue.
  const expired = view('b', [member('b'), member('c', { log: { epoch: 2, position: 2000 } })]);
  assert.equal(expired.decision.kind, 'elected');
  assert.equal(followStillWanted(expired, GROUP, 'b', target), false);
  // Expired and b is now the one elected.
  assert.equal(followStillWanted(view('b', [member('b', { log: { epoch: 2, position: 3000 } }), member('c')]), GROUP, 'b', target), false);
  // Expired and no quorum left.
  assert.equal(followStillWanted(view('b', [member('b')]), GROUP, 'b', target), false);
});

test('followStillWanted: a master that moved (new epoch or address) makes the attempt stale', () => {
  assert.equal(followStillWanted(view('b', [master('a', 3, target.address), member('b'), member('c')]), GROUP, 'b', target), false);
  assert.equal(followStillWanted(view('b', [master('a', 2, 'tcp://127.0.0.1:5001'), member('b'), member('c')]), GROUP, 'b', target), false);
  // Another node took over.
  assert.equal(followStillWanted(view('b', [master('c', 3, 'tcp://127.0.0.1:6000'), member('b')]), GROUP, 'b', target), false);
});

test('followStillWanted: no view (session suspended or lost) calls nothing off', () => {
  assert.equal(followStillWanted(null, GROUP, 'b', target), true);
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('probeTcp resolves against a listening port and rejects a refused one at once', async () => {
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    await probeTcp(`tcp://127.0.0.1:${port}`, 5000, new AbortController().signal);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  const refused = await closedPort();
  const started = Date.now();
  await assert.rejects(probeTcp(`tcp://127.0.0.1:${refused}`, 5000, new AbortController().signal), (e: Error & { codeName?: string }) => {
    assert.equal(e.codeName, 'NOT_MASTER');
    assert.match(e.message, /ECONNREFUSED/);
    return true;
  });
  // Well inside the timeout: a refused connection is not waited out.
  assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
});

test('probeTcp gives up when its signal aborts', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(probeTcp('tcp://127.0.0.1:1', 5000, ac.signal), /the group changed/);
});
