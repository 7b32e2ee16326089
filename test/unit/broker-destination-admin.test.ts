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
