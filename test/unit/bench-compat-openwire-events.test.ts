import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSteps, normalizeSteps } from '../../bench/compat-openwire-events.js';

test('ids are numbered by first appearance, times and temporary names are masked, causes dropped', () => {
  const steps = [
    { args: ['produce'], code: 0, events: [{ event: 'sent', messageId: 'ID:a:1:1:1:1' }, { event: 'sent', messageId: 'ID:a:1:1:1:2' }] },
    {
      args: ['consume'],
      code: 0,
      events: [
        { event: 'received', messageId: 'ID:a:1:1:1:2', timestamp: 1796694436986, expiration: 0, destination: 'temp-queue://ID:vm-1-2:1:1', replyTo: 'temp-queue://ID:x:9' },
        { event: 'error', class: 'javax.jms.JMSException', message: 'no temp-topic://ID:q:1', cause: 'java.io.IOException' },
      ],
    },
  ];
  assert.deepEqual(normalizeSteps(steps), [
    { step: 'produce', code: 0, events: [{ event: 'sent', messageId: 'id#1' }, { event: 'sent', messageId: 'id#2' }] },
    {
      step: 'consume',
      code: 0,
      events: [
        { destination: 'temp-queue://<temp>', event: 'received', expiration: 0, messageId: 'id#2', replyTo: 'temp-queue://<temp>', timestamp: 'set' },
        { class: 'javax.jms.JMSException', event: 'error', message: 'no temp-topic://<temp>' },
      ],
    },
  ]);
});

test('a different redelivery flag, exit code or order is a difference; order is ignored only when unordered', () => {
  const base = (redelivered: boolean, code = 0) => [{ args: ['consume'], code, events: [{ event: 'received', text: 'a', redelivered }, { event: 'done' }] }];
  assert.equal(compareSteps('s', base(false), base(false)).same, true);
  assert.equal(compareSteps('s', base(false), base(true)).same, false);
  assert.equal(compareSteps('s', base(false), base(false, 3)).same, false);
  const swapped = [{ args: ['consume'], code: 0, events: [{ event: 'done' }, { event: 'received', text: 'a', redelivered: false }] }];
  assert.equal(compareSteps('s', base(false), swapped).same, false);
  assert.equal(compareSteps('s', base(false), swapped, { unordered: true }).same, true);
  const diff = compareSteps('s', base(false), base(true), { expected: 'on purpose' });
  assert.equal(diff.expected, 'on purpose');
  assert.ok(diff.quorummq && diff.activemq);
});

test('the compat summary fails only on a difference nobody expected', async () => {
  const { compatSummary } = await import('../../bench/compat-summary.js');
  const ok = compatSummary('x', [{ scenario: 'a', same: true }, { scenario: 'b', same: false, expected: 'on purpose' }]);
  assert.deepEqual(ok, { line: { summary: 'x', scenarios: 2, same: 1, expectedDifferences: ['b'], unexpectedDifferences: [] }, failed: false });
  assert.equal(compatSummary('x', [{ scenario: 'c', same: false }]).failed, true);
});
