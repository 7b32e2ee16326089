import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkSync,
  commitPosition,
  isSyncMet,
  parseSyncLevel,
  slaveAcksNeeded,
  syncedThrough,
  type ReplicationState,
} from '../../src/ha/quorum.js';

test('parseSyncLevel: each token alone', () => {
  const table: Array<[string, string, string]> = [
    ['local_mem', 'written', 'none'],
    ['local_disk', 'synced', 'none'],
    ['remote_mem', 'none', 'received'],
    ['remote_disk', 'none', 'synced'],
    ['quorum_mem', 'written', 'received'],
    ['quorum_disk', 'synced', 'synced'],
  ];
  for (const [token, local, remote] of table) {
    const l = parseSyncLevel(token);
    assert.equal(l.local, local, token);
    assert.equal(l.remote, remote, token);
    assert.deepEqual(l.tokens, [token]);
  }
});

test('parseSyncLevel: the default is quorum_disk; the strongest token wins; incomparable tokens combine', () => {
  assert.deepEqual(parseSyncLevel(undefined), { local: 'synced', remote: 'synced', tokens: ['quorum_disk'] });
  assert.deepEqual(parseSyncLevel(' '), { local: 'synced', remote: 'synced', tokens: ['quorum_disk'] });
  const a = parseSyncLevel('local_mem, quorum_mem');
  assert.equal(a.local, 'written');
  assert.equal(a.remote, 'received');
  assert.deepEqual(a.tokens, ['quorum_mem', 'local_mem']);
  const b = parseSyncLevel(['quorum_disk', 'local_mem', 'remote_mem']);
  assert.equal(b.local, 'synced');
  assert.equal(b.remote, 'synced');
  const c = parseSyncLevel('local_disk,remote_mem');
  assert.equal(c.local, 'synced');
  assert.equal(c.remote, 'received');
});

test('parseSyncLevel: an unknown token is an error naming it', () => {
  assert.throws(() => parseSyncLevel('quorum_disc'), (e: Error & { codeName?: string }) => {
    assert.equal(e.codeName, 'CONFIG_INVALID');
    assert.match(e.message, /'quorum_disc'/);
    return true;
  });
});

test('slaves needed = replicas/2 (the seed: replicas=3 -> quorum 2 -> master waits for 1 slave)', () => {
  const table: Array<[number, number]> = [[1, 0], [2, 1], [3, 1], [4, 2], [5, 2]];
  for (const [r, n] of table) assert.equal(slaveAcksNeeded(r), n, `replicas=${r}`);
  assert.throws(() => slaveAcksNeeded(0));
});

const P = 1000; // the record under test ends here
function st(localWritten: number, localSynced: number, ...acks: Array<[number, number]>): ReplicationState {
  return { localWritten, localSynced, slaveAcks: acks.map(([received, synced]) => ({ received, synced })) };
}

// [level, replicas, state, met]
const cases: Array<[string, number, ReplicationState, boolean]> = [
  ['local_mem', 3, st(P, 0), true],
  ['local_mem', 3, st(P - 1, 0, [P, P], [P, P]), false],
  ['local_disk', 3, st(P, P - 1), false],
  ['local_disk', 3, st(P, P), true],
  ['remote_mem', 3, st(0, 0, [P, 0]), true], // the master's own write is not waited for
  ['remote_mem', 3, st(P, P, [P - 1, 0], [0, 0]), false],
  ['remote_mem', 1, st(P, 0), true], // replicas=1: no slave to wait for
  ['remote_mem', 1, st(P - 1, 0), false], // ... but the record must exist
  ['remote_disk', 3, st(0, 0, [P, P - 1]), false],
  ['remote_disk', 3, st(0, 0, [P, P - 1], [P, P]), true],
  ['quorum_mem', 3, st(P, 0, [P, 0]), true],
  ['quorum_mem', 3, st(P - 1, 0, [P, P]), false],
  ['quorum_mem', 5, st(P, 0, [P, 0], [P - 1, 0]), false], // 5 replicas: 2 slaves
  ['quorum_mem', 5, st(P, 0, [P, 0], [2 * P, 0], [0, 0]), true],
  ['quorum_disk', 3, st(P, P, [P, P - 1]), false],
  ['quorum_disk', 3, st(P, P - 1, [P, P]), false],
  ['quorum_disk', 3, st(P, P, [0, 0], [P, P]), true],
  ['quorum_disk', 3, st(P, P), false], // no slave attached: never acknowledged (it waits, bounded by syncTimeout)
  ['quorum_disk', 2, st(P, P, [P, P]), true],
  ['quorum_disk', 1, st(P, P), true],
];

for (const [token, replicas, state, met] of cases) {
  test(`isSyncMet ${token} replicas=${replicas} ${JSON.stringify(state)} -> ${met}`, () => {
    const level = parseSyncLevel(token);
    assert.equal(isSyncMet(level, state, P, replicas), met);
    // syncedThrough agrees with isSyncMet for this record.
    assert.equal(syncedThrough(level, state, replicas) >= P, met);
  });
}

test('checkSync reports the counts an error message needs', () => {
  const c = checkSync(parseSyncLevel('quorum_disk'), st(P, P, [P, 10]), P, 5);
  assert.deepEqual(c, { met: false, localMet: true, slavesHave: 0, slavesNeed: 2 });
});

test('syncedThrough takes the slavesNeed-th highest ack, capped by the local bound', () => {
  const level = parseSyncLevel('quorum_disk');
  assert.equal(syncedThrough(level, st(900, 900, [700, 600], [950, 850], [500, 400], [990, 990]), 5), 850);
  assert.equal(syncedThrough(level, st(900, 300, [950, 950]), 3), 300);
  assert.equal(syncedThrough(parseSyncLevel('local_mem'), st(900, 300), 3), 900);
});

test('commitPosition: Raft Figure 8 — older-epoch records commit only through a current-epoch record', () => {
  const level = parseSyncLevel('quorum_disk');
  // The new master inherited records up to 5000 from earlier epochs; its epoch marker ends at 5100.
  const markerEnd = 5100;
  // A slave has fsynced everything inherited but not the marker: nothing new is committed.
  assert.equal(commitPosition({ level, state: st(5100, 5100, [5000, 5000]), replicas: 3, epochMarkerEnd: markerEnd, previous: 0 }), 0);
  // Once the marker meets the level, everything before it is committed with it.
  assert.equal(commitPosition({ level, state: st(5100, 5100, [5100, 5100]), replicas: 3, epochMarkerEnd: markerEnd, previous: 0 }), 5100);
  // Later records of the current epoch move it on.
  assert.equal(commitPosition({ level, state: st(7000, 6500, [7000, 6800]), replicas: 3, epochMarkerEnd: markerEnd, previous: 5100 }), 6500);
  // It never moves backwards (a slave reconnecting with lower acks).
  assert.equal(commitPosition({ level, state: st(7000, 7000, [0, 0]), replicas: 3, epochMarkerEnd: markerEnd, previous: 6500 }), 6500);
});

test('commitPosition under local_disk needs only the local fsync of the marker', () => {
  const level = parseSyncLevel('local_disk');
  assert.equal(commitPosition({ level, state: st(300, 200), replicas: 3, epochMarkerEnd: 250, previous: 0 }), 0);
  assert.equal(commitPosition({ level, state: st(300, 260), replicas: 3, epochMarkerEnd: 250, previous: 0 }), 260);
});
