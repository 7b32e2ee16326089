import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WINDOW_MAX_MESSAGES } from '../../src/broker/queue.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { QmqError } from '../../src/util/errors.js';
import { Collector, connectTo, openKit, queue, sendReq, settle, subReq, topic, until } from './broker-test-kit.js';

const statsOf = (core: Awaited<ReturnType<typeof openKit>>['core'], name: string) => core.stats().destinations.find((d) => d.name === name);
const codeOf = (e: unknown) => (e instanceof QmqError ? e.codeName : String(e));

test('purge removes waiting messages, in memory and paged out, and leaves unacknowledged deliveries', async () => {
  const store = new MemoryStore();
  const { core } = await openKit({}, store);
  const c = connectTo(core);
  for (let i = 0; i < 3; i++) await c.send(sendReq(queue('q'), `early-${i}`, { persistent: true }));
  const held = new Collector();
  c.subscribe(subReq('held', queue('q'), { prefetch: 2 }), held);
  await until(() => held.deliveries.length === 2, 'two deliveries');
  const total = WINDOW_MAX_MESSAGES * 2 + 5;
  for (let i = 0; i < total; i++) await c.send(sendReq(queue('q'), `m-${i}`, { persistent: true }));
  assert.equal(statsOf(core, 'q')!.depth, total + 3);

  const purged = await core.purgeQueue(queue('q'));
  assert.equal(purged, total + 1, 'everything but the two delivered messages');
  assert.equal(statsOf(core, 'q')!.depth, 2);
  assert.equal(statsOf(core, 'q')!.inflight, 2);
  assert.equal((await store.read('queue://q', 0, 10_000)).length, 2, 'the store holds only the unacknowledged two');

  // The held deliveries can still be acknowledged, and new sends flow as before.
  await c.ack(held.deliveries[0].tag);
  await c.ack(held.deliveries[1].tag);
  await c.send(sendReq(queue('q'), 'after', { persistent: true }));
  await until(() => held.deliveries.length === 3, 'the send after the purge');
  assert.equal(held.last.message.body.toString(), 'after');
  await core.close();
});

test('purge of an unknown queue or of a topic is refused by name', async () => {
  const { core } = await openKit();
  await assert.rejects(core.purgeQueue(queue('nope')), (e) => codeOf(e) === 'UNKNOWN_DESTINATION' && /nope/.test((e as Error).message));
  await assert.rejects(core.purgeQueue(topic('t')), (e) => codeOf(e) === 'INVALID_DESTINATION');
  await core.close();
});

test('browse shows waiting messages in order up to a limit, and consumes nothing', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  for (let i = 0; i < 5; i++) await c.send(sendReq(queue('b'), `m-${i}`, { persistent: true }));
  const seen = await core.browseQueue(queue('b'), 3);
  assert.deepEqual(
    seen.map((m) => m.message.body.toString()),
    ['m-0', 'm-1', 'm-2'],
  );
  assert.equal(statsOf(core, 'b')!.depth, 5);
  await core.close();
});

test('delete is refused while a consumer reads the queue, then removes it and its messages', async () => {
  const store = new MemoryStore();
  const { core } = await openKit({}, store);
  const c = connectTo(core);
  for (let i = 0; i < 4; i++) await c.send(sendReq(queue('d'), `m-${i}`, { persistent: true }));
  const s = new Collector();
  c.subscribe(subReq('s', queue('d'), { prefetch: 1 }), s);
  await until(() => s.deliveries.length === 1, 'a delivery');
  await assert.rejects(core.deleteDestination(queue('d')), (e) => codeOf(e) === 'DESTINATION_IN_USE' && /1 consumer/.test((e as Error).message));
  c.unsubscribe('s');
  await settle();
  await core.deleteDestination(queue('d'));
  assert.equal(statsOf(core, 'd'), undefined);
  assert.deepEqual(await store.read('queue://d', 0, 100), []);
  await assert.rejects(core.deleteDestination(queue('d')), (e) => codeOf(e) === 'UNKNOWN_DESTINATION');

  // Sending again makes a new, empty queue whose seqs continue above the deleted one's.
  await c.send(sendReq(queue('d'), 'fresh', { persistent: true }));
  const rows = await store.read('queue://d', 0, 100);
  assert.deepEqual(rows.map((r) => r.message.body.toString()), ['fresh']);
  assert.ok(rows[0].seq > 4, `seq ${rows[0].seq} continues above the deleted queue's`);
  await core.close();

  // After a restart only the new queue's message is there.
  const again = await openKit({}, store);
  assert.equal(statsOf(again.core, 'd')!.depth, 1);
  await again.core.close();
});

test('a topic is deleted when nobody subscribes; temporary destinations are refused', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', topic('news'), { ackMode: 'auto' }), s);
  await assert.rejects(c.deleteDestination(topic('news')), (e) => codeOf(e) === 'DESTINATION_IN_USE');
  c.unsubscribe('s');
  await c.deleteDestination(topic('news'));
  assert.equal(statsOf(core, 'news'), undefined);
  const temp = c.temporaryDestination('temp-queue', 'x');
  await assert.rejects(core.deleteDestination(temp), (e) => codeOf(e) === 'INVALID_DESTINATION');
  await core.close();
});

test('a dead letter is retried to where it came from, as the same message with no redeliveries', async () => {
  const { core } = await openKit({ defaultRedeliveryPolicy: { maximumRedeliveries: 0, redeliveryDelayMs: 0 } });
  const c = connectTo(core);
  await c.send(sendReq(queue('work'), 'job-1', { persistent: true, headers: { step: 'a' } }));
  await c.send(sendReq(queue('ActiveMQ.DLQ'), 'stray', { persistent: true }));
  const s = new Collector();
  c.subscribe(subReq('s', queue('work')), s);
  await until(() => s.deliveries.length === 1, 'the delivery');
  await c.nack(s.last.tag);
  await until(() => statsOf(core, 'ActiveMQ.DLQ')?.depth === 2, 'the dead letter');
  c.unsubscribe('s');
  const [dead] = (await core.browseQueue(queue('ActiveMQ.DLQ'), 10)).filter((m) => m.message.body.toString() === 'job-1');
  assert.deepEqual(dead.message.originalDestination, queue('work'));

  // The stray message has no original destination: retrying it says so, and it stays.
  const [stray] = (await core.browseQueue(queue('ActiveMQ.DLQ'), 10)).filter((m) => m.message.body.toString() === 'stray');
  await assert.rejects(core.moveMessage(queue('ActiveMQ.DLQ'), stray.message.id), (e) => codeOf(e) === 'INVALID_DESTINATION' && /no original destination/.test((e as Error).message));
  assert.equal(statsOf(core, 'ActiveMQ.DLQ')!.depth, 2);

  assert.equal(await core.retryMessages(queue('ActiveMQ.DLQ')), 1);
  assert.equal(statsOf(core, 'ActiveMQ.DLQ')!.depth, 1);
  const [back] = await core.browseQueue(queue('work'), 10);
  assert.equal(back.message.id, dead.message.id, 'the same message id, as ActiveMQ resends it');
  assert.equal(back.message.redeliveryCount, 0);
  assert.equal(back.message.headers.step, 'a');
  assert.deepEqual(back.message.originalDestination, queue('ActiveMQ.DLQ'));
  await core.close();
});

test('one waiting message is moved or deleted by id, from memory or from the paged-out backlog', async () => {
  const store = new MemoryStore();
  const { core } = await openKit({}, store);
  const c = connectTo(core);
  const total = WINDOW_MAX_MESSAGES + 20;
  for (let i = 0; i < total; i++) await c.send(sendReq(queue('src'), `m-${i}`, { persistent: true }));
  const all = await core.browseQueue(queue('src'), total);
  const idOf = (i: number) => all[i].message.id;

  assert.deepEqual(await core.moveMessage(queue('src'), idOf(3), queue('dst')), queue('dst'));
  assert.deepEqual(await core.moveMessage(queue('src'), idOf(total - 2), queue('dst')), queue('dst'), 'from the backlog');
  await core.deleteMessage(queue('src'), idOf(5));
  await core.deleteMessage(queue('src'), idOf(total - 1));
  assert.equal(statsOf(core, 'src')!.depth, total - 4);
  assert.deepEqual((await store.read('queue://dst', 0, 10)).map((r) => r.message.body.toString()), ['m-3', `m-${total - 2}`]);
  const left = new Set((await store.read('queue://src', 0, 10_000)).map((r) => r.message.body.toString()));
  assert.equal(left.size, total - 4);
  for (const gone of [3, 5, total - 2, total - 1]) assert.equal(left.has(`m-${gone}`), false, `m-${gone} left the store`);

  await assert.rejects(core.deleteMessage(queue('src'), idOf(3)), (e) => codeOf(e) === 'UNKNOWN_MESSAGE');
  await assert.rejects(core.moveMessage(queue('src'), idOf(4), queue('src')), (e) => codeOf(e) === 'INVALID_DESTINATION');
  // A delivered, unacknowledged message is not waiting: it cannot be moved from under its consumer.
  const s = new Collector();
  c.subscribe(subReq('s', queue('src'), { prefetch: 1 }), s);
  await until(() => s.deliveries.length === 1, 'a delivery');
  await assert.rejects(core.moveMessage(queue('src'), s.last.message.id, queue('dst')), (e) => codeOf(e) === 'UNKNOWN_MESSAGE' && /unacknowledged/.test((e as Error).message));

  // Everything left is delivered in order, none of the moved or deleted ones.
  c.unsubscribe('s');
  const drain = new Collector();
  c.subscribe(subReq('d', queue('src'), { ackMode: 'auto' }), drain);
  await until(() => drain.deliveries.length === total - 4, 'the rest', 10_000);
  assert.equal(new Set(drain.bodies()).size, total - 4);
  for (const gone of [3, 5, total - 2, total - 1]) assert.equal(drain.bodies().includes(`m-${gone}`), false);
  await core.close();
});

test('a browser sees delivered, unacknowledged messages too, in queue order, as ActiveMQ\'s does', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  for (let i = 0; i < 3; i++) await c.send(sendReq(queue('held'), `m-${i}`, { persistent: true }));
  const holder = new Collector();
  c.subscribe(subReq('h', queue('held'), { prefetch: 1 }), holder);
  await until(() => holder.deliveries.length === 1, 'one delivery held');
  assert.deepEqual((await core.browseQueue(queue('held'), 10)).map((m) => m.message.body.toString()), ['m-0', 'm-1', 'm-2']);
  const browser = new Collector();
  connectTo(core).subscribe(subReq('b', queue('held'), { browser: true }), browser);
  await until(() => browser.browseEnded, 'the browse to end');
  assert.deepEqual(browser.bodies(), ['m-0', 'm-1', 'm-2']);
  // Once acknowledged, it is gone from the view.
  await c.ack(holder.last.tag);
  await until(() => holder.deliveries.length === 2, 'the next delivery');
  await c.ack(holder.last.tag);
  await settle();
  assert.deepEqual((await core.browseQueue(queue('held'), 10)).map((m) => m.message.body.toString()), ['m-2']);
  await core.close();
});
