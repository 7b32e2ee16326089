/**
 * A replicated master that cannot prove its ZooKeeper session when a batch met its sync level
 * answers OUTCOME_UNKNOWN (DESIGN §4, step 6): the batch is in the store, the client is told
 * nothing and resends with its producer seq (or asks whether its commit happened). The broker
 * must then behave as if the batch was applied: the resend is dropped as a duplicate, the
 * message is delivered once, and a committed transaction's acked messages do not come back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreOp } from '../../src/store/message-store.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { QmqError } from '../../src/util/errors.js';
import { Collector, connectTo, openKit, queue, sendReq, subReq, until } from './broker-test-kit.js';

/** The next write matching `which` lands in the store, then fails as OUTCOME_UNKNOWN. */
function failInDoubt(store: MemoryStore, which: (ops: StoreOp[]) => boolean): { failed: () => number } {
  let failed = 0;
  const realWrite = store.write.bind(store);
  store.write = async (ops) => {
    await realWrite(ops);
    if (failed === 0 && which(ops)) {
      failed++;
      throw new QmqError('OUTCOME_UNKNOWN', 'this node cannot prove it is still master (test)');
    }
  };
  return { failed: () => failed };
}

const addsBody = (body: string) => (ops: StoreOp[]) => ops.some((o) => o.type === 'add' && o.message.body.toString() === body);

async function storedBodies(store: MemoryStore, q: string): Promise<string[]> {
  return (await store.read(`queue://${q}`, 0, 100)).map((r) => r.message.body.toString());
}

test('a send stored in doubt is delivered once, and its resend with the same producer seq is dropped', async () => {
  const store = new MemoryStore();
  const doubt = failInDoubt(store, addsBody('x'));
  const { core } = await openKit({}, store);
  const first = connectTo(core);
  await assert.rejects(first.send(sendReq(queue('q'), 'x', { persistent: true, producerId: 'P', producerSeq: 1 })), (e: QmqError) => e.codeName === 'OUTCOME_UNKNOWN');
  assert.equal(doubt.failed(), 1);
  // The failover client reconnects (to the same master, still serving) and resends.
  const second = connectTo(core);
  await second.send(sendReq(queue('q'), 'x', { persistent: true, producerId: 'P', producerSeq: 1 }));
  await second.send(sendReq(queue('q'), 'y', { persistent: true, producerId: 'P', producerSeq: 2 }));
  assert.deepEqual(await storedBodies(store, 'q'), ['x', 'y'], 'one stored copy of x');

  const s = new Collector();
  second.subscribe(subReq('s', queue('q')), s);
  await until(() => s.deliveries.length >= 2, 'both messages');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(s.bodies(), ['x', 'y']);
  assert.deepEqual(s.deliveries.map((d) => d.redelivered), [false, false]);
  for (const d of s.deliveries) await second.ack(d.tag);
  assert.deepEqual(await storedBodies(store, 'q'), [], 'nothing left to come back after a failover');
  await core.close();
});

test('a commit stored in doubt: its sends are delivered, its acked messages are gone, the client finds it committed', async () => {
  const store = new MemoryStore();
  const { core } = await openKit({}, store);
  const c = connectTo(core);
  await c.send(sendReq(queue('in'), 'm1', { persistent: true }));
  const s = new Collector();
  c.subscribe(subReq('s', queue('in')), s);
  await until(() => s.deliveries.length === 1, 'm1');
  const doubt = failInDoubt(store, (ops) => ops.some((o) => o.type === 'tx-commit'));
  c.begin('tx1');
  await c.ack(s.deliveries[0].tag, 'tx1');
  await c.send(sendReq(queue('out'), 'r1', { persistent: true, producerId: 'P:tx1', producerSeq: 1 }), 'tx1');
  await assert.rejects(c.commit('tx1'), (e: QmqError) => e.codeName === 'OUTCOME_UNKNOWN');
  assert.equal(doubt.failed(), 1);
  assert.equal(await store.isTransactionCommitted('tx1'), true);

  const out = new Collector();
  c.subscribe(subReq('o', queue('out')), out);
  await until(() => out.deliveries.length === 1, 'the committed send');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(s.bodies(), ['m1'], 'the acked message is not delivered again');
  assert.deepEqual(out.bodies(), ['r1']);
  assert.equal(core.stats().destinations.find((d) => d.name === 'in')?.depth, 0);
  await core.close();
});

test('a resend that arrives while the original write is in flight is answered as the original is', async () => {
  const store = new MemoryStore();
  const held: Array<(err?: Error) => void> = [];
  let holding = true;
  const realWrite = store.write.bind(store);
  store.write = async (ops) => {
    // Not stored yet: the write waits, then fails (a sync timeout that fences the master, say).
    const err = holding && ops.some((o) => o.type === 'add') ? await new Promise<Error | undefined>((resolve) => held.push(resolve)) : undefined;
    if (err) throw err;
    await realWrite(ops);
  };
  const { core } = await openKit({}, store);
  const first = connectTo(core);
  const original = first.send(sendReq(queue('q'), 'x', { persistent: true, producerId: 'P', producerSeq: 1 }));
  await until(() => held.length === 1, 'the original write');
  // The client lost its connection, not the broker: it resends on a new one.
  const second = connectTo(core);
  let resendAnswered = false;
  const resend = second.send(sendReq(queue('q'), 'x', { persistent: true, producerId: 'P', producerSeq: 1 })).finally(() => (resendAnswered = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(resendAnswered, false, 'no receipt for the resend before the original is stored');
  held[0](new QmqError('SYNC_TIMEOUT', 'the sync level was not met in time (test)'));
  await assert.rejects(original, (e: QmqError) => e.codeName === 'SYNC_TIMEOUT');
  await assert.rejects(resend, (e: QmqError) => e.codeName === 'SYNC_TIMEOUT');
  assert.deepEqual(await storedBodies(store, 'q'), []);
  // Nothing stored and nothing acknowledged: the next resend is a new send.
  holding = false;
  await second.send(sendReq(queue('q'), 'x', { persistent: true, producerId: 'P', producerSeq: 1 }));
  assert.deepEqual(await storedBodies(store, 'q'), ['x']);
  await core.close();
});
