import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QmqError } from '../../src/util/errors.js';
import { Collector, connectTo, openKit, queue, sendAll, sendReq, settle, subReq, until } from './broker-test-kit.js';

test('competing consumers share a queue round-robin and respect prefetch', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const a = new Collector();
  const b = new Collector();
  c.subscribe(subReq('a', queue('q'), { prefetch: 2 }), a);
  c.subscribe(subReq('b', queue('q'), { prefetch: 2 }), b);
  await sendAll(c, queue('q'), ['1', '2', '3', '4', '5', '6']);
  await settle();
  assert.equal(a.deliveries.length, 2);
  assert.equal(b.deliveries.length, 2);
  assert.deepEqual([...a.bodies(), ...b.bodies()].sort(), ['1', '2', '3', '4']);
  // Acking frees a slot: exactly one more message flows to that consumer.
  await c.ack(a.deliveries[0].tag);
  await settle();
  assert.equal(a.deliveries.length, 3);
  assert.equal(b.deliveries.length, 2);
  assert.equal(core.stats().destinations.find((d) => d.name === 'q')?.depth, 5);
  await core.close();
});

test('a closing consumer returns its unacked messages in order, flagged redelivered with a count', async () => {
  const { core } = await openKit();
  const p = connectTo(core);
  const c1 = connectTo(core);
  const first = new Collector();
  c1.subscribe(subReq('s', queue('q'), { prefetch: 10 }), first);
  await sendAll(p, queue('q'), ['a', 'b', 'c'], { persistent: true });
  await until(() => first.deliveries.length === 3, 'three deliveries');
  await c1.ack(first.deliveries[0].tag);
  assert.equal(first.deliveries[0].redelivered, false);
  await c1.close();
  const c2 = connectTo(core);
  const second = new Collector();
  c2.subscribe(subReq('s', queue('q')), second);
  await until(() => second.deliveries.length === 2, 'redeliveries');
  assert.deepEqual(second.bodies(), ['b', 'c']);
  for (const d of second.deliveries) {
    assert.equal(d.redelivered, true);
    assert.equal(d.message.redeliveryCount, 1);
  }
  await core.close();
});

test('client ack is cumulative; client-individual acks one', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  await sendAll(c, queue('cum'), ['1', '2', '3'], { persistent: true });
  await sendAll(c, queue('ind'), ['1', '2', '3'], { persistent: true });
  const cum = new Collector();
  const ind = new Collector();
  c.subscribe(subReq('cum', queue('cum'), { ackMode: 'client' }), cum);
  c.subscribe(subReq('ind', queue('ind'), { ackMode: 'client-individual' }), ind);
  await until(() => cum.deliveries.length === 3 && ind.deliveries.length === 3, 'deliveries');
  await c.ack(cum.deliveries[1].tag);
  await c.ack(ind.deliveries[1].tag);
  assert.deepEqual((await store.read('queue://cum', 0, 10)).map((m) => m.message.body.toString()), ['3']);
  assert.deepEqual((await store.read('queue://ind', 0, 10)).map((m) => m.message.body.toString()), ['1', '3']);
  // The first delivery of the cumulative subscription was covered; acking it again is unknown.
  await assert.rejects(c.ack(cum.deliveries[0].tag), (e: unknown) => e instanceof QmqError && e.codeName === 'UNKNOWN_MESSAGE');
  await c.ack(ind.deliveries[0].tag);
  await core.close();
});

test('auto ack consumes on dispatch and never fills the window', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q'), { ackMode: 'auto', prefetch: 1 }), s);
  await sendAll(c, queue('q'), ['1', '2', '3', '4'], { persistent: true });
  await until(() => s.deliveries.length === 4, 'four deliveries');
  await settle();
  assert.equal((await store.read('queue://q', 0, 10)).length, 0);
  const q = core.stats().destinations.find((d) => d.name === 'q')!;
  assert.equal(q.depth, 0);
  assert.equal(q.dequeueCount, 4);
  await assert.rejects(c.ack(s.deliveries[0].tag), (e: unknown) => e instanceof QmqError && e.codeName === 'UNKNOWN_MESSAGE');
  await core.close();
});

test('ack and nack of an unknown tag are UNKNOWN_MESSAGE', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  await assert.rejects(c.ack(42), (e: unknown) => e instanceof QmqError && e.codeName === 'UNKNOWN_MESSAGE' && /42/.test(e.message));
  await assert.rejects(c.nack(42), (e: unknown) => e instanceof QmqError && e.codeName === 'UNKNOWN_MESSAGE');
  await core.close();
});

test('persistent messages are stored before send resolves; non-persistent ones never touch the store', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  await c.send(sendReq(queue('q'), 'p', { persistent: true }));
  await c.send(sendReq(queue('q'), 'n'));
  const rows = await store.read('queue://q', 0, 10);
  assert.deepEqual(rows.map((r) => r.message.body.toString()), ['p']);
  await core.close();
});

test('FIFO without prioritizedMessages; priority order with it', async () => {
  for (const prioritized of [false, true]) {
    const { core } = await openKit({ policies: prioritized ? [{ queue: '>', prioritizedMessages: true }] : [] });
    const c = connectTo(core);
    await c.send(sendReq(queue('q'), 'low', { priority: 1 }));
    await c.send(sendReq(queue('q'), 'default'));
    await c.send(sendReq(queue('q'), 'high', { priority: 9 }));
    await c.send(sendReq(queue('q'), 'high2', { priority: 9 }));
    const s = new Collector();
    c.subscribe(subReq('s', queue('q')), s);
    await until(() => s.deliveries.length === 4, 'deliveries');
    assert.deepEqual(s.bodies(), prioritized ? ['high', 'high2', 'default', 'low'] : ['low', 'default', 'high', 'high2']);
    assert.equal(s.deliveries[1].message.priority, prioritized ? 9 : 4);
    await core.close();
  }
});
