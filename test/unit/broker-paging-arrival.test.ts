/**
 * A replicated store makes a send's record readable (local journal and index) before write()
 * resolves (it then waits for the slaves). A page-in read in that window sees the record while
 * the send is still arriving; the queue must deliver it once, when it arrives, not twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { WINDOW_MAX_MESSAGES } from '../../src/broker/queue.js';
import { Collector, connectTo, openKit, queue, sendReq, subReq, until } from './broker-test-kit.js';

async function recoveredWithBacklog(count: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  const first = await openKit({}, store);
  const p = connectTo(first.core);
  for (let i = 0; i < count; i++) await p.send(sendReq(queue('q'), `old${i}`, { persistent: true }));
  await first.core.close();
  return store;
}

/** Writes land in the store at once; their promises resolve only when released. */
function holdWriteResults(store: MemoryStore): Array<() => void> {
  const held: Array<() => void> = [];
  const realWrite = store.write.bind(store);
  store.write = async (ops) => {
    await realWrite(ops);
    await new Promise<void>((resolve) => held.push(resolve));
  };
  return held;
}

for (const backlog of [3, WINDOW_MAX_MESSAGES + 5]) {
  test(`a send readable in the store before its write resolves is delivered once (backlog ${backlog})`, async () => {
    const store = await recoveredWithBacklog(backlog);
    const held = holdWriteResults(store);
    const { core } = await openKit({}, store);
    const c = connectTo(core);
    const sent = c.send(sendReq(queue('q'), 'new', { persistent: true }));
    await until(() => held.length === 1, 'the write to land');
    const s = new Collector();
    c.subscribe(subReq('s', queue('q'), { ackMode: 'auto' }), s);
    // The page-in reads the backlog and, past it, the record of the send still arriving.
    await until(() => s.deliveries.length >= Math.min(backlog, WINDOW_MAX_MESSAGES), 'the backlog page', 10_000);
    held.shift()!();
    await sent;
    await until(() => s.bodies().includes('new'), 'the new message', 10_000);
    // Let any second copy surface before counting.
    await new Promise((r) => setImmediate(r));
    await until(() => s.deliveries.length >= backlog + 1, 'everything', 10_000);
    await new Promise((r) => setTimeout(r, 50));
    const bodies = s.bodies();
    assert.equal(bodies.filter((b) => b === 'new').length, 1, `delivered once: ${bodies.slice(-5).join(',')}`);
    assert.equal(bodies.length, backlog + 1);
    assert.deepEqual(bodies, [...Array.from({ length: backlog }, (_, i) => `old${i}`), 'new']);
    for (const d of s.deliveries) if (d.message.body.toString() === 'new') assert.equal(d.redelivered, false);
    await core.close();
  });
}
