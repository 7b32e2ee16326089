import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { consumerQueuePatterns } from '../../src/broker/virtual-topics.js';
import { DEFAULT_VIRTUAL_TOPIC } from '../../src/config/defaults.js';
import type { VirtualTopicRule } from '../../src/config/types.js';
import { Collector, connectTo, openKit, queue, sendReq, settle, subReq, topic } from './broker-test-kit.js';

describe('virtual topic rules (ActiveMQ VirtualTopic)', () => {
  const custom: VirtualTopicRule = { name: 'events.>', prefix: 'Q.*.', postfix: '.in' };
  const cases: Array<[string, VirtualTopicRule[], string, string[]]> = [
    ['the default rule', [DEFAULT_VIRTUAL_TOPIC], 'VirtualTopic.Orders', ['Consumer.*.VirtualTopic.Orders']],
    ['a topic outside the pattern', [DEFAULT_VIRTUAL_TOPIC], 'Orders', []],
    ['a prefix that only looks alike', [DEFAULT_VIRTUAL_TOPIC], 'VirtualTopicOrders', []],
    ['prefix and postfix of a custom rule', [custom], 'events.a.b', ['Q.*.events.a.b.in']],
    ['two rules matching', [DEFAULT_VIRTUAL_TOPIC, { name: '>', prefix: 'All.*.', postfix: '' }], 'VirtualTopic.X', ['Consumer.*.VirtualTopic.X', 'All.*.VirtualTopic.X']],
    ['no rules (useVirtualTopics="false")', [], 'VirtualTopic.X', []],
  ];
  for (const [what, rules, name, expected] of cases) {
    test(what, () => assert.deepEqual(consumerQueuePatterns(rules, name), expected));
  }
});

describe('virtual topics in the broker', () => {
  test('each existing consumer queue gets a copy that names the topic; the topic subscribers get theirs', async () => {
    const { core } = await openKit();
    const c = connectTo(core);
    const a1 = new Collector();
    const a2 = new Collector();
    const b = new Collector();
    const plain = new Collector();
    c.subscribe(subReq('a1', queue('Consumer.A.VirtualTopic.Orders'), { prefetch: 1 }), a1);
    c.subscribe(subReq('a2', queue('Consumer.A.VirtualTopic.Orders'), { prefetch: 1 }), a2);
    c.subscribe(subReq('b', queue('Consumer.B.VirtualTopic.Orders')), b);
    c.subscribe(subReq('t', topic('VirtualTopic.Orders')), plain);
    await c.send(sendReq(topic('VirtualTopic.Orders'), 'o1'));
    await c.send(sendReq(topic('VirtualTopic.Orders'), 'o2'));
    await settle();
    // Group A shares one queue between its consumers; group B and the topic subscriber get everything.
    assert.deepEqual([...a1.bodies(), ...a2.bodies()].sort(), ['o1', 'o2']);
    assert.deepEqual(b.bodies(), ['o1', 'o2']);
    assert.deepEqual(plain.bodies(), ['o1', 'o2']);
    assert.deepEqual(b.last.message.destination, queue('Consumer.B.VirtualTopic.Orders'));
    assert.deepEqual(b.last.message.originalDestination, topic('VirtualTopic.Orders'));
    assert.equal(plain.last.message.originalDestination, undefined);
    await core.close();
  });

  test('a consumer queue keeps what arrives while its consumers are away, and gets nothing sent before it existed', async () => {
    const { core } = await openKit();
    const c = connectTo(core);
    await c.send(sendReq(topic('VirtualTopic.Late'), 'before the queue'));
    const first = new Collector();
    c.subscribe(subReq('s', queue('Consumer.A.VirtualTopic.Late')), first);
    c.unsubscribe('s');
    await c.send(sendReq(topic('VirtualTopic.Late'), 'while away', { persistent: true }));
    const back = new Collector();
    c.subscribe(subReq('s2', queue('Consumer.A.VirtualTopic.Late')), back);
    await settle();
    assert.deepEqual(first.bodies(), []);
    assert.deepEqual(back.bodies(), ['while away']);
    await core.close();
  });

  test('without rules a topic send reaches no queue', async () => {
    const { core } = await openKit({ virtualTopics: [] });
    const c = connectTo(core);
    const q = new Collector();
    c.subscribe(subReq('q', queue('Consumer.A.VirtualTopic.Off')), q);
    await c.send(sendReq(topic('VirtualTopic.Off'), 'x'));
    await settle();
    assert.deepEqual(q.bodies(), []);
    await core.close();
  });
});
