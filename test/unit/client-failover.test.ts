import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, reconnectDelayMs, TransactionOutcomeError, type ConnectOptions, type StompClient } from '../../src/client/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { QmqError } from '../../src/util/errors.js';
import { FakeBrokers, settle } from './client-fake-broker.js';

function setup(): { clock: ManualClock; brokers: FakeBrokers; opts: ConnectOptions } {
  const clock = new ManualClock(0);
  const brokers = new FakeBrokers(() => clock.now());
  return { clock, brokers, opts: { clock, transportFactory: brokers.factory, heartbeatMs: 0 } };
}

/** Advances the manual clock in small steps, letting the client's async work run between them. */
async function advance(clock: ManualClock, ms: number, stepMs = 5): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await settle(3);
    clock.advance(Math.min(stepMs, ms - t));
  }
  await settle(3);
}

async function connected(p: Promise<StompClient>, clock: ManualClock): Promise<StompClient> {
  let done: StompClient | undefined;
  let err: unknown;
  p.then((c) => (done = c), (e) => (err = e));
  for (let i = 0; i < 200 && !done && !err; i++) await advance(clock, 10);
  if (err) throw err;
  assert.ok(done, 'connected');
  return done;
}

describe('client failover logic (fake brokers, manual clock)', () => {
  test('back-off: passes at 0, 100, 300, 700, 1500 ms (exponent 2, capped at 800), then a clear error after startupMaxReconnectAttempts', async () => {
    const { clock, brokers, opts } = setup();
    brokers.down.add(1).add(2);
    const p = connect('failover:(tcp://h:1,tcp://h:2)?randomize=false&initialReconnectDelay=100&maxReconnectDelay=800&startupMaxReconnectAttempts=4&timeout=60000', opts);
    let err: unknown;
    p.catch((e) => (err = e));
    await advance(clock, 3000);
    assert.deepEqual(
      brokers.attempts.map((a) => `${a.port}@${a.atMs}`),
      ['1@0', '2@0', '1@100', '2@100', '1@300', '2@300', '1@700', '2@700', '1@1500', '2@1500'],
    );
    assert.ok(err instanceof QmqError && err.codeName === 'NOT_CONNECTED', String(err));
    assert.match((err as Error).message, /could not connect to any broker after 5 attempt\(s\) \(startupMaxReconnectAttempts=4\): tcp:\/\/h:1: ECONNREFUSED 1; tcp:\/\/h:2: ECONNREFUSED 2/);
    assert.deepEqual([1, 2, 3, 4, 5, 20].map((n) => reconnectDelayMs(n, { initialReconnectDelayMs: 10, maxReconnectDelayMs: 30_000, useExponentialBackOff: true, reconnectDelayExponent: 2 })), [10, 20, 40, 80, 160, 30_000]);
  });

  test('without a limit, startup is bounded by timeout', async () => {
    const { clock, brokers, opts } = setup();
    brokers.down.add(1);
    let err: unknown;
    connect('failover:(tcp://h:1)?timeout=1000&initialReconnectDelay=100&useExponentialBackOff=false', opts).catch((e) => (err = e));
    await advance(clock, 1200);
    assert.match(String(err), /could not connect to any broker within 1000 ms/);
    assert.ok(brokers.attempts.length >= 9 && brokers.attempts.length <= 11, `attempts: ${brokers.attempts.length}`);
  });

  test('randomize=false tries the list in order; the first broker down is skipped', async () => {
    const { clock, brokers, opts } = setup();
    brokers.down.add(1);
    const c = await connected(connect('failover:(tcp://h:1,tcp://h:2,tcp://h:3)?randomize=false', opts), clock);
    assert.deepEqual(brokers.attempts.map((a) => a.port), [1, 2]);
    assert.equal(c.connectedAddress, 'tcp://h:2');
    // After losing 2, the next pass starts again from the top of the list: 1 (down), then 2 (down now), then 3.
    brokers.down.add(2);
    brokers.last.drop();
    await advance(clock, 50);
    assert.deepEqual(brokers.attempts.map((a) => a.port), [1, 2, 1, 2, 3]);
    assert.equal(c.connectedAddress, 'tcp://h:3');
  });

  test('randomize=true shuffles with the injected random source', async () => {
    const { clock, brokers, opts } = setup();
    const c = await connected(connect('failover:(tcp://h:1,tcp://h:2,tcp://h:3)', { ...opts, random: () => 0 }), clock);
    // Fisher-Yates with random()=0 rotates [1,2,3] to [2,3,1].
    assert.deepEqual(brokers.attempts.map((a) => a.port), [2]);
    assert.equal(c.connectedAddress, 'tcp://h:2');
  });

  test('the timeout expiry error: a send with no receipt, and a send while no broker is reachable', async () => {
    const { clock, brokers, opts } = setup();
    brokers.behaviour = (f, conn) => {
      if (f.command !== 'SEND') conn.receipt(f);
    };
    const c = await connected(connect('failover:(tcp://h:1)?timeout=2000', opts), clock);
    let err: unknown;
    c.send('/queue/a', 'x').catch((e) => (err = e));
    await advance(clock, 1990);
    assert.equal(err, undefined, 'not before the timeout');
    await advance(clock, 20);
    assert.match(String(err), /SEND timed out after 2000 ms \(failover timeout\) with no receipt from tcp:\/\/h:1; its outcome is unknown/);

    brokers.down.add(1);
    brokers.last.drop();
    await settle();
    let err2: unknown;
    c.send('/queue/a', 'y').catch((e) => (err2 = e));
    await advance(clock, 2010, 20);
    assert.match(String(err2), /SEND timed out after 2000 ms .* while no broker was reachable/);
    await c.close();
  });

  test('unreceipted sends are resent after a reconnect with the same producer id and sequence', async () => {
    const { clock, brokers, opts } = setup();
    let answer = false;
    brokers.behaviour = (f, conn) => {
      if (f.command === 'SEND' && !answer) return; // the broker "stored" them but the receipts were lost
      conn.receipt(f);
    };
    const c = await connected(connect('failover:(tcp://h:1)', opts), clock);
    const events: string[] = [];
    c.on('disconnected', (e) => events.push(`disconnected ${e.address}`));
    c.on('connected', (e) => events.push(`connected ${e.address} ${e.reconnect}`));
    const sends = [c.send('/queue/a', 'm1'), c.send('/queue/a', 'm2'), c.send('/queue/a', 'm3')];
    await settle();
    answer = true;
    brokers.last.drop();
    await advance(clock, 50);
    await Promise.all(sends);
    const seen = brokers.sent('SEND').map((f) => `${f.conn}:${f.body}:${f.headers['qmq-producer-id'] === c.producerId}:${f.headers['qmq-producer-seq']}`);
    assert.deepEqual(seen, ['0:m1:true:1', '0:m2:true:2', '0:m3:true:3', '1:m1:true:1', '1:m2:true:2', '1:m3:true:3']);
    assert.deepEqual(events, ['disconnected tcp://h:1', 'connected tcp://h:1 true']);
    await c.close();
  });

  test('subscriptions (durable ones with the client id) and open transactions are restored on the new connection', async () => {
    const { clock, brokers, opts } = setup();
    const c = await connected(connect('failover:(tcp://h:1)', { ...opts, clientId: 'app-1' }), clock);
    await c.subscribe('/topic/t', { durableName: 'd1', ack: 'client' });
    const tx = await c.begin();
    await c.send('/queue/q', 'in-tx-1', { transaction: tx });
    brokers.last.drop();
    await advance(clock, 50);
    const second = brokers.frames.filter((f) => f.conn === 1);
    assert.equal(second[0].headers['client-id'], 'app-1');
    assert.deepEqual(second.slice(1).map((f) => f.command), ['SUBSCRIBE', 'BEGIN', 'SEND']);
    assert.equal(second[1].headers['activemq.subscriptionName'], 'd1');
    assert.equal(second[2].headers.transaction, tx);
    assert.equal(second[3].body, 'in-tx-1');
    await c.send('/queue/q', 'in-tx-2', { transaction: tx });
    await c.commit(tx);
    const txSends = brokers.sent('SEND').filter((f) => f.conn === 1);
    assert.deepEqual(txSends.map((f) => f.headers['qmq-producer-seq']), ['1', '2']);
    assert.equal(brokers.sent('COMMIT').length, 1);
    await c.close();
  });

  test('cluster discovery: addresses in CONNECTED qmq-cluster join the failover list', async () => {
    const { clock, brokers, opts } = setup();
    brokers.connectedHeaders = { 'qmq-cluster': 'tcp://h:1,tcp://h:7,tcp://h:8' };
    const c = await connected(connect('failover:(tcp://h:1)?randomize=false', opts), clock);
    assert.deepEqual(c.knownAddresses, ['tcp://h:1', 'tcp://h:7', 'tcp://h:8']);
    brokers.down.add(1);
    brokers.last.drop();
    await advance(clock, 50);
    assert.equal(c.connectedAddress, 'tcp://h:7');
    const off = setup();
    off.brokers.connectedHeaders = { 'qmq-cluster': 'tcp://h:7' };
    const c2 = await connected(connect('failover:(tcp://h:1)?updateURIsSupported=false', off.opts), off.clock);
    assert.deepEqual(c2.knownAddresses, ['tcp://h:1']);
    await Promise.all([c.close(), c2.close()]);
  });

  test('maxReconnectAttempts used up: failed event, every pending and later operation gets the error', async () => {
    const { clock, brokers, opts } = setup();
    brokers.behaviour = (f, conn) => {
      if (f.command !== 'SEND') conn.receipt(f);
    };
    const c = await connected(connect('failover:(tcp://h:1)?maxReconnectAttempts=2&initialReconnectDelay=10', opts), clock);
    const failed: Error[] = [];
    c.on('failed', (e) => failed.push(e.error));
    let err: unknown;
    c.send('/queue/a', 'x').catch((e) => (err = e));
    await settle();
    brokers.down.add(1);
    brokers.last.drop();
    await advance(clock, 100);
    assert.equal(failed.length, 1);
    assert.match(failed[0].message, /after 3 attempt\(s\) \(maxReconnectAttempts=2\)/);
    assert.equal(err, failed[0]);
    await assert.rejects(c.send('/queue/a', 'later'), /maxReconnectAttempts=2/);
  });

  test('an ERROR frame answers the operation that caused it with the broker message and code', async () => {
    const { clock, brokers, opts } = setup();
    brokers.behaviour = (f, conn) => {
      if (f.command === 'SUBSCRIBE') conn.reply('ERROR', { 'receipt-id': f.headers.receipt, message: 'invalid selector', code: 'QMQ-2002' });
      else conn.receipt(f);
    };
    const c = await connected(connect('tcp://h:1', opts), clock);
    await assert.rejects(c.subscribe('/queue/a', { selector: 'a ==' }), (e: Error & { code?: string }) => /broker error: invalid selector \(QMQ-2002\)/.test(e.message) && e.code === 'QMQ-2002');
    // A protocol ERROR without a receipt is fatal: no failover would help.
    brokers.behaviour = (f, conn) => {
      if (f.command === 'SEND') conn.reply('ERROR', { message: 'frame too large', code: 'QMQ-1002' });
    };
    await assert.rejects(c.send('/queue/a', 'x'), /frame too large/);
  });

  test('an oversized message is refused before anything is written', async () => {
    const { clock, brokers, opts } = setup();
    const c = await connected(connect('tcp://h:1', { ...opts, maxMessageBytes: 1000 }), clock);
    await assert.rejects(c.send('/queue/a', Buffer.alloc(1001)), (e: unknown) => e instanceof QmqError && e.codeName === 'FRAME_TOO_LARGE' && /1001 bytes .* limit of 1000 bytes; nothing was sent/.test(e.message));
    assert.equal(brokers.sent('SEND').length, 0);
    await c.close();
  });
});

describe('in-doubt commits (fake broker answering the qmq-tx-query)', () => {
  /** The first COMMIT reaches the broker but the connection dies before its receipt. */
  async function commitWithLostReceipt(answer: (txId: string) => Record<string, string>, opts: { ack?: boolean; serverName?: string } = {}) {
    const { clock, brokers, opts: o } = setup();
    if (opts.serverName) brokers.serverName = opts.serverName;
    let commits = 0;
    brokers.behaviour = (f, conn) => {
      if (f.command === 'COMMIT' && commits++ === 0) {
        conn.drop();
        return;
      }
      if (f.command === 'SUBSCRIBE') {
        conn.receipt(f);
        conn.reply('MESSAGE', { subscription: f.headers.id, destination: '/queue/in', 'message-id': 'm1', ack: 'a1' }, 'work');
        return;
      }
      if (f.command === 'BEGIN' && f.headers['qmq-tx-query'] !== undefined) {
        conn.receipt(f, answer(f.headers.transaction));
        return;
      }
      conn.receipt(f);
    };
    const c = await connected(connect('failover:(tcp://h:1)', o), clock);
    const tx = await c.begin();
    if (opts.ack) {
      const sub = await c.subscribe('/queue/in', { ack: 'client-individual' });
      const m = await sub.next(1000);
      await m!.ack(tx);
    }
    await c.send('/queue/out', 'result', { transaction: tx });
    let outcome: unknown = 'pending';
    c.commit(tx).then(() => (outcome = 'committed'), (e) => (outcome = e));
    await advance(clock, 100);
    return { c, brokers, tx, outcome };
  }

  test('the broker says committed: commit() resolves and nothing is replayed', async () => {
    const { c, brokers, tx, outcome } = await commitWithLostReceipt(() => ({ 'qmq-tx-status': 'committed' }));
    assert.equal(outcome, 'committed');
    const q = brokers.sent('BEGIN').filter((f) => f.conn === 1);
    assert.deepEqual(q.map((f) => [f.headers.transaction, f.headers['qmq-tx-query']]), [[tx, 'status']]);
    assert.equal(brokers.sent('SEND').filter((f) => f.conn === 1).length, 0);
    assert.equal(brokers.sent('COMMIT').length, 1);
    await c.close();
  });

  test('the broker says not committed: a send-only transaction is replayed with the same producer id/seq and committed', async () => {
    const { c, brokers, tx, outcome } = await commitWithLostReceipt(() => ({ 'qmq-tx-status': 'not-committed' }));
    assert.equal(outcome, 'committed');
    const first = brokers.sent('SEND')[0];
    const replay = brokers.frames.filter((f) => f.conn === 1 && f.command !== 'CONNECT');
    assert.deepEqual(replay.map((f) => f.command), ['BEGIN', 'BEGIN', 'SEND', 'COMMIT']);
    assert.equal(replay[2].headers['qmq-producer-id'], first.headers['qmq-producer-id']);
    assert.equal(replay[2].headers['qmq-producer-seq'], first.headers['qmq-producer-seq']);
    assert.equal(replay[3].headers.transaction, tx);
    await c.close();
  });

  test('not committed, and the transaction acked messages: rejected as rolled-back', async () => {
    const { c, outcome } = await commitWithLostReceipt(() => ({ 'qmq-tx-status': 'not-committed' }), { ack: true });
    assert.ok(outcome instanceof TransactionOutcomeError && outcome.outcome === 'rolled-back', String(outcome));
    await c.close();
  });

  test('a broker that cannot answer, not QuorumMQ: rejected as in-doubt, and the accidental transaction is aborted', async () => {
    const { c, brokers, tx, outcome } = await commitWithLostReceipt(() => ({}), { serverName: 'ActiveMQ/5.17' });
    assert.ok(outcome instanceof TransactionOutcomeError && outcome.outcome === 'in-doubt', String(outcome));
    assert.match((outcome as Error).message, /receipt was lost, and tcp:\/\/h:1 cannot say whether it committed/);
    assert.deepEqual(brokers.sent('ABORT').map((f) => f.headers.transaction), [tx]);
    await c.close();
  });

  test('a QuorumMQ broker that cannot answer: the send-only transaction is replayed (its duplicate filter drops stored copies)', async () => {
    const { c, brokers, outcome } = await commitWithLostReceipt(() => ({}));
    assert.equal(outcome, 'committed');
    assert.deepEqual(brokers.frames.filter((f) => f.conn === 1 && f.command !== 'CONNECT').map((f) => f.command), ['BEGIN', 'ABORT', 'BEGIN', 'SEND', 'COMMIT']);
    await c.close();
  });
});
