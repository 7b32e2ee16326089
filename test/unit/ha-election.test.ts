import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLog, decideMaster, quorumSize, type ElectionMember } from '../../src/ha/election.js';

let seq = 0;
function m(nodeId: string, log: [number, number] | null, extra: Partial<ElectionMember> = {}): ElectionMember {
  return {
    nodeId,
    brokerName: 'broker',
    log: log ? { epoch: log[0], position: log[1] } : null,
    weight: 1,
    sequence: seq++,
    role: 'candidate',
    ...extra,
  };
}

test('quorum is replicas/2+1, as in the seed (replicas=3 -> 2)', () => {
  const table: Array<[number, number]> = [[1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [7, 4]];
  for (const [replicas, q] of table) assert.equal(quorumSize(replicas), q, `replicas=${replicas}`);
  assert.throws(() => quorumSize(0), /replicas/);
  assert.throws(() => quorumSize(2.5), /replicas/);
});

test('compareLog orders by epoch, then position', () => {
  assert.equal(compareLog({ epoch: 2, position: 0 }, { epoch: 1, position: 1_000_000 }), 1);
  assert.equal(compareLog({ epoch: 1, position: 10 }, { epoch: 1, position: 20 }), -1);
  assert.equal(compareLog({ epoch: 3, position: 7 }, { epoch: 3, position: 7 }), 0);
});

interface Row {
  name: string;
  members: ElectionMember[];
  replicas: number;
  self?: string;
  master?: string;
  noMaster?: { have: number; need: number; missing: number; unreported?: string[] };
  reason: RegExp;
}

const rows: Row[] = [
  {
    name: 'one node of three is up: no master, and the reason says why',
    members: [m('a', [1, 100])],
    replicas: 3,
    noMaster: { have: 1, need: 2, missing: 1 },
    reason: /^no master: only 1 of 3 nodes of group 'broker' is up; a master needs 2 \(replicas\/2\+1\); waiting for 1 more node to register$/,
  },
  {
    name: 'two registered but one has not reported its position',
    members: [m('a', [1, 100]), m('b', null)],
    replicas: 3,
    noMaster: { have: 2, need: 2, missing: 0, unreported: ['b'] },
    reason: /only 1 has reported its log position; a master needs 2 .*waiting for b$/,
  },
  {
    name: 'two of three reported: the higher position wins',
    members: [m('a', [1, 100]), m('b', [1, 250])],
    replicas: 3,
    master: 'b',
    reason: /^b elected: highest log \(epoch 1, position 250\); 2 of 3 nodes have reported \(need 2\)$/,
  },
  {
    name: 'a later epoch beats a longer log of an older epoch (raw byte offsets are not enough)',
    members: [m('a', [1, 9_000_000]), m('b', [2, 64]), m('c', [1, 10])],
    replicas: 3,
    master: 'b',
    reason: /highest log \(epoch 2, position 64\)/,
  },
  {
    name: 'equal logs: the higher weight wins',
    members: [m('a', [3, 500], { weight: 1 }), m('b', [3, 500], { weight: 5 }), m('c', [3, 400], { weight: 9 })],
    replicas: 3,
    master: 'b',
    reason: /same log as a .*higher weight 5 > 1/,
  },
  {
    name: 'equal logs and weights: the lower node id wins',
    members: [m('n2', [3, 500]), m('n1', [3, 500]), m('n3', [3, 500])],
    replicas: 3,
    master: 'n1',
    reason: /same log and weight as .*lower node id/,
  },
  {
    name: 'members of another group on the same zkPath do not count',
    members: [m('a', [1, 100]), m('x', [9, 999], { brokerName: 'other' }), m('y', [9, 999], { brokerName: 'other' })],
    replicas: 3,
    noMaster: { have: 1, need: 2, missing: 1 },
    reason: /only 1 of 3 nodes of group 'broker' is up/,
  },
  {
    name: 'a node registered twice (old session not yet expired) counts once',
    members: [m('a', [1, 100]), m('a', [1, 100])],
    replicas: 3,
    noMaster: { have: 1, need: 2, missing: 1 },
    reason: /only 1 of 3/,
  },
  {
    name: 'replicas=1 elects the single node',
    members: [m('a', [0, 0])],
    replicas: 1,
    master: 'a',
    reason: /a elected/,
  },
  {
    name: 'replicas=5 needs 3 reported members',
    members: [m('a', [1, 1]), m('b', [1, 2]), m('c', null), m('d', null)],
    replicas: 5,
    noMaster: { have: 4, need: 3, missing: 0, unreported: ['c', 'd'] },
    reason: /4 of 5 nodes .* are up but only 2 have reported .*needs 3 .*waiting for c, d/,
  },
  {
    name: 'a sitting master keeps the job against an equally current peer with a higher weight',
    members: [m('a', [4, 800], { role: 'master' }), m('b', [4, 800], { weight: 10, role: 'slave' })],
    replicas: 3,
    master: 'a',
    reason: /^a stays master \(epoch 4, position 800\)/,
  },
  {
    name: 'a stale "master" of an older epoch loses to a member of a newer epoch',
    members: [m('a', [4, 9000], { role: 'master' }), m('b', [5, 10], { role: 'master' }), m('c', [5, 10], { role: 'slave' })],
    replicas: 3,
    master: 'b',
    reason: /b stays master \(epoch 5/,
  },
  {
    name: 'a member standing aside is passed over when the others make a quorum, even with the longest log',
    members: [m('a', [3, 900], { standingAside: true }), m('b', [3, 700]), m('c', [3, 650])],
    replicas: 3,
    master: 'b',
    reason: /^b elected: highest log \(epoch 3, position 700\) of the 2 nodes not standing aside \(a stands aside\)/,
  },
  {
    name: 'a member standing aside still wins when the others alone are no quorum',
    members: [m('a', [3, 900], { standingAside: true }), m('b', [3, 700]), m('c', null)],
    replicas: 3,
    master: 'a',
    reason: /^a elected: highest log \(epoch 3, position 900\)/,
  },
  {
    name: 'replicas=5: two standing aside, the other three make the quorum',
    members: [m('a', [2, 90], { standingAside: true }), m('b', [2, 80], { standingAside: true }), m('c', [2, 50]), m('d', [2, 60]), m('e', [2, 40])],
    replicas: 5,
    master: 'd',
    reason: /^d elected: .* of the 3 nodes not standing aside \(a, b stand aside\)/,
  },
  {
    name: 'standing aside changes nothing for a sitting master',
    members: [m('a', [4, 800], { role: 'master' }), m('b', [4, 800], { role: 'slave', standingAside: true })],
    replicas: 3,
    master: 'a',
    reason: /^a stays master/,
  },
  {
    name: 'no registration for self: the group is unknown',
    members: [m('b', [1, 1])],
    replicas: 3,
    self: 'a',
    noMaster: { have: 0, need: 2, missing: 2 },
    reason: /this node \(a\) is not registered/,
  },
];

for (const row of rows) {
  test(`decideMaster: ${row.name}`, () => {
    const d = decideMaster({ members: row.members, replicas: row.replicas, self: row.self ?? row.members[0].nodeId });
    assert.match(d.reason, row.reason);
    if (row.master !== undefined) {
      assert.equal(d.kind, 'elected', d.reason);
      if (d.kind === 'elected') assert.equal(d.master, row.master);
    } else {
      assert.equal(d.kind, 'no-master', d.reason);
      if (d.kind === 'no-master' && row.noMaster) {
        assert.equal(d.have, row.noMaster.have);
        assert.equal(d.need, row.noMaster.need);
        assert.equal(d.missing, row.noMaster.missing);
        if (row.noMaster.unreported) assert.deepEqual(d.unreported, row.noMaster.unreported);
      }
    }
  });
}

test('decideMaster warns when more members than replicas are registered', () => {
  const d = decideMaster({ members: [m('a', [1, 1]), m('b', [1, 1]), m('c', [1, 1])], replicas: 2, self: 'a' });
  assert.equal(d.kind, 'elected');
  assert.ok(d.warnings.some((w) => /3 members .* replicas=2/.test(w)), d.warnings.join('; '));
});

test('decideMaster is independent of the order members are listed in', () => {
  const members = [m('c', [2, 7]), m('a', [2, 7]), m('b', [1, 99]), m('d', [2, 7], { weight: 0 })];
  const winners = new Set<string>();
  for (let i = 0; i < 24; i++) {
    const shuffled = [...members].sort(() => Math.random() - 0.5);
    const d = decideMaster({ members: shuffled, replicas: 4, self: 'a' });
    if (d.kind === 'elected') winners.add(d.master);
  }
  assert.deepEqual([...winners], ['a']);
});
