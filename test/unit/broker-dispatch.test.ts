import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideDispatch, type DispatchConsumer } from '../../src/broker/dispatch.js';
import { matchesWildcard, isWildcard } from '../../src/broker/wildcard.js';
import { decideRedelivery, deadLetterTarget } from '../../src/broker/redelivery.js';
import { resolvePolicy } from '../../src/broker/policy.js';
import { testConfig } from './broker-test-kit.js';
import type { Message } from '../../src/broker/message.js';

interface M {
  id: string;
  group?: string;
  closes?: boolean;
  color?: string;
}

function consumer(id: string, room: number, over: Partial<DispatchConsumer<M>> = {}): DispatchConsumer<M> {
  return { id, room, priority: 0, exclusive: false, accepts: () => true, ...over };
}

function run(pending: M[], consumers: DispatchConsumer<M>[], groups = new Map<string, string>(), cursor = 0) {
  const d = decideDispatch({ pending, consumers, groups, cursor, group: (m) => (m.group ? { id: m.group, closes: m.closes ?? false } : undefined) });
  return { ...d, pairs: d.assignments.map((a) => `${pending[a.index].id}->${a.consumerId}`) };
}

const msgs = (...ids: string[]): M[] => ids.map((id) => ({ id }));

const table: Array<{ name: string; pending: M[]; consumers: DispatchConsumer<M>[]; groups?: Map<string, string>; want: string[] }> = [
  { name: 'round-robin between equals', pending: msgs('1', '2', '3', '4'), consumers: [consumer('a', 10), consumer('b', 10)], want: ['1->a', '2->b', '3->a', '4->b'] },
  { name: 'prefetch caps each consumer', pending: msgs('1', '2', '3', '4', '5'), consumers: [consumer('a', 1), consumer('b', 2)], want: ['1->a', '2->b', '3->b'] },
  { name: 'a full consumer gets nothing', pending: msgs('1', '2'), consumers: [consumer('a', 0), consumer('b', 5)], want: ['1->b', '2->b'] },
  { name: 'no room anywhere: nothing', pending: msgs('1'), consumers: [consumer('a', 0)], want: [] },
  {
    name: 'higher consumer priority first while it has room',
    pending: msgs('1', '2', '3', '4'),
    consumers: [consumer('low', 10, { priority: 1 }), consumer('high', 2, { priority: 5 })],
    want: ['1->high', '2->high', '3->low', '4->low'],
  },
  {
    name: 'only the first exclusive consumer receives',
    pending: msgs('1', '2', '3'),
    consumers: [consumer('plain', 10), consumer('ex1', 10, { exclusive: true }), consumer('ex2', 10, { exclusive: true })],
    want: ['1->ex1', '2->ex1', '3->ex1'],
  },
  {
    name: 'selectors route around, later messages are not blocked',
    pending: [{ id: '1', color: 'red' }, { id: '2', color: 'blue' }, { id: '3', color: 'red' }],
    consumers: [consumer('blue', 10, { accepts: (m) => m.color === 'blue' })],
    want: ['2->blue'],
  },
  {
    name: 'a message group sticks to its first consumer',
    pending: [{ id: '1', group: 'g' }, { id: '2' }, { id: '3', group: 'g' }, { id: '4', group: 'g' }],
    consumers: [consumer('a', 10), consumer('b', 10)],
    want: ['1->a', '2->b', '3->a', '4->a'],
  },
  {
    name: 'a group whose owner is full holds its messages back',
    pending: [{ id: '1', group: 'g' }, { id: '2', group: 'g' }],
    consumers: [consumer('a', 1), consumer('b', 10)],
    groups: new Map([['g', 'a']]),
    want: ['1->a'],
  },
  {
    name: 'a group whose owner left is reassigned',
    pending: [{ id: '1', group: 'g' }],
    consumers: [consumer('b', 10)],
    groups: new Map([['g', 'gone']]),
    want: ['1->b'],
  },
];

for (const row of table) {
  test(`dispatch: ${row.name}`, () => {
    assert.deepEqual(run(row.pending, row.consumers, row.groups).pairs, row.want);
  });
}

test('dispatch: JMSXGroupSeq -1 closes the group', () => {
  const r = run([{ id: '1', group: 'g' }, { id: '2', group: 'g', closes: true }], [consumer('a', 10), consumer('b', 10)]);
  assert.deepEqual(r.pairs, ['1->a', '2->a']);
  assert.equal(r.groups.has('g'), false);
});

test('dispatch: the cursor carries fairness across decisions', () => {
  const first = run(msgs('1'), [consumer('a', 10), consumer('b', 10)]);
  const second = run(msgs('2'), [consumer('a', 10), consumer('b', 10)], first.groups, first.cursor);
  assert.deepEqual([...first.pairs, ...second.pairs], ['1->a', '2->b']);
});

test('wildcards: * is one element, > is everything below (including nothing, as in ActiveMQ)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', true],
    ['a.>', 'b', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.*.c', 'a.x.c', true],
    ['>', 'anything.at.all', true],
    ['a.b', 'a.b', true],
    ['a.b', 'a.c', false],
  ];
  for (const [p, n, want] of cases) assert.equal(matchesWildcard(p, n), want, `${p} vs ${n}`);
  assert.equal(isWildcard('a.*'), true);
  assert.equal(isWildcard('a.b'), false);
});

test('policies: the most specific matching entry wins; defaults fill the rest', () => {
  const config = testConfig({
    policies: [
      { queue: '>', prioritizedMessages: false, memoryLimitBytes: 1 },
      { queue: 'orders.>', prioritizedMessages: true, memoryLimitBytes: 2 },
      { topic: '>', prioritizedMessages: true, memoryLimitBytes: 3 },
    ],
  });
  assert.equal(resolvePolicy(config, { kind: 'queue', name: 'orders.eu' }).memoryLimitBytes, 2);
  assert.equal(resolvePolicy(config, { kind: 'queue', name: 'misc' }).memoryLimitBytes, 1);
  assert.equal(resolvePolicy(config, { kind: 'topic', name: 'misc' }).memoryLimitBytes, 3);
  const plain = resolvePolicy(testConfig(), { kind: 'queue', name: 'x' });
  assert.equal(plain.prioritizedMessages, false);
  assert.deepEqual(plain.deadLetterStrategy, { kind: 'shared', queueName: 'ActiveMQ.DLQ', processExpired: true, processNonPersistent: false });
  assert.equal(plain.redeliveryPolicy.maximumRedeliveries, 6);
});

const base: Message = {
  id: 'ID:1',
  destination: { kind: 'queue', name: 'orders' },
  headers: {},
  body: Buffer.alloc(0),
  bodyIsBytes: false,
  persistent: true,
  priority: 4,
  expires: 0,
  timestamp: 0,
  redeliveryCount: 0,
};

test('redelivery: counts up to maximumRedeliveries, then dead-letters; -1 never does', () => {
  const policy = { maximumRedeliveries: 2, redeliveryDelayMs: 50 };
  const r1 = decideRedelivery(base, policy);
  assert.equal(r1.action, 'redeliver');
  assert.equal(r1.message.redeliveryCount, 1);
  assert.equal(r1.action === 'redeliver' && r1.delayMs, 50);
  assert.equal(decideRedelivery({ ...base, redeliveryCount: 1 }, policy).action, 'redeliver');
  assert.equal(decideRedelivery({ ...base, redeliveryCount: 2 }, policy).action, 'dead-letter');
  assert.equal(decideRedelivery({ ...base, redeliveryCount: 1000 }, { maximumRedeliveries: -1, redeliveryDelayMs: 0 }).action, 'redeliver');
});

test('dead-letter targets follow the strategy', () => {
  const shared = { kind: 'shared' as const, queueName: 'ActiveMQ.DLQ', processExpired: true, processNonPersistent: false };
  const src = base.destination;
  assert.deepEqual(deadLetterTarget(base, src, shared, 'redelivery'), { kind: 'queue', name: 'ActiveMQ.DLQ' });
  assert.equal(deadLetterTarget({ ...base, persistent: false }, src, shared, 'redelivery'), undefined);
  assert.equal(deadLetterTarget(base, src, { ...shared, processExpired: false }, 'expired'), undefined);
  assert.equal(deadLetterTarget(base, { kind: 'queue', name: 'ActiveMQ.DLQ' }, shared, 'redelivery'), undefined);
  const individual = {
    kind: 'individual' as const,
    queuePrefix: 'DLQ.',
    topicPrefix: 'DLT.',
    useQueueForQueueMessages: true,
    useQueueForTopicMessages: false,
    processExpired: true,
    processNonPersistent: true,
  };
  assert.deepEqual(deadLetterTarget(base, src, individual, 'redelivery'), { kind: 'queue', name: 'DLQ.orders' });
  assert.deepEqual(deadLetterTarget(base, { kind: 'topic', name: 'prices' }, individual, 'redelivery'), { kind: 'topic', name: 'DLT.prices' });
  assert.equal(deadLetterTarget(base, src, { kind: 'discarding' }, 'redelivery'), undefined);
});
