import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Collector, connectTo, openKit, queue, sendReq, settle, subReq, until } from './broker-test-kit.js';

test('NACK redelivers with a rising count, then dead-letters after maximumRedeliveries (6) keeping the original destination', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('orders')), s);
  await c.send(sendReq(queue('orders'), 'poison', { persistent: true }));
  for (let i = 0; i <= 6; i++) {
    await until(() => s.deliveries.length === i + 1, `delivery ${i + 1}`);
    assert.equal(s.last.message.redeliveryCount, i);
    assert.equal(s.last.redelivered, i > 0);
    await c.nack(s.last.tag);
  }
  await settle();
  assert.equal(s.deliveries.length, 7, 'no eighth delivery');
  const dlq = await store.read('queue://ActiveMQ.DLQ', 0, 10);
  assert.equal(dlq.length, 1);
  assert.deepEqual(dlq[0].message.originalDestination, { kind: 'queue', name: 'orders' });
  assert.deepEqual(dlq[0].message.destination, { kind: 'queue', name: 'ActiveMQ.DLQ' });
  assert.equal(dlq[0].message.headers.dlqDeliveryFailureCause, "Delivery[7] exceeds the redelivery policy's maximumRedeliveries");
  // ActiveMQ stamps every dead letter with its expiration before clearing it.
  assert.equal(dlq[0].message.headers.originalExpiration, '0');
  assert.equal((await store.read('queue://orders', 0, 10)).length, 0);
  const d = new Collector();
  c.subscribe(subReq('d', queue('ActiveMQ.DLQ')), d);
  await until(() => d.deliveries.length === 1, 'DLQ delivery');
  assert.equal(d.last.message.body.toString(), 'poison');
  await core.close();
});

test('NACK waits redeliveryDelayMs on the clock before redelivering', async () => {
  const { core, clock } = await openKit({ defaultRedeliveryPolicy: { maximumRedeliveries: 3, redeliveryDelayMs: 1000 } });
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q')), s);
  await c.send(sendReq(queue('q'), 'x'));
  await until(() => s.deliveries.length === 1, 'first delivery');
  await c.nack(s.last.tag);
  clock.advance(999);
  await settle();
  assert.equal(s.deliveries.length, 1);
  clock.advance(1);
  await until(() => s.deliveries.length === 2, 'redelivery after the delay');
  await core.close();
});

test('messages returned by closing consumers hit the same limit', async () => {
  const { core, store } = await openKit({ defaultRedeliveryPolicy: { maximumRedeliveries: 1, redeliveryDelayMs: 0 } });
  const p = connectTo(core);
  await p.send(sendReq(queue('q'), 'm', { persistent: true }));
  for (let i = 0; i < 2; i++) {
    const c = connectTo(core);
    const s = new Collector();
    c.subscribe(subReq('s', queue('q')), s);
    await until(() => s.deliveries.length === 1, `delivery ${i}`);
    await c.close();
  }
  await settle();
  assert.equal((await store.read('queue://ActiveMQ.DLQ', 0, 10)).length, 1);
  await core.close();
});

test('non-persistent messages past the limit are dropped, not dead-lettered (processNonPersistent=false)', async () => {
  const { core } = await openKit({ defaultRedeliveryPolicy: { maximumRedeliveries: 0, redeliveryDelayMs: 0 } });
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q')), s);
  await c.send(sendReq(queue('q'), 'm'));
  await until(() => s.deliveries.length === 1, 'delivery');
  await c.nack(s.last.tag);
  await settle();
  assert.equal(core.stats().destinations.find((d) => d.name === 'ActiveMQ.DLQ'), undefined);
  assert.equal(core.stats().destinations.find((d) => d.name === 'q')?.depth, 0);
  await core.close();
});

test('individual dead-letter strategy names the DLQ after the queue', async () => {
  const { core, store } = await openKit({
    policies: [
      {
        queue: '>',
        prioritizedMessages: false,
        redeliveryPolicy: { maximumRedeliveries: 0, redeliveryDelayMs: 0 },
        deadLetterStrategy: {
          kind: 'individual',
          queuePrefix: 'DLQ.',
          topicPrefix: 'DLQ.',
          useQueueForQueueMessages: true,
          useQueueForTopicMessages: true,
          processExpired: true,
          processNonPersistent: false,
        },
      },
    ],
  });
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('billing')), s);
  await c.send(sendReq(queue('billing'), 'm', { persistent: true }));
  await until(() => s.deliveries.length === 1, 'delivery');
  await c.nack(s.last.tag);
  await until(() => core.stats().destinations.some((d) => d.name === 'DLQ.billing' && d.depth === 1), 'DLQ.billing');
  assert.equal((await store.read('queue://DLQ.billing', 0, 10))[0].message.originalDestination?.name, 'billing');
  await core.close();
});
