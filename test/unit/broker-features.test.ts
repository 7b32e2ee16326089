import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QmqError } from '../../src/util/errors.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { Collector, connectTo, openKit, queue, sendAll, sendReq, settle, subReq, until } from './broker-test-kit.js';

const code = (name: string) => (e: unknown) => e instanceof QmqError && e.codeName === name;

test('transactions: sends are invisible until commit, which writes one batch with tx-commit', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q')), s);
  c.begin('tx1');
  assert.throws(() => c.begin('tx1'), code('TRANSACTION_EXISTS'));
  await c.send(sendReq(queue('q'), 'one', { persistent: true }), 'tx1');
  await c.send(sendReq(queue('q'), 'two', { persistent: true }), 'tx1');
  await settle();
  assert.equal(s.deliveries.length, 0);
  assert.equal((await store.read('queue://q', 0, 10)).length, 0);
  const writes: number[] = [];
  const orig = store.write.bind(store);
  store.write = async (ops) => {
    writes.push(ops.length);
    return orig(ops);
  };
  await c.commit('tx1');
  assert.deepEqual(writes, [3], 'two adds and the tx-commit in one batch');
  assert.equal(await store.isTransactionCommitted('tx1'), true);
  await until(() => s.deliveries.length === 2, 'committed messages');
  assert.deepEqual(s.bodies(), ['one', 'two']);
  await assert.rejects(c.commit('tx1'), code('UNKNOWN_TRANSACTION'));
  assert.throws(() => c.abort('nope'), code('UNKNOWN_TRANSACTION'));
  await assert.rejects(c.send(sendReq(queue('q'), 'x'), 'nope'), code('UNKNOWN_TRANSACTION'));
  await core.close();
});

test('transactions: abort drops sends; acks in an aborted transaction stay unacked and come back when the consumer closes', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  await c.send(sendReq(queue('q'), 'm', { persistent: true }));
  const s = new Collector();
  c.subscribe(subReq('s', queue('q'), { prefetch: 1 }), s);
  await until(() => s.deliveries.length === 1, 'delivery');
  c.begin('t');
  await c.send(sendReq(queue('q'), 'dropped', { persistent: true }), 't');
  await c.ack(s.last.tag, 't');
  c.abort('t');
  await settle();
  assert.equal((await store.read('queue://q', 0, 10)).length, 1, 'the acked message is still stored, the send is gone');
  assert.equal(s.deliveries.length, 1);
  c.unsubscribe('s');
  const s2 = new Collector();
  c.subscribe(subReq('s2', queue('q')), s2);
  await until(() => s2.deliveries.length === 1, 'redelivery');
  assert.equal(s2.last.redelivered, true);
  await core.close();
});

test('transactions: committed acks remove the messages; closing the connection aborts open transactions', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  await sendAll(c, queue('q'), ['a', 'b'], { persistent: true });
  const s = new Collector();
  c.subscribe(subReq('s', queue('q')), s);
  await until(() => s.deliveries.length === 2, 'deliveries');
  c.begin('t');
  await c.ack(s.deliveries[0].tag, 't');
  await c.commit('t');
  assert.deepEqual((await store.read('queue://q', 0, 10)).map((r) => r.message.body.toString()), ['b']);
  c.begin('open');
  await c.send(sendReq(queue('q'), 'never', { persistent: true }), 'open');
  await c.close();
  const c2 = connectTo(core);
  const s2 = new Collector();
  c2.subscribe(subReq('s', queue('q')), s2);
  await until(() => s2.deliveries.length === 1, 'b redelivered');
  await settle();
  assert.deepEqual(s2.bodies(), ['b']);
  await core.close();
});

test('expiry: expired messages are never dispatched; the sweep moves persistent ones to the DLQ', async () => {
  const { core, clock, store } = await openKit();
  const c = connectTo(core);
  const now = clock.now();
  await c.send(sendReq(queue('q'), 'short', { persistent: true, expires: now + 1000 }));
  await c.send(sendReq(queue('q'), 'np-short', { expires: now + 1000 }));
  await c.send(sendReq(queue('q'), 'forever', { persistent: true }));
  clock.advance(30_000); // past the expiry, and the periodic sweep fires
  await settle();
  assert.deepEqual((await store.read('queue://q', 0, 10)).map((r) => r.message.body.toString()), ['forever']);
  const dead = await store.read('queue://ActiveMQ.DLQ', 0, 10);
  assert.deepEqual(dead.map((r) => r.message.body.toString()), ['short']);
  // ActiveMQ's properties on a dead-lettered message: why it died and when it was to expire.
  assert.equal(dead[0].message.headers.dlqDeliveryFailureCause, `java.lang.Throwable: Message Expired. Expiration:${now + 1000}`);
  assert.equal(dead[0].message.headers.originalExpiration, String(now + 1000));
  assert.equal(dead[0].message.expires, 0);
  await c.send(sendReq(queue('q'), 'late', { expires: clock.now() + 10 }));
  clock.advance(10);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q')), s);
  await until(() => s.deliveries.length === 1, 'delivery');
  await settle();
  assert.deepEqual(s.bodies(), ['forever']);
  await core.close();
});

test('message groups stick to one consumer until it leaves', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const a = new Collector();
  const b = new Collector();
  c.subscribe(subReq('a', queue('q')), a);
  c.subscribe(subReq('b', queue('q')), b);
  for (let i = 0; i < 6; i++) await c.send(sendReq(queue('q'), `g${i}`, { headers: { JMSXGroupID: 'G' } }));
  await settle();
  const owner = a.deliveries.length > 0 ? a : b;
  assert.equal(owner.deliveries.length, 6);
  c.unsubscribe(owner === a ? 'a' : 'b');
  const survivor = owner === a ? b : a;
  await until(() => survivor.deliveries.length === 6, 'group moved to the other consumer');
  await c.send(sendReq(queue('q'), 'after', { headers: { JMSXGroupID: 'G' } }));
  await until(() => survivor.deliveries.length === 7, 'new group message to the new owner');
  await core.close();
});

test('exclusive consumer: only it receives; the next takes over when it leaves', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const plain = new Collector();
  const ex = new Collector();
  c.subscribe(subReq('plain', queue('q')), plain);
  c.subscribe(subReq('ex', queue('q'), { exclusive: true }), ex);
  await sendAll(c, queue('q'), ['1', '2', '3']);
  await settle();
  assert.equal(ex.deliveries.length, 3);
  assert.equal(plain.deliveries.length, 0);
  c.unsubscribe('ex');
  await until(() => plain.deliveries.length === 3, 'failover to the remaining consumer');
  await core.close();
});

test('consumer priority: the higher-priority consumer is served first', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const low = new Collector();
  const high = new Collector();
  c.subscribe(subReq('low', queue('q'), { consumerPriority: 1 }), low);
  c.subscribe(subReq('high', queue('q'), { consumerPriority: 9, prefetch: 2 }), high);
  await sendAll(c, queue('q'), ['1', '2', '3']);
  await settle();
  assert.deepEqual(high.bodies(), ['1', '2']);
  assert.deepEqual(low.bodies(), ['3']);
  await core.close();
});

test('browsing: a snapshot without consuming, honouring the selector, then browseEnd', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  await c.send(sendReq(queue('q'), 'red', { headers: { color: 'red' } }));
  await c.send(sendReq(queue('q'), 'blue', { headers: { color: 'blue' } }));
  const all = new Collector();
  const paused = c.subscribe(subReq('all', queue('q'), { browser: true, startPaused: true }), all);
  const blue = new Collector();
  c.subscribe(subReq('blue', queue('q'), { browser: true, selector: "color = 'blue'" }), blue);
  await settle();
  assert.equal(all.deliveries.length, 0, 'paused until start');
  paused.start();
  await until(() => all.browseEnded && blue.browseEnded, 'browse ends');
  assert.deepEqual(all.bodies(), ['red', 'blue']);
  assert.deepEqual(blue.bodies(), ['blue']);
  await assert.rejects(c.ack(all.deliveries[0].tag), code('UNKNOWN_MESSAGE'));
  const consumer = new Collector();
  c.subscribe(subReq('real', queue('q')), consumer);
  await until(() => consumer.deliveries.length === 2, 'messages still there');
  await core.close();
});

test('subscribe paused: nothing is dispatched until start()', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  await c.send(sendReq(queue('q'), 'm'));
  const s = new Collector();
  const sub = c.subscribe(subReq('s', queue('q'), { startPaused: true }), s);
  await settle();
  assert.equal(s.deliveries.length, 0);
  sub.start();
  await until(() => s.deliveries.length === 1, 'delivery after start');
  assert.throws(() => c.subscribe(subReq('s', queue('q')), s), code('SUBSCRIPTION_EXISTS'));
  assert.throws(() => c.unsubscribe('nope'), code('UNKNOWN_SUBSCRIPTION'));
  await core.close();
});

test('flow control: over the memory limit, send resolves only once consumers make room', async () => {
  const { core } = await openKit({ memoryLimitBytes: 4096 });
  const c = connectTo(core);
  const body = 'x'.repeat(1500);
  await c.send(sendReq(queue('q'), body));
  await c.send(sendReq(queue('q'), body));
  let resolved = false;
  const blocked = c.send(sendReq(queue('q'), body)).then(() => {
    resolved = true;
  });
  await settle();
  assert.equal(resolved, false, 'the third send waits: usage is over the limit');
  assert.ok(core.stats().memory.usedBytes >= 4096);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q'), { ackMode: 'auto' }), s);
  await blocked;
  assert.equal(resolved, true);
  await core.close();
});

test('flow control: a per-destination limit from the policy', async () => {
  const { core } = await openKit({ policies: [{ queue: 'small', prioritizedMessages: false, memoryLimitBytes: 1000 }] });
  const c = connectTo(core);
  let resolved = false;
  const p = c.send(sendReq(queue('small'), 'y'.repeat(2000))).then(() => (resolved = true));
  await c.send(sendReq(queue('other'), 'y'.repeat(2000)));
  await settle();
  assert.equal(resolved, false);
  const s = new Collector();
  c.subscribe(subReq('s', queue('small')), s);
  await until(() => s.deliveries.length === 1, 'delivery');
  await c.ack(s.last.tag);
  await p;
  await core.close();
});

test('duplicate detection: a resend at or below the high-water mark is dropped but resolves, also after restart', async () => {
  const store = new MemoryStore();
  const first = await openKit({}, store);
  const c = connectTo(first.core);
  await c.send(sendReq(queue('q'), 'one', { persistent: true, producerId: 'P', producerSeq: 1 }));
  await c.send(sendReq(queue('q'), 'one-again', { persistent: true, producerId: 'P', producerSeq: 1 }));
  await c.send(sendReq(queue('q'), 'two', { persistent: true, producerId: 'P', producerSeq: 2 }));
  await c.send(sendReq(queue('q'), 'no-id', { persistent: true }));
  await c.send(sendReq(queue('q'), 'no-id', { persistent: true }));
  assert.deepEqual((await store.read('queue://q', 0, 10)).map((r) => r.message.body.toString()), ['one', 'two', 'no-id', 'no-id']);
  await first.core.close();
  const second = await openKit({}, store);
  const c2 = connectTo(second.core);
  await c2.send(sendReq(queue('q'), 'two-again', { persistent: true, producerId: 'P', producerSeq: 2 }));
  await c2.send(sendReq(queue('q'), 'three', { persistent: true, producerId: 'P', producerSeq: 3 }));
  assert.deepEqual((await store.read('queue://q', 0, 10)).map((r) => r.message.body.toString()), ['one', 'two', 'no-id', 'no-id', 'three']);
  await second.core.close();
});

test('recovery: persistent queue messages come back after a restart, seqs continue, unacked ones included', async () => {
  const store = new MemoryStore();
  const first = await openKit({}, store);
  const c = connectTo(first.core);
  await sendAll(c, queue('q'), ['a', 'b', 'c'], { persistent: true });
  await c.send(sendReq(queue('q'), 'np'));
  const s = new Collector();
  c.subscribe(subReq('s', queue('q')), s);
  await until(() => s.deliveries.length === 4, 'deliveries');
  await c.ack(s.deliveries[0].tag);
  await first.core.close();
  const second = await openKit({}, store);
  assert.equal(second.core.stats().destinations.find((d) => d.name === 'q')?.depth, 2);
  const c2 = connectTo(second.core);
  await c2.send(sendReq(queue('q'), 'd', { persistent: true }));
  const s2 = new Collector();
  c2.subscribe(subReq('s', queue('q')), s2);
  await until(() => s2.deliveries.length === 3, 'recovered deliveries');
  assert.deepEqual(s2.bodies(), ['b', 'c', 'd']);
  // What was stored before the restart may have been delivered already (its ack could have died
  // with the old broker): it comes back flagged; what was sent after the restart does not.
  assert.deepEqual(s2.deliveries.map((d) => d.redelivered), [true, true, false]);
  const seqs = (await store.read('queue://q', 0, 10)).map((r) => r.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
  assert.equal(new Set(seqs).size, 3);
  await second.core.close();
});

test('transactions: a NACK inside a transaction takes effect at commit', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q')), s);
  await c.send(sendReq(queue('q'), 'm'));
  await until(() => s.deliveries.length === 1, 'delivery');
  c.begin('t');
  await c.nack(s.last.tag, 't');
  await settle();
  assert.equal(s.deliveries.length, 1, 'nothing happens before commit');
  await c.commit('t');
  await until(() => s.deliveries.length === 2, 'redelivery after commit');
  assert.equal(s.last.redelivered, true);
  await core.close();
});

test('a composite send of a persistent message is one store write', async () => {
  const { core, store } = await openKit();
  const c = connectTo(core);
  c.subscribe(subReq('a', queue('a')), new Collector()); // create both queues up front
  c.subscribe(subReq('b', queue('b')), new Collector());
  await settle();
  const batches: string[][] = [];
  const orig = store.write.bind(store);
  store.write = async (ops) => {
    batches.push(ops.map((o) => o.type));
    return orig(ops);
  };
  await c.send(sendReq(queue('a,b'), 'x', { persistent: true }));
  assert.deepEqual(batches, [['add', 'add']]);
  await core.close();
});

test('a durable subscriber that closes with unacked messages gets them back, redelivered, on return', async () => {
  const { core } = await openKit();
  const c = connectTo(core, 'cid');
  const s = new Collector();
  c.subscribe(subReq('d', { kind: 'topic', name: 't' }, { durableName: 'x' }), s);
  await c.send(sendReq({ kind: 'topic', name: 't' }, 'm', { persistent: true }));
  await until(() => s.deliveries.length === 1, 'delivery');
  await c.close();
  const c2 = connectTo(core, 'cid');
  const s2 = new Collector();
  c2.subscribe(subReq('d', { kind: 'topic', name: 't' }, { durableName: 'x' }), s2);
  await until(() => s2.deliveries.length === 1, 'redelivery');
  assert.equal(s2.last.redelivered, true);
  assert.equal(s2.last.message.redeliveryCount, 1);
  const st = core.stats().durableSubscriptions[0];
  assert.equal(st.active, true);
  assert.equal(st.inflight, 1);
  await core.close();
});
