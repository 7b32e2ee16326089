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
