import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/broker/message.js';
import type { StoreOp } from '../../src/store/message-store.js';
import { decodeMessage, encodeMessage } from '../../src/store/jdbc/message-codec.js';
import { tableNames } from '../../src/store/jdbc/schema.js';
import { writeStatements } from '../../src/store/jdbc/write-statements.js';

const t = tableNames('P_');
const msg = (n: number): Message => ({
  id: `m${n}`,
  destination: { kind: 'queue', name: 'q' },
  headers: { a: 'x\u0000y' },
  body: Buffer.from([0, n, 255]),
  bodyIsBytes: true,
  persistent: true,
  priority: 4,
  expires: 0,
  timestamp: 5,
  redeliveryCount: 0,
});
const add = (queue: string, seq: number): StoreOp => ({ type: 'add', queue, seq, message: msg(seq) });
const kinds = (ops: StoreOp[]) => writeStatements(t, ops, 3).map((s) => /^\s*(WITH ins|DELETE FROM P_ACTIVEMQ_MSGS WHERE \(|INSERT INTO P_QMQ_PRODUCERS|INSERT INTO P_QMQ_TRANSACTIONS|DELETE FROM P_QMQ_DESTINATIONS|DELETE FROM P_ACTIVEMQ_MSGS WHERE CONTAINER|DELETE FROM P_QMQ_QUEUES|INSERT INTO P_QMQ_DESTINATIONS)/.exec(s.text)?.[1] ?? s.text.slice(0, 30));

test('a group of many sends is one insert and one producer upsert, whatever its size', () => {
  const ops: StoreOp[] = [];
  for (let i = 1; i <= 100; i++) ops.push(add('queue://q', i), { type: 'producer-seq', producerId: `p${i % 7}`, seq: i });
  const st = writeStatements(t, ops, 3);
  assert.deepEqual(kinds(ops), ['WITH ins', 'INSERT INTO P_QMQ_PRODUCERS']);
  assert.equal((st[0].values[0] as string[]).length, 100);
  assert.equal(st[0].values[6], 3, 'rows carry the epoch');
  // The last mark per producer wins, one row each.
  assert.deepEqual([...(st[1].values[0] as string[])].sort(), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  assert.equal((st[1].values[1] as number[])[(st[1].values[0] as string[]).indexOf('p0')], 98);
});

test('an add undone by its remove in the same batch is not inserted, yet raises lastSeq; a remove then an add keeps the row', () => {
  const st = writeStatements(t, [add('queue://q', 1), { type: 'remove', queue: 'queue://q', seq: 1 }, { type: 'remove', queue: 'queue://q', seq: 2 }, add('queue://q', 2)], 1);
  assert.deepEqual(kinds([add('queue://q', 1), { type: 'remove', queue: 'queue://q', seq: 1 }]), ['DELETE FROM P_ACTIVEMQ_MSGS WHERE (', 'WITH ins']);
  // Removes run first, then the adds that survive.
  assert.deepEqual(st[0].values, [['queue://q', 'queue://q'], [1, 2]]);
  assert.deepEqual(st[1].values[1], [2]);
  assert.deepEqual([st[1].values[8], st[1].values[9]], [['queue://q'], [2]]);
});

test('a destination removal cuts the batch: adds before it are removed with it, adds after it stay', () => {
  const ops: StoreOp[] = [
    add('queue://tmp', 1),
    { type: 'destination-remove', destination: { kind: 'queue', name: 'tmp' } },
    { type: 'destination-add', destination: { kind: 'queue', name: 'tmp' } },
    add('queue://tmp', 1),
    { type: 'tx-commit', txId: 'tx' },
  ];
  assert.deepEqual(kinds(ops), [
    'WITH ins',
    'DELETE FROM P_QMQ_DESTINATIONS',
    'DELETE FROM P_ACTIVEMQ_MSGS WHERE CONTAINER',
    'DELETE FROM P_QMQ_QUEUES',
    'WITH ins',
    'INSERT INTO P_QMQ_DESTINATIONS',
    'INSERT INTO P_QMQ_TRANSACTIONS',
  ]);
});

test('the message codec round-trips every field and keeps binary bodies raw', () => {
  const m = { ...msg(7), originalDestination: { kind: 'topic' as const, name: 't' }, producerId: 'p', producerSeq: 9 };
  const row = encodeMessage(m);
  assert.ok(row.subarray(row.length - 3).equals(Buffer.from([0, 7, 255])));
  assert.deepEqual(decodeMessage(row), m);
});
