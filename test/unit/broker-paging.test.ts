import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { WINDOW_MAX_MESSAGES } from '../../src/broker/queue.js';
import { Collector, connectTo, openKit, queue, sendReq, subReq, until } from './broker-test-kit.js';

const COUNT = WINDOW_MAX_MESSAGES * 3 + 17;
/** Fixed-width bodies so every message has the same size. */
const body = (i: number) => String(i).padStart(6, '0');

test('a persistent backlog beyond the window stays in the store and is paged in, in order', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  for (let i = 0; i < COUNT; i++) await c.send(sendReq(queue('big'), body(i), { persistent: true }));
  const q = () => core.stats().destinations.find((d) => d.name === 'big')!;
  assert.equal(q().depth, COUNT);
  // messageSizeBytes: body + 128 bytes of overhead, no headers.
  const perMessage = 6 + 128;
  assert.equal(q().memoryBytes, WINDOW_MAX_MESSAGES * perMessage, 'exactly the window is held in memory');
  const s = new Collector();
  c.subscribe(subReq('s', queue('big'), { prefetch: 100 }), s);
  let acked = 0;
  // Ack as we go, the way a real consumer would, and check memory never exceeds the window.
  let maxMemory = 0;
  while (acked < COUNT) {
    await until(() => s.deliveries.length > acked, `delivery ${acked}`);
    maxMemory = Math.max(maxMemory, q().memoryBytes);
    await c.ack(s.deliveries[acked].tag);
    acked++;
  }
  assert.deepEqual(s.bodies(), Array.from({ length: COUNT }, (_, i) => body(i)));
  assert.ok(maxMemory <= (WINDOW_MAX_MESSAGES + 100) * perMessage, `memory stayed bounded (${maxMemory} bytes)`);
  assert.equal(q().depth, 0);
  await core.close();
});

test('a recovered queue starts paged out and delivers its whole backlog in order', async () => {
  const store = new MemoryStore();
  const first = await openKit({}, store);
  const c = connectTo(first.core);
  for (let i = 0; i < COUNT; i++) await c.send(sendReq(queue('big'), body(i), { persistent: true }));
  await first.core.close();
  const second = await openKit({}, store);
  const q = second.core.stats().destinations.find((d) => d.name === 'big')!;
  assert.equal(q.depth, COUNT);
  assert.equal(q.memoryBytes, 0, 'nothing loaded until a consumer needs it');
  const c2 = connectTo(second.core);
  // New sends while the backlog is paged out wait their turn behind it.
  await c2.send(sendReq(queue('big'), 'new', { persistent: true }));
  const s = new Collector();
  c2.subscribe(subReq('s', queue('big'), { ackMode: 'auto' }), s);
  await until(() => s.deliveries.length === COUNT + 1, 'all deliveries', 10_000);
  assert.deepEqual(s.bodies(), [...Array.from({ length: COUNT }, (_, i) => body(i)), 'new']);
  await second.core.close();
});

test('messages that arrive while a page-in read is in flight are neither lost nor duplicated', async () => {
  const store = new MemoryStore();
  const first = await openKit({}, store);
  const p1 = connectTo(first.core);
  for (let i = 0; i < 10; i++) await p1.send(sendReq(queue('q'), `old${i}`, { persistent: true }));
  await first.core.close();

  // Hold every read until released, so sends land while the cursor is reading.
  const held: Array<() => void> = [];
  const realRead = store.read.bind(store);
  store.read = (q, from, n) =>
    new Promise((resolve, reject) => held.push(() => realRead(q, from, n).then(resolve, reject)));
  const second = await openKit({}, store);
  const c = connectTo(second.core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('q'), { ackMode: 'auto' }), s);
  await until(() => held.length === 1, 'the first page-in read');
  // Arrives during the read: written to the store, not yet read back.
  await c.send(sendReq(queue('q'), 'during1', { persistent: true }));
  held.shift()!(); // the read now sees old0..9 and during1
  await c.send(sendReq(queue('q'), 'during2', { persistent: true }));
  await c.send(sendReq(queue('q'), 'np'));
  const deadline = Date.now() + 5000;
  for (;;) {
    assert.ok(Date.now() < deadline, `timed out with ${s.deliveries.length} deliveries`);
    await new Promise<void>((r) => setImmediate(r));
    if (held.length > 0) held.shift()!();
    else if (s.deliveries.length >= 13) break;
  }
  await new Promise<void>((r) => setImmediate(r));
  const bodies = s.bodies();
  assert.equal(new Set(bodies).size, bodies.length, `no duplicates: ${bodies.join(',')}`);
  assert.deepEqual([...bodies].sort(), [...Array.from({ length: 10 }, (_, i) => `old${i}`), 'during1', 'during2', 'np'].sort());
  await second.core.close();
});
