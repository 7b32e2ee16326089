import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkHistory } from '../../src/chaos/check-history.js';
import type { HistoryOp, Outcome, ReceiveOp, SendOp } from '../../src/chaos/history.js';

const Q = '/queue/a';

function send(id: string, outcome: Outcome, at: number, extra: Partial<SendOp> = {}): SendOp {
  return { op: 'send', id, destination: Q, invokeMs: at, completeMs: at + 1, outcome, ...extra };
}

function recv(id: string, at: number, extra: Partial<ReceiveOp> = {}): ReceiveOp {
  return { op: 'receive', id, destination: Q, invokeMs: at, completeMs: at, redelivered: false, outcome: 'ok', ...extra };
}

test('every acked message delivered once: clean', () => {
  const r = checkHistory([send('m1', 'ok', 0), send('m2', 'ok', 2), recv('m1', 10), recv('m2', 11)]);
  assert.equal(r.acked, 2);
  assert.equal(r.lost, 0);
  assert.equal(r.unexpected, 0);
  assert.equal(r.duplicated, 0);
  assert.equal(r.delivered, 2);
  assert.deepEqual(r.violations, []);
});

test('an acked message never delivered is lost, and fails the run', () => {
  const r = checkHistory([send('m1', 'ok', 0), send('m2', 'ok', 2), recv('m1', 10)]);
  assert.equal(r.lost, 1);
  assert.deepEqual(r.examples.lost, [{ id: 'm2', receiver: Q }]);
  assert.equal(r.violations.length, 1);
  assert.match(r.violations[0]!, /1 acknowledged message\(s\) lost/);
});

test('a redelivery of one message does not hide the loss of another (counts are per message)', () => {
  // Two sends, two deliveries: a checker that compared totals would see nothing wrong.
  const r = checkHistory([send('m1', 'ok', 0), send('m2', 'ok', 2), recv('m1', 10), recv('m1', 20, { redelivered: true })]);
  assert.equal(r.deliveries, 2);
  assert.equal(r.redelivered, 1);
  assert.equal(r.lost, 1);
  assert.deepEqual(r.examples.lost, [{ id: 'm2', receiver: Q }]);
});

test('a second delivery without the redelivered flag is a duplicate; with it, a redelivery', () => {
  const r = checkHistory([send('m1', 'ok', 0), recv('m1', 10), recv('m1', 11), recv('m1', 12, { redelivered: true })]);
  assert.equal(r.duplicated, 1);
  assert.equal(r.redelivered, 1);
  assert.equal(r.lost, 0);
  assert.deepEqual(r.violations, [], 'duplicates alone do not fail an at-least-once run');
  assert.equal(checkHistory([send('m1', 'ok', 0), recv('m1', 10), recv('m1', 11)], { failOnDuplicates: true }).violations.length, 1);
});

test('the first delivery the application sees may carry the redelivered flag (its earlier copy died with a connection)', () => {
  const r = checkHistory([send('m1', 'ok', 0), recv('m1', 10, { redelivered: true })]);
  assert.equal(r.redelivered, 0);
  assert.equal(r.delivered, 1);
  assert.equal(r.lost, 0);
});

test('deliveries are ordered by time, not by their place in the log', () => {
  const r = checkHistory([send('m1', 'ok', 0), recv('m1', 20, { redelivered: true }), recv('m1', 10)]);
  assert.equal(r.redelivered, 1);
  assert.equal(r.duplicated, 0);
});

test('a message never sent, or sent and refused, is unexpected', () => {
  const r = checkHistory([send('m1', 'failed', 0), recv('m1', 10), recv('ghost', 11)]);
  assert.equal(r.unexpected, 2);
  assert.deepEqual(
    r.examples.unexpected.map((e) => [e.id, e.why]),
    [
      ['m1', 'the broker refused the send'],
      ['ghost', 'never sent'],
    ],
  );
  assert.equal(r.violations.length, 1);
});

test('a message delivered on another queue than it was sent to is unexpected there and lost on its own', () => {
  const r = checkHistory([send('m1', 'ok', 0), recv('m1', 10, { destination: '/queue/b' })]);
  assert.equal(r.unexpected, 1);
  assert.equal(r.lost, 1);
});

test('sends with an unknown outcome: never a loss; recovered when delivered', () => {
  const r = checkHistory([send('u1', 'unknown', 0), send('u2', 'unknown', 1), recv('u1', 10)]);
  assert.equal(r.acked, 0);
  assert.equal(r.inDoubt, 2);
  assert.equal(r.recovered, 1);
  assert.equal(r.lost, 0);
  assert.equal(r.unexpected, 0);
});

test('a retried send of the same id keeps its receipt', () => {
  const r = checkHistory([send('m1', 'unknown', 0), send('m1', 'ok', 5)]);
  assert.equal(r.acked, 1);
  assert.equal(r.lost, 1);
});

test('transactions: committed sends are acked, aborted or rolled-back ones must never arrive, in-doubt ones may', () => {
  const h: HistoryOp[] = [
    send('c1', 'ok', 0, { tx: 't1' }),
    send('c2', 'ok', 1, { tx: 't1' }),
    { op: 'commit', tx: 't1', invokeMs: 2, completeMs: 3, outcome: 'ok' },
    send('a1', 'ok', 4, { tx: 't2' }),
    { op: 'abort', tx: 't2', invokeMs: 5, completeMs: 6, outcome: 'ok' },
    send('r1', 'ok', 7, { tx: 't3' }),
    { op: 'commit', tx: 't3', invokeMs: 8, completeMs: 9, outcome: 'failed' },
    send('d1', 'ok', 10, { tx: 't4' }),
    { op: 'commit', tx: 't4', invokeMs: 11, completeMs: 12, outcome: 'unknown' },
    send('o1', 'ok', 13, { tx: 't5' }), // no ending recorded: the run stopped mid-transaction
    recv('c1', 20),
    recv('a1', 21),
    recv('r1', 22),
    recv('d1', 23),
  ];
  const r = checkHistory(h);
  assert.equal(r.acked, 2);
  assert.equal(r.failed, 2);
  assert.equal(r.inDoubt, 2);
  assert.equal(r.lost, 1, 'c2 was committed and never came');
  assert.deepEqual(r.examples.lost, [{ id: 'c2', receiver: Q }]);
  assert.equal(r.unexpected, 2, 'a1 (aborted) and r1 (rolled back) arrived');
  assert.equal(r.recovered, 1, 'd1 was in doubt and arrived');
});

test('a failed send inside a committed transaction never took effect', () => {
  const r = checkHistory([send('x', 'failed', 0, { tx: 't' }), { op: 'commit', tx: 't', invokeMs: 1, completeMs: 2, outcome: 'ok' }, recv('x', 5)]);
  assert.equal(r.acked, 0);
  assert.equal(r.unexpected, 1);
});

test('durable topic subscriptions: each expects every message sent after it existed', () => {
  const T = '/topic/t';
  const h: HistoryOp[] = [
    send('early', 'ok', 0, { destination: T }),
    { op: 'subscribe', destination: T, subscription: 's1', invokeMs: 1, completeMs: 2, outcome: 'ok' },
    { op: 'subscribe', destination: T, subscription: 's2', invokeMs: 1, completeMs: 2, outcome: 'ok' },
    send('t1', 'ok', 5, { destination: T }),
    recv('t1', 10, { destination: T, subscription: 's1' }),
    recv('t1', 11, { destination: T, subscription: 's1', redelivered: true }),
  ];
  const r = checkHistory(h);
  assert.equal(r.lost, 1);
  assert.deepEqual(r.examples.lost, [{ id: 't1', receiver: 's2' }]);
  assert.equal(r.redelivered, 1);
  assert.equal(r.unexpected, 0);
});

test('corrupt deliveries fail the run', () => {
  const r = checkHistory([send('m1', 'ok', 0), recv('m1', 10, { corrupt: true })]);
  assert.equal(r.corrupt, 1);
  assert.match(r.violations.join(), /corrupt/);
});

test('failover time runs from each fault to the first ack that started after it; unavailability is the longest gap', () => {
  const h: HistoryOp[] = [
    { op: 'send', id: 'a', destination: Q, invokeMs: 0, completeMs: 10, outcome: 'ok' },
    { op: 'fault', kind: 'kill', target: 'master', invokeMs: 95, completeMs: 100, outcome: 'ok' },
    // In flight across the fault: its late receipt says nothing about recovery.
    { op: 'send', id: 'b', destination: Q, invokeMs: 90, completeMs: 400, outcome: 'ok' },
    { op: 'send', id: 'c', destination: Q, invokeMs: 401, completeMs: 410, outcome: 'ok' },
    { op: 'fault', kind: 'pause', target: 'master', invokeMs: 500, completeMs: 500, outcome: 'ok' },
    { op: 'send', id: 'd', destination: Q, invokeMs: 505, completeMs: 700, outcome: 'unknown' },
    { op: 'send', id: 'e', destination: Q, invokeMs: 700, completeMs: 800, outcome: 'ok' },
    { op: 'fault', kind: 'zk', target: 'zk-1', invokeMs: 900, completeMs: 900, outcome: 'ok' },
    { op: 'send', id: 'f', destination: Q, invokeMs: 905, completeMs: 1000, outcome: 'failed' },
    ...['a', 'b', 'c', 'e'].map((id, i) => recv(id, 2000 + i)),
  ];
  const r = checkHistory(h);
  assert.deepEqual(
    r.failovers.map((f) => f.failoverMs),
    [310, 300, null],
  );
  assert.equal(r.failoverMedianMs, 305);
  assert.equal(r.failoverMaxMs, 310);
  assert.equal(r.unrecoveredFaults, 1);
  assert.equal(r.maxUnavailableMs, 390, 'from c at 410 to e at 800');
  assert.equal(r.lost, 0);
});

test('a committed transaction is an ack on the time line', () => {
  const h: HistoryOp[] = [
    { op: 'fault', kind: 'kill', target: 'master', invokeMs: 0, completeMs: 0, outcome: 'ok' },
    send('x', 'ok', 10, { tx: 't' }),
    { op: 'commit', tx: 't', invokeMs: 20, completeMs: 50, outcome: 'ok' },
    recv('x', 60),
  ];
  assert.deepEqual(checkHistory(h).failovers.map((f) => f.failoverMs), [50]);
});

test('an empty history passes', () => {
  const r = checkHistory([]);
  assert.equal(r.maxUnavailableMs, 0);
  assert.equal(r.failoverMedianMs, null);
  assert.deepEqual(r.violations, []);
});

// ------------------------------------------------------------------ properties

interface Model {
  outcome: Outcome;
  deliveries: number;
  redeliveries: number;
}

const modelArb = fc.array(
  fc.record({
    outcome: fc.constantFrom<Outcome>('ok', 'failed', 'unknown'),
    deliveries: fc.integer({ min: 0, max: 1 }),
    redeliveries: fc.integer({ min: 0, max: 2 }),
  }),
  { maxLength: 40 },
);

/** The history of a correct broker: acked messages arrive, refused ones never, in-doubt ones maybe. */
function correctHistory(models: Model[]): HistoryOp[] {
  const h: HistoryOp[] = [];
  models.forEach((m, i) => {
    const id = `m${i}`;
    h.push(send(id, m.outcome, i * 10));
    const arrives = m.outcome === 'ok' || (m.outcome === 'unknown' && m.deliveries === 1);
    if (!arrives) return;
    h.push(recv(id, 1000 + i));
    for (let k = 0; k < m.redeliveries; k++) h.push(recv(id, 2000 + i * 3 + k, { redelivered: true }));
  });
  return h;
}

test('property: a correct broker history never shows loss, duplicates or unexpected messages, in any order', () => {
  fc.assert(
    fc.property(modelArb, fc.integer(), (models, seed) => {
      const h = correctHistory(models);
      const shuffled = [...h].sort((a, b) => ((a.invokeMs * 7919 + seed) % 101) - ((b.invokeMs * 7919 + seed) % 101));
      const r = checkHistory(shuffled);
      assert.equal(r.lost, 0);
      assert.equal(r.unexpected, 0);
      assert.equal(r.duplicated, 0);
      assert.equal(r.acked, models.filter((m) => m.outcome === 'ok').length);
      assert.equal(r.redelivered, models.filter((m) => m.outcome === 'ok' || (m.outcome === 'unknown' && m.deliveries === 1)).reduce((n, m) => n + m.redeliveries, 0));
      assert.deepEqual(r.violations, []);
    }),
  );
});

test('property: dropping every delivery of one acked message is found as exactly one loss, whatever was redelivered', () => {
  fc.assert(
    fc.property(modelArb, fc.nat(), (models, pick) => {
      const ackedIdx = models.map((m, i) => (m.outcome === 'ok' ? i : -1)).filter((i) => i >= 0);
      fc.pre(ackedIdx.length > 0);
      const victim = `m${ackedIdx[pick % ackedIdx.length]}`;
      const h = correctHistory(models).filter((op) => !(op.op === 'receive' && op.id === victim));
      const r = checkHistory(h);
      assert.equal(r.lost, 1);
      assert.deepEqual(r.examples.lost, [{ id: victim, receiver: Q }]);
    }),
  );
});

test('property: an extra unflagged delivery of a delivered message is exactly one duplicate', () => {
  fc.assert(
    fc.property(modelArb, fc.nat(), (models, pick) => {
      const h = correctHistory(models);
      const delivered = h.filter((op): op is ReceiveOp => op.op === 'receive');
      fc.pre(delivered.length > 0);
      const again = delivered[pick % delivered.length]!;
      const r = checkHistory([...h, recv(again.id, 99_999)]);
      assert.equal(r.duplicated, 1);
      assert.equal(r.lost, 0);
    }),
  );
});

test('losses on an at-most-once (ack:auto) receiver are counted apart and do not fail the run', () => {
  const B = '/queue/auto';
  const r = checkHistory([send('m1', 'ok', 0), send('m2', 'ok', 1, { destination: B }), recv('m1', 5)], { atMostOnceReceivers: [B] });
  assert.equal(r.lost, 0);
  assert.equal(r.lostAtMostOnce, 1);
  assert.deepEqual(r.violations, []);
});
