import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QmqError } from '../../src/util/errors.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { Collector, connectTo, openKit, queue, sendReq, settle, subReq, topic, until } from './broker-test-kit.js';

const code = (name: string) => (e: unknown) => e instanceof QmqError && e.codeName === name;

test('topics fan out to every current subscriber, including wildcard ones', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const exact = new Collector();
  const star = new Collector();
  const rest = new Collector();
  const other = new Collector();
  c.subscribe(subReq('exact', topic('a.b.c')), exact);
  c.subscribe(subReq('star', topic('a.*')), star);
  c.subscribe(subReq('rest', topic('a.>')), rest);
  c.subscribe(subReq('other', topic('b.>')), other);
  await c.send(sendReq(topic('a.b.c'), 'abc'));
  await c.send(sendReq(topic('a.b'), 'ab'));
  await settle();
  assert.deepEqual(exact.bodies(), ['abc']);
  assert.deepEqual(star.bodies(), ['ab']);
  assert.deepEqual(rest.bodies(), ['abc', 'ab']);
  assert.deepEqual(other.bodies(), []);
  await core.close();
});

test('a topic message sent with no subscriber is gone; sends to wildcards are refused', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  await c.send(sendReq(topic('t'), 'lost'));
  const s = new Collector();
  c.subscribe(subReq('s', topic('t')), s);
  await c.send(sendReq(topic('t'), 'seen'));
  await settle();
  assert.deepEqual(s.bodies(), ['seen']);
  await assert.rejects(c.send(sendReq(topic('a.>'), 'x')), code('INVALID_DESTINATION'));
  await assert.rejects(c.send(sendReq(queue('a.*'), 'x')), code('INVALID_DESTINATION'));
  await core.close();
});

test('topic selectors and noLocal filter at fan-out', async () => {
  const { core } = await openKit();
  const me = connectTo(core);
  const other = connectTo(core);
  const sel = new Collector();
  const local = new Collector();
  me.subscribe(subReq('sel', topic('t'), { selector: 'price > 10' }), sel);
  me.subscribe(subReq('local', topic('t'), { noLocal: true }), local);
  await me.send(sendReq(topic('t'), 'mine', { headers: { price: '12' } }));
  await other.send(sendReq(topic('t'), 'theirs', { headers: { price: '5' } }));
  await settle();
  assert.deepEqual(sel.bodies(), ['mine']);
  assert.deepEqual(local.bodies(), ['theirs']);
  assert.throws(() => me.subscribe(subReq('bad', topic('t'), { selector: 'price >' }), new Collector()), code('INVALID_SELECTOR'));
  await core.close();
});

test('durable subscriptions keep messages while offline and deliver the backlog on return', async () => {
  const { core, store } = await openKit();
  const sub1 = connectTo(core, 'client-1');
  const s1 = new Collector();
  sub1.subscribe(subReq('d', topic('news'), { durableName: 'n' }), s1);
  const p = connectTo(core);
  await p.send(sendReq(topic('news'), 'online', { persistent: true }));
  await until(() => s1.deliveries.length === 1, 'online delivery');
  await sub1.ack(s1.last.tag);
  await sub1.close();
  await p.send(sendReq(topic('news'), 'offline-p', { persistent: true }));
  await p.send(sendReq(topic('news'), 'offline-np'));
  assert.deepEqual((await store.read('dsub://client-1:n', 0, 10)).map((r) => r.message.body.toString()), ['offline-p']);
  const sub2 = connectTo(core, 'client-1');
  const s2 = new Collector();
  sub2.subscribe(subReq('d', topic('news'), { durableName: 'n' }), s2);
  await until(() => s2.deliveries.length === 2, 'backlog');
  assert.deepEqual(s2.bodies(), ['offline-p', 'offline-np']);
  await core.close();
});

test('durable subscription errors: client id, queues, a second consumer, removal rules', async () => {
  const { core, store } = await openKit();
  const anon = connectTo(core);
  assert.throws(() => anon.subscribe(subReq('d', topic('t'), { durableName: 'x' }), new Collector()), code('CLIENT_ID_REQUIRED'));
  const c = connectTo(core, 'cid');
  assert.throws(() => c.subscribe(subReq('q', queue('q'), { durableName: 'x' }), new Collector()), code('DURABLE_ON_QUEUE'));
  c.subscribe(subReq('d1', topic('t'), { durableName: 'x' }), new Collector());
  assert.throws(() => c.subscribe(subReq('d2', topic('t'), { durableName: 'x' }), new Collector()), code('SUBSCRIPTION_EXISTS'));
  assert.throws(() => connectTo(core, 'cid'), code('CLIENT_ID_IN_USE'));
  await assert.rejects(c.removeDurableSubscription('x'), code('DESTINATION_IN_USE'));
  await assert.rejects(c.removeDurableSubscription('nope'), code('UNKNOWN_SUBSCRIPTION'));
  c.unsubscribe('d1');
  await c.send(sendReq(topic('t'), 'kept', { persistent: true }));
  await settle();
  assert.equal((await store.read('dsub://cid:x', 0, 10)).length, 1);
  await c.removeDurableSubscription('x');
  assert.equal((await store.read('dsub://cid:x', 0, 10)).length, 0);
  assert.equal(core.stats().durableSubscriptions.length, 0);
  // After removal, messages are no longer kept for it.
  await c.send(sendReq(topic('t'), 'dropped', { persistent: true }));
  const s = new Collector();
  c.subscribe(subReq('d3', topic('t'), { durableName: 'x' }), s);
  await settle();
  assert.deepEqual(s.bodies(), []);
  await core.close();
});

test('durable subscriptions and their backlog survive a broker restart on the same store', async () => {
  const store = new MemoryStore();
  const first = await openKit({}, store);
  const c = connectTo(first.core, 'cid');
  c.subscribe(subReq('d', topic('t'), { durableName: 'x', selector: "kind = 'a'" }), new Collector());
  c.unsubscribe('d');
  await c.send(sendReq(topic('t'), 'a1', { persistent: true, headers: { kind: 'a' } }));
  await c.send(sendReq(topic('t'), 'b1', { persistent: true, headers: { kind: 'b' } }));
  await first.core.close();

  const second = await openKit({}, store);
  const p = connectTo(second.core);
  await p.send(sendReq(topic('t'), 'a2', { persistent: true, headers: { kind: 'a' } }));
  const c2 = connectTo(second.core, 'cid');
  const s = new Collector();
  c2.subscribe(subReq('d', topic('t'), { durableName: 'x', selector: "kind = 'a'" }), s);
  await until(() => s.deliveries.length === 2, 'recovered backlog');
  assert.deepEqual(s.bodies(), ['a1', 'a2']);
  await second.core.close();
});

test('temporary destinations belong to their connection', async () => {
  const { core } = await openKit();
  const owner = connectTo(core);
  const other = connectTo(core);
  const tq = owner.temporaryDestination('temp-queue', 'replies');
  assert.deepEqual(owner.temporaryDestination('temp-queue', 'replies'), tq, 'idempotent per connection and name');
  assert.equal(tq.kind, 'temp-queue');
  assert.match(tq.name, /^ID:.+:replies$/);
  const s = new Collector();
  owner.subscribe(subReq('r', tq), s);
  await other.send(sendReq(tq, 'reply'));
  await until(() => s.deliveries.length === 1, 'reply');
  assert.throws(() => other.subscribe(subReq('x', tq), new Collector()), code('INVALID_DESTINATION'));
  const tt = owner.temporaryDestination('temp-topic', 'events');
  const ts = new Collector();
  owner.subscribe(subReq('t', tt), ts);
  await other.send(sendReq(tt, 'event'));
  await until(() => ts.deliveries.length === 1, 'temp topic event');
  await owner.close();
  await assert.rejects(other.send(sendReq(tq, 'late')), code('INVALID_DESTINATION'));
  await assert.rejects(other.send(sendReq(tt, 'late')), code('INVALID_DESTINATION'));
  assert.equal(core.stats().destinations.some((d) => d.kind === 'temp-queue'), false);
  await core.close();
});

test('a temporary destination deleted by its owner is gone; not while its own consumer reads it; global names are kept', async () => {
  const { core } = await openKit();
  const owner = connectTo(core);
  const other = connectTo(core);
  const tq = owner.temporaryDestination('temp-queue', 'ID:client-1:1:1', { nameIsGlobal: true });
  assert.deepEqual(tq, { kind: 'temp-queue', name: 'ID:client-1:1:1' });
  assert.throws(() => other.temporaryDestination('temp-queue', 'ID:client-1:1:1', { nameIsGlobal: true }), code('INVALID_DESTINATION'));
  owner.subscribe(subReq('r', tq), new Collector());
  assert.throws(() => owner.deleteTemporaryDestination(tq), code('DESTINATION_IN_USE'));
  assert.throws(() => other.deleteTemporaryDestination(tq), code('INVALID_DESTINATION'));
  owner.unsubscribe('r');
  await other.send(sendReq(tq, 'pending'));
  owner.deleteTemporaryDestination(tq);
  assert.equal(core.stats().destinations.some((d) => d.kind === 'temp-queue'), false);
  await assert.rejects(other.send(sendReq(tq, 'late')), code('INVALID_DESTINATION'));
  // Deleting again, or a name never created, changes nothing.
  owner.deleteTemporaryDestination(tq);
  await core.close();
});

test('reply-to is stored as the canonical destination key', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('req')), s);
  await c.send(sendReq(queue('req'), 'q', { replyTo: { kind: 'temp-queue', name: 'ID:x:1' } }));
  await until(() => s.deliveries.length === 1, 'request');
  assert.equal(s.last.message.headers['reply-to'], 'temp-queue://ID:x:1');
  await core.close();
});

test('composite destinations send to and subscribe to each name', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const a = new Collector();
  const b = new Collector();
  c.subscribe(subReq('a', queue('a')), a);
  c.subscribe(subReq('b', queue('b')), b);
  await c.send(sendReq(queue('a,b'), 'both'));
  await until(() => a.deliveries.length === 1 && b.deliveries.length === 1, 'both queues');
  assert.deepEqual(a.last.message.destination, queue('a'));
  const both = new Collector();
  c.subscribe(subReq('ab', topic('x, y')), both);
  await c.send(sendReq(topic('x'), 'to-x'));
  await c.send(sendReq(topic('y'), 'to-y'));
  await until(() => both.deliveries.length === 2, 'composite subscription');
  await core.close();
});

test('a wildcard queue subscription consumes from every matching queue, including later ones', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  await c.send(sendReq(queue('jobs.a'), 'a'));
  const s = new Collector();
  c.subscribe(subReq('s', queue('jobs.>')), s);
  await until(() => s.deliveries.length === 1, 'existing queue');
  await c.send(sendReq(queue('jobs.b.c'), 'bc'));
  await c.send(sendReq(queue('other'), 'no'));
  await until(() => s.deliveries.length === 2, 'queue created later');
  await settle();
  assert.deepEqual(s.bodies(), ['a', 'bc']);
  await c.ack(s.deliveries[0].tag);
  c.unsubscribe('s');
  assert.equal(core.stats().destinations.find((d) => d.name === 'jobs.b.c')?.depth, 1);
  await core.close();
});

test('stats: topics count enqueues and consumed deliveries; queues count depth and in-flight', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', topic('t')), s);
  c.subscribe(subReq('q', queue('q'), { prefetch: 1 }), new Collector());
  await c.send(sendReq(topic('t'), 'x'));
  await c.send(sendReq(queue('q'), 'a'));
  await c.send(sendReq(queue('q'), 'b'));
  await until(() => s.deliveries.length === 1, 'topic delivery');
  await c.ack(s.last.tag);
  await settle();
  const stats = core.stats();
  assert.deepEqual(
    stats.destinations.map((d) => [d.kind, d.name, d.enqueueCount, d.dequeueCount, d.consumerCount, d.depth, d.inflight]),
    [
      ['queue', 'q', 2, 0, 1, 2, 1],
      ['topic', 't', 1, 1, 1, 0, 0],
    ],
  );
  assert.equal(stats.connections, 1);
  assert.ok(stats.memory.usedBytes > 0);
  await core.close();
});
