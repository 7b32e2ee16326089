import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMember, electionMembers, encodeMember, type MemberRecord } from '../../src/ha/zookeeper/elector-member.js';

const base: MemberRecord = { brokerName: 'g', nodeId: 'n1', log: { epoch: 2, position: 10 }, weight: 1, role: 'candidate', clientUrls: [] };

test('decodeMember: standingAside survives the round trip and reaches the election as a flag', () => {
  const m = decodeMember('member-0000000003', encodeMember({ ...base, standingAside: 'no slave for 10 s' }));
  assert.equal(m?.standingAside, 'no slave for 10 s');
  assert.equal(electionMembers([m!], 'g')[0].standingAside, true);
  const plain = decodeMember('member-0000000004', encodeMember(base));
  assert.equal(plain?.standingAside, undefined);
  assert.equal(electionMembers([plain!], 'g')[0].standingAside, false);
});

test('decodeMember: a standingAside that is not a non-empty string (another version, a hand edit) is ignored, not trusted', () => {
  for (const bad of [true, 1, '', { why: 'x' }, null]) {
    const data = Buffer.from(JSON.stringify({ ...base, standingAside: bad }), 'utf8');
    const m = decodeMember('member-0000000005', data);
    assert.ok(m, `the member still decodes with standingAside=${JSON.stringify(bad)}`);
    assert.equal(m.standingAside, undefined);
  }
});

test('decodeMember: data that is not JSON, or not a member, gives null', () => {
  assert.equal(decodeMember('member-0000000006', Buffer.from('{not json', 'utf8')), null);
  assert.equal(decodeMember('epoch', encodeMember(base)), null);
  assert.equal(decodeMember('member-0000000007', Buffer.from('{"nodeId":5}', 'utf8')), null);
});
