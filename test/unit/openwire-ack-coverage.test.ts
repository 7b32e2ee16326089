import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DELIVERED_ACK, INDIVIDUAL_ACK, planAck, POISON_ACK, REDELIVERED_ACK, STANDARD_ACK, type AckPlan } from '../../src/protocol/openwire/ack-coverage.js';

const open = [['a', undefined], ['b', undefined], ['c', undefined]] as const;
const bTx = [['a', undefined], ['b', 'tx1'], ['c', undefined]] as const;

test('which deliveries an OpenWire ack settles, by type', () => {
  const cases: Array<[string, number, string | undefined, ReadonlyArray<readonly [string, string | undefined]>, AckPlan]> = [
    ['standard: the named one and every earlier one', STANDARD_ACK, 'b', open, { action: 'ack', ids: ['a', 'b'] }],
    ['standard on the last covers all', STANDARD_ACK, 'c', open, { action: 'ack', ids: ['a', 'b', 'c'] }],
    ['standard skips what a transaction already acked', STANDARD_ACK, 'c', bTx, { action: 'ack', ids: ['a', 'c'] }],
    ['individual: only the named one', INDIVIDUAL_ACK, 'b', open, { action: 'ack', ids: ['b'] }],
    ['individual of a transaction-acked one: nothing again', INDIVIDUAL_ACK, 'b', bTx, { action: 'ack', ids: [] }],
    ['poison: only the named one, never earlier ones', POISON_ACK, 'c', open, { action: 'poison', ids: ['c'] }],
    ['delivered: frees the window up to it', DELIVERED_ACK, 'b', open, { action: 'release-window', last: 'b' }],
    ['redelivered: a notice only', REDELIVERED_ACK, 'b', open, { action: 'none' }],
    ['unknown id (acked on the connection before a failover)', STANDARD_ACK, 'z', open, { action: 'none' }],
    ['no id at all', STANDARD_ACK, undefined, open, { action: 'none' }],
    ['nothing outstanding', INDIVIDUAL_ACK, 'a', [], { action: 'none' }],
    ['an unknown ack type counts as standard', 7, 'b', open, { action: 'ack', ids: ['a', 'b'] }],
  ];
  for (const [name, type, last, outstanding, want] of cases) assert.deepEqual(planAck(type, last, outstanding), want, name);
});
