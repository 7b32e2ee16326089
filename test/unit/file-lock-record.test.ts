import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLockRecord, encodeLockRecord, nextEpoch } from '../../src/ha/file-lock/lock-record.js';

test('a lock record round-trips as one JSON line', () => {
  const bytes = encodeLockRecord({ nodeId: 'b1@host:42', epoch: 7, acquiredAtMs: 1000 });
  assert.equal(bytes.toString('utf8').split('\n').length, 2);
  assert.deepEqual(decodeLockRecord(bytes), { kind: 'record', record: { nodeId: 'b1@host:42', epoch: 7, acquiredAtMs: 1000 } });
});

test('an empty or blank lock file names no holder', () => {
  assert.deepEqual(decodeLockRecord(Buffer.alloc(0)), { kind: 'empty' });
  assert.deepEqual(decodeLockRecord(Buffer.from(' \n')), { kind: 'empty' });
});

test('content that is not a record is reported as unreadable, never trusted', () => {
  for (const text of ['1795610135202', '{"nodeId":"x"}', '{"nodeId":"x","epoch":-1}', '{"nodeId":3,"epoch":1}', '{"nodeId":"x","epoch":1.5}', 'garbage{']) {
    assert.equal(decodeLockRecord(Buffer.from(text)).kind, 'unreadable', text);
  }
});

test('the next epoch is above both the old holder and the journal', () => {
  const rec = (epoch: number) => decodeLockRecord(encodeLockRecord({ nodeId: 'n', epoch, acquiredAtMs: 0 }));
  assert.equal(nextEpoch({ kind: 'empty' }, 0), 1);
  assert.equal(nextEpoch(rec(4), 2), 5);
  // The lock file was recreated empty by an operator: the journal's epoch still rises.
  assert.equal(nextEpoch({ kind: 'empty' }, 6), 7);
  assert.equal(nextEpoch({ kind: 'unreadable', text: 'x' }, 3), 4);
  assert.equal(nextEpoch(rec(9), 9), 10);
});
