import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/broker/message.js';
import { durableQueueKey, type MessageStore, type RecoveredState, type StoreOp } from '../../src/store/message-store.js';

export interface StoreFixture {
  store: MessageStore;
  /** Closes the store and opens a fresh instance on the same data (durable stores only). */
  reopen?: () => Promise<MessageStore>;
  cleanup(): Promise<void>;
}

let idCounter = 0;
export function sampleMessage(over: Partial<Message> = {}): Message {
  idCounter++;
  return {
    id: `ID:test-1:1:1:${idCounter}`,
    destination: { kind: 'queue', name: 'q.a' },
    headers: {},
    body: Buffer.from(`body ${idCounter}`),
    bodyIsBytes: false,
    persistent: true,
    priority: 4,
    expires: 0,
    timestamp: 1_700_000_000_000 + idCounter,
    redeliveryCount: 0,
    ...over,
  };
}

const add = (queue: string, seq: number, message: Message = sampleMessage()): StoreOp => ({ type: 'add', queue, seq, message });

function sortState(s: RecoveredState) {
  return {
    destinations: [...s.destinations].sort((a, b) => `${a.kind}${a.name}`.localeCompare(`${b.kind}${b.name}`)),
    subscriptions: [...s.subscriptions].sort((a, b) => `${a.clientId}:${a.name}`.localeCompare(`${b.clientId}:${b.name}`)),
    queues: [...s.queues].sort((a, b) => a.queue.localeCompare(b.queue)),
    producerSeqs: [...s.producerSeqs.entries()].sort(([a], [b]) => a.localeCompare(b)),
  };
}

/**
 * The executable form of the MessageStore contract (src/store/message-store.ts). Every store
 * runs it; `reopen` turns on the checks that state survives close and reopen.
 */
export function runStoreConformance(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`MessageStore conformance: ${name}`, () => {
    let fx: StoreFixture;
    let store: MessageStore;

    beforeEach(async () => {
      fx = await factory();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    /** The store as seen after a restart (or the same store for stores that cannot restart). */
    async function afterRestart(): Promise<{ store: MessageStore; state: RecoveredState } | null> {
      if (!fx.reopen) return null;
      store = await fx.reopen();
      const state = await store.open();
      return { store, state };
    }

    it('starts empty', async () => {
      const state = await store.open();
      assert.deepEqual(sortState(state), { destinations: [], subscriptions: [], queues: [], producerSeqs: [] });
      assert.deepEqual(await store.read('queue://none', 0, 10), []);
      assert.equal((await store.stats()).messages, 0);
    });

    it('adds and reads messages in seq order, honouring fromSeq and maxCount', async () => {
      await store.open();
      await store.write([add('queue://a', 1), add('queue://a', 2)]);
      await store.write([add('queue://a', 5)]);
      await store.write([add('queue://a', 3), add('queue://b', 1)]);
      assert.deepEqual((await store.read('queue://a', 0, 100)).map((m) => m.seq), [1, 2, 3, 5]);
      assert.deepEqual((await store.read('queue://a', 3, 100)).map((m) => m.seq), [3, 5]);
      assert.deepEqual((await store.read('queue://a', 4, 100)).map((m) => m.seq), [5]);
      assert.deepEqual((await store.read('queue://a', 0, 2)).map((m) => m.seq), [1, 2]);
      assert.deepEqual(await store.read('queue://a', 6, 10), []);
      assert.deepEqual(await store.read('queue://a', 0, 0), []);
      assert.deepEqual((await store.read('queue://b', 0, 10)).map((m) => [m.queue, m.seq]), [['queue://b', 1]]);
      assert.equal((await store.stats()).messages, 5);
    });

    it('round-trips every Message field, including binary bodies with NULs', async () => {
      await store.open();
      const full = sampleMessage({
        destination: { kind: 'topic', name: 'prices.>' },
        headers: { 'correlation-id': 'c-1', 'reply-to': '/queue/r', empty: '', 'ünïcødé': 'värde\nline\u0000nul' },
        body: Buffer.from([0, 1, 2, 0, 255, 0, 10, 0]),
        bodyIsBytes: true,
        persistent: true,
        priority: 9,
        expires: 1_800_000_000_123,
        timestamp: 1_700_000_000_456,
        redeliveryCount: 3,
        originalDestination: { kind: 'queue', name: 'orig' },
        producerId: 'producer-1',
        producerSeq: 42,
      });
      const minimal = sampleMessage({ body: Buffer.alloc(0), persistent: false, priority: 0 });
      await store.write([add('queue://x', 1, full), add('queue://x', 2, minimal)]);
      const check = async (s: MessageStore) => {
        const [a, b] = await s.read('queue://x', 0, 10);
        assert.deepEqual(a, { queue: 'queue://x', seq: 1, message: full });
        assert.ok(Buffer.isBuffer(a.message.body));
        assert.deepEqual(b.message, minimal);
        assert.equal('originalDestination' in b.message, false);
        assert.equal('producerId' in b.message, false);
      };
      await check(store);
      const r = await afterRestart();
      if (r) await check(r.store);
    });

    it('an emptied queue is still reported with its lastSeq, so seqs keep rising after a restart', async () => {
      await store.open();
      await store.write([add('queue://drained', 1), add('queue://drained', 2)]);
      await store.write([
        { type: 'remove', queue: 'queue://drained', seq: 1 },
        { type: 'remove', queue: 'queue://drained', seq: 2 },
      ]);
      const r = await afterRestart();
      const state = r ? r.state : await store.open();
      const q = state.queues.find((x) => x.queue === 'queue://drained');
      assert.deepEqual(q, { queue: 'queue://drained', count: 0, lastSeq: 2 });
    });

    it('remove drops a message; removing an unknown one changes nothing', async () => {
      await store.open();
      await store.write([add('queue://a', 1), add('queue://a', 2), add('queue://a', 3)]);
      await store.write([{ type: 'remove', queue: 'queue://a', seq: 2 }]);
      await store.write([{ type: 'remove', queue: 'queue://a', seq: 99 }, { type: 'remove', queue: 'queue://nope', seq: 1 }]);
      assert.deepEqual((await store.read('queue://a', 0, 10)).map((m) => m.seq), [1, 3]);
      const r = await afterRestart();
      const s = r?.store ?? store;
      assert.deepEqual((await s.read('queue://a', 0, 10)).map((m) => m.seq), [1, 3]);
      if (r) assert.deepEqual(r.state.queues, [{ queue: 'queue://a', count: 2, lastSeq: 3 }]);
      assert.equal((await s.stats()).messages, 2);
    });

    it('an add and its remove in one batch leave nothing', async () => {
      await store.open();
      await store.write([add('queue://a', 1), { type: 'remove', queue: 'queue://a', seq: 1 }]);
      assert.deepEqual(await store.read('queue://a', 0, 10), []);
    });

    it('recovers destinations, subscriptions, queues (count and lastSeq) and producer seqs', async () => {
      await store.open();
      const sub = { clientId: 'c1', name: 's1', destination: { kind: 'topic' as const, name: 'news.*' }, selector: "type = 'x'", noLocal: true };
      const sub2 = { clientId: 'c2', name: 's2', destination: { kind: 'topic' as const, name: 'all' } };
      await store.write([
        { type: 'destination-add', destination: { kind: 'queue', name: 'a' } },
        { type: 'destination-add', destination: { kind: 'topic', name: 'news.*' } },
        { type: 'destination-add', destination: { kind: 'queue', name: 'gone' } },
        { type: 'subscription-add', subscription: sub },
        { type: 'subscription-add', subscription: sub2 },
        { type: 'producer-seq', producerId: 'p1', seq: 10 },
        { type: 'producer-seq', producerId: 'p2', seq: 5 },
      ]);
      await store.write([add('queue://a', 7), add('queue://a', 8), add(durableQueueKey('c1', 's1'), 1)]);
      await store.write([
        { type: 'remove', queue: 'queue://a', seq: 8 },
        { type: 'destination-remove', destination: { kind: 'queue', name: 'gone' } },
        { type: 'subscription-remove', clientId: 'c2', name: 's2' },
        { type: 'producer-seq', producerId: 'p1', seq: 11 },
      ]);
      const expected = {
        destinations: [
          { kind: 'queue', name: 'a' },
          { kind: 'topic', name: 'news.*' },
        ],
        subscriptions: [sub],
        queues: [
          { queue: 'dsub://c1:s1', count: 1, lastSeq: 1 },
          { queue: 'queue://a', count: 1, lastSeq: 8 },
        ],
        producerSeqs: [
          ['p1', 11],
          ['p2', 5],
        ],
      };
      const r = await afterRestart();
      if (r) assert.deepEqual(sortState(r.state), expected);
      else {
        // A store that cannot restart reports the same through a second open().
        assert.deepEqual(sortState(await store.open()), expected);
      }
    });

    it('destination-remove drops the queue and every message in it; the destination can be recreated', async () => {
      await store.open();
      const d = { kind: 'queue' as const, name: 'tmp' };
      await store.write([{ type: 'destination-add', destination: d }, add('queue://tmp', 1), add('queue://tmp', 2), add('queue://keep', 1)]);
      await store.write([{ type: 'destination-remove', destination: d }]);
      assert.deepEqual(await store.read('queue://tmp', 0, 10), []);
      assert.equal((await store.read('queue://keep', 0, 10)).length, 1);
      await store.write([{ type: 'destination-add', destination: d }, add('queue://tmp', 1)]);
      assert.deepEqual((await store.read('queue://tmp', 0, 10)).map((m) => m.seq), [1]);
      const r = await afterRestart();
      if (r) {
        assert.deepEqual((await r.store.read('queue://tmp', 0, 10)).map((m) => m.seq), [1]);
        assert.deepEqual(sortState(r.state).destinations, [d]);
        assert.equal((await r.store.stats()).messages, 2);
      }
    });

    it('subscription-remove drops the subscription and its messages', async () => {
      await store.open();
      const sub = { clientId: 'c', name: 'n', destination: { kind: 'topic' as const, name: 't' } };
      const key = durableQueueKey('c', 'n');
      await store.write([{ type: 'subscription-add', subscription: sub }, add(key, 1), add(key, 2)]);
      assert.equal((await store.read(key, 0, 10)).length, 2);
      await store.write([{ type: 'subscription-remove', clientId: 'c', name: 'n' }]);
      assert.deepEqual(await store.read(key, 0, 10), []);
      const r = await afterRestart();
      if (r) {
        assert.deepEqual(r.state.subscriptions, []);
        assert.deepEqual(r.state.queues, []);
        assert.deepEqual(await r.store.read(key, 0, 10), []);
      }
    });

    it('remembers committed transactions', async () => {
      await store.open();
      await store.write([{ type: 'tx-commit', txId: 'tx-1' }, add('queue://a', 1)]);
      assert.equal(await store.isTransactionCommitted('tx-1'), true);
      assert.equal(await store.isTransactionCommitted('tx-2'), false);
      const r = await afterRestart();
      if (r) {
        assert.equal(await r.store.isTransactionCommitted('tx-1'), true);
        assert.equal(await r.store.isTransactionCommitted('tx-2'), false);
      }
    });

    it('applies concurrent writes in call order', async () => {
      await store.open();
      const writes: Promise<void>[] = [];
      for (let i = 1; i <= 50; i++) writes.push(store.write([add('queue://c', i)]));
      writes.push(store.write([{ type: 'remove', queue: 'queue://c', seq: 10 }]));
      await Promise.all(writes);
      const seqs = (await store.read('queue://c', 0, 100)).map((m) => m.seq);
      assert.equal(seqs.length, 49);
      assert.ok(!seqs.includes(10));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    });

    it('a batch is atomic: all of its ops are visible together', async () => {
      await store.open();
      const ops: StoreOp[] = [];
      for (let i = 1; i <= 20; i++) ops.push(add('queue://batch', i));
      ops.push({ type: 'tx-commit', txId: 'tx-batch' });
      await store.write(ops);
      assert.equal((await store.read('queue://batch', 0, 100)).length, 20);
      assert.equal(await store.isTransactionCommitted('tx-batch'), true);
      const r = await afterRestart();
      if (r) {
        assert.equal((await r.store.read('queue://batch', 0, 100)).length, 20);
        assert.equal(await r.store.isTransactionCommitted('tx-batch'), true);
      }
    });

    it('keeps many messages and large bodies across a restart', async () => {
      await store.open();
      const big = sampleMessage({ body: Buffer.alloc(300_000, 7), bodyIsBytes: true });
      const batch: StoreOp[] = [];
      for (let i = 1; i <= 500; i++) batch.push(add('queue://many', i, sampleMessage({ body: Buffer.from(`m${i}`) })));
      await store.write(batch);
      await store.write([add('queue://big', 1, big)]);
      for (let i = 1; i <= 500; i += 2) await store.write([{ type: 'remove', queue: 'queue://many', seq: i }]);
      const check = async (s: MessageStore) => {
        const got = await s.read('queue://many', 0, 1000);
        assert.equal(got.length, 250);
        assert.deepEqual(
          got.map((m) => m.message.body.toString()),
          Array.from({ length: 250 }, (_, k) => `m${2 * k + 2}`),
        );
        const [b] = await s.read('queue://big', 0, 1);
        assert.ok(b.message.body.equals(big.body));
      };
      await check(store);
      const r = await afterRestart();
      if (r) await check(r.store);
    });

    it('rejects use after close', async () => {
      await store.open();
      await store.close();
      await assert.rejects(() => store.write([add('queue://a', 1)]), (e: unknown) => (e as { codeName?: string }).codeName === 'STORE_CLOSED');
    });
  });
}
