import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import stompit from 'stompit';
import { connect, type StompClient } from '../../src/client/index.js';
import { cleanupTemp, startBroker, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { drainQueue } from '../helpers/drain.js';

const brokers: BrokerProcess[] = [];
const clients: StompClient[] = [];

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await Promise.all(brokers.map((b) => b.kill()));
  cleanupTemp();
});

async function broker(opts: { dataDir?: string; stompPort?: number } = {}): Promise<BrokerProcess> {
  const b = await startBroker(opts);
  brokers.push(b);
  return b;
}

async function client(url: string, opts: Parameters<typeof connect>[1] = {}): Promise<StompClient> {
  const c = await connect(url, opts);
  clients.push(c);
  return c;
}

/** Kills the broker with SIGKILL and starts it again on the same port and data directory. */
async function crashAndRestart(b: BrokerProcess): Promise<BrokerProcess> {
  await b.kill();
  return broker({ dataDir: b.dataDir, stompPort: b.stompPort });
}

/**
 * A TCP proxy to the broker that can swallow everything the broker sends back (receipts lost
 * in the network, while the broker goes on storing) and then cut the connection.
 */
async function receiptEatingProxy(targetPort: number): Promise<{ port: number; swallowReplies(): void; cut(): void; close(): void }> {
  const pairs: Array<{ client: net.Socket; upstream: net.Socket; swallow: boolean }> = [];
  const server = net.createServer((clientSock) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client: clientSock, upstream, swallow: false };
    pairs.push(pair);
    clientSock.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!pair.swallow) clientSock.write(d);
    });
    const end = () => {
      clientSock.destroy();
      upstream.destroy();
    };
    clientSock.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    swallowReplies: () => pairs.forEach((p) => (p.swallow = true)),
    cut: () => pairs.splice(0).forEach((p) => p.client.destroy()),
    close: () => server.close(),
  };
}

const drain = (url: string, destination: string, quietMs = 500) => drainQueue(() => client(url), destination, quietMs);

describe('TypeScript client failover against real broker processes', () => {
  test('kill -9 while 4 producers send through failover: every send resolves exactly once, no loss, no duplicate', async () => {
    let b = await broker({ dataDir: tempDir() });
    const url = `failover:(tcp://127.0.0.1:${b.stompPort})?initialReconnectDelay=20&maxReconnectDelay=200&timeout=30000`;
    const perProducer = 250;
    const producers = await Promise.all([0, 1, 2, 3].map(() => client(url)));
    let receipts = 0;
    const reconnects: string[] = [];
    producers.forEach((p, i) => p.on('connected', (e) => e.reconnect && reconnects.push(`p${i}`)));
    const runs = producers.map(async (p, i) => {
      const inflight = new Set<Promise<void>>();
      const results: Array<Promise<void>> = [];
      for (let n = 0; n < perProducer; n++) {
        const s = p.send('/queue/failover.exactly-once', `p${i}-${n}`, { persistent: 'true' }).then(() => {
          receipts++;
          inflight.delete(s);
        });
        inflight.add(s);
        results.push(s);
        if (inflight.size >= 16) await Promise.race(inflight);
      }
      const settled = await Promise.allSettled(results);
      return settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    });
    await waitFor('a third of the sends to be receipted', () => receipts >= perProducer * 4 / 3, 30_000);
    const receiptsAtKill = receipts;
    b = await crashAndRestart(b);
    const failures = (await Promise.all(runs)).flat();
    assert.deepEqual(failures, [], 'every send resolved');
    assert.equal(receipts, perProducer * 4);
    assert.ok(receiptsAtKill < perProducer * 4, 'the kill happened mid-stream');
    assert.deepEqual(reconnects.sort(), ['p0', 'p1', 'p2', 'p3']);

    const bodies = await drain(`tcp://127.0.0.1:${b.stompPort}`, '/queue/failover.exactly-once');
    const counts = new Map<string, number>();
    for (const x of bodies) counts.set(x, (counts.get(x) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
    const missing: string[] = [];
    for (let i = 0; i < 4; i++) for (let n = 0; n < perProducer; n++) if (!counts.has(`p${i}-${n}`)) missing.push(`p${i}-${n}`);
    assert.deepEqual({ missing, duplicates }, { missing: [], duplicates: [] }, `received ${bodies.length}`);
    assert.equal(bodies.length, perProducer * 4);
  });

  test('receipts lost in the network: the resent sends are dropped by the broker as duplicates', async () => {
    const b = await broker();
    const proxy = await receiptEatingProxy(b.stompPort);
    try {
      const c = await client(`failover:(tcp://127.0.0.1:${proxy.port})?initialReconnectDelay=10`);
      await c.send('/queue/failover.lost-receipts', 'warm-up', { persistent: 'true' });
      proxy.swallowReplies();
      const sends = Array.from({ length: 50 }, (_, i) => c.send('/queue/failover.lost-receipts', `m${i}`, { persistent: 'true' }));
      // The broker has stored all 50 (a second client sees them), but no receipt reached us.
      const probe = await client(`tcp://127.0.0.1:${b.stompPort}`);
      const browse = async () => {
        let n = 0;
        for await (const _ of await probe.subscribe('/queue/failover.lost-receipts', { browse: true })) n++;
        return n;
      };
      await waitFor('the broker to store every send', async () => (await browse()) === 51, 10_000);
      proxy.cut();
      await Promise.all(sends);
      const bodies = await drain(`tcp://127.0.0.1:${b.stompPort}`, '/queue/failover.lost-receipts');
      assert.equal(bodies.length, 51, `no duplicates: ${bodies.length} messages`);
      assert.equal(new Set(bodies).size, 51);
    } finally {
      proxy.close();
    }
  });

  test('the first broker in the list is down; randomize=false connects to the next, in order', async () => {
    const b = await broker();
    const dead = await freePort();
    const c = await client(`failover:(tcp://127.0.0.1:${dead},tcp://127.0.0.1:${b.stompPort})?randomize=false&initialReconnectDelay=10`);
    assert.equal(c.connectedAddress, `tcp://127.0.0.1:${b.stompPort}`);
    await c.send('/queue/failover.first-down', 'ok');
    assert.equal((await drain(`tcp://127.0.0.1:${b.stompPort}`, '/queue/failover.first-down')).join(), 'ok');
  });

  test('an unreachable broker: a clear error once startupMaxReconnectAttempts runs out', async () => {
    const dead = await freePort();
    const started = Date.now();
    await assert.rejects(
      connect(`failover:(tcp://127.0.0.1:${dead})?startupMaxReconnectAttempts=2&initialReconnectDelay=10`),
      new RegExp(`could not connect to any broker after 3 attempt\\(s\\) \\(startupMaxReconnectAttempts=2\\): tcp://127.0.0.1:${dead}: cannot connect to tcp://127.0.0.1:${dead}: ECONNREFUSED`),
    );
    assert.ok(Date.now() - started < 5000);
    await assert.rejects(connect(`tcp://127.0.0.1:${dead}`), /ECONNREFUSED/);
  });

  test('an ERROR frame from the broker is a clear error for that operation; the client goes on', async () => {
    const b = await broker();
    const c = await client(`failover:(tcp://127.0.0.1:${b.stompPort})`);
    await assert.rejects(c.subscribe('/queue/failover.err', { selector: 'a = = 1' }), /broker error: .*selector.*\(QMQ-2002\)/i);
    await assert.rejects(c.subscribe('/topic/failover.err', { durableName: 'x' }), /broker error: .*client.id/i);
    await c.send('/queue/failover.err', 'still fine');
    assert.equal((await drain(`tcp://127.0.0.1:${b.stompPort}`, '/queue/failover.err')).join(), 'still fine');
  });

  test('durable subscription, temporary queue (request/reply) and transaction, each across a kill -9 and restart', async () => {
    let b = await broker({ dataDir: tempDir() });
    const url = `failover:(tcp://127.0.0.1:${b.stompPort})?initialReconnectDelay=20&maxReconnectDelay=200`;
    const subscriber = await client(url, { clientId: 'failover-durable' });
    const durable = await subscriber.subscribe('/topic/failover.events', { durableName: 'audit', ack: 'client-individual' });
    const service = await client(url);
    const requests = await service.subscribe('/queue/failover.service');
    const serve = (async () => {
      for await (const r of requests) await service.send(r.headers['reply-to'], `answer:${r.text()}`, { 'correlation-id': r.headers['correlation-id'] });
    })();
    const caller = await client(url);
    assert.equal((await caller.request('/queue/failover.service', 'q1', {}, { timeoutMs: 10_000 })).text(), 'answer:q1');
    const producer = await client(url);
    await producer.send('/topic/failover.events', 'before', { persistent: 'true' });
    const tx = await producer.begin();
    await producer.send('/queue/failover.tx', 'tx-1', { transaction: tx, persistent: 'true' });

    const reconnected = Promise.all([subscriber, service, caller, producer].map((c) => new Promise<void>((resolve) => c.once('connected', () => resolve()))));
    b = await crashAndRestart(b);
    await reconnected;

    // Durable: reattached under the same client id and name; the stored message is still there.
    const first = await durable.next(10_000);
    assert.equal(first?.text(), 'before');
    await first!.ack();
    await producer.send('/topic/failover.events', 'after', { persistent: 'true' });
    assert.equal((await durable.next(10_000))?.text(), 'after');
    // Temporary queue: re-created on the new connection, so request/reply works again.
    assert.equal((await caller.request('/queue/failover.service', 'q2', {}, { timeoutMs: 10_000 })).text(), 'answer:q2');
    // Transaction: replayed on the new connection; the commit delivers both sends once.
    await producer.send('/queue/failover.tx', 'tx-2', { transaction: tx, persistent: 'true' });
    await producer.commit(tx);
    assert.deepEqual((await drain(`tcp://127.0.0.1:${b.stompPort}`, '/queue/failover.tx')).sort(), ['tx-1', 'tx-2']);
    await requests.unsubscribe();
    await serve;
  });

  test("stompit's ConnectFailover keeps working through a restart", async () => {
    let b = await broker({ dataDir: tempDir() });
    const servers = [{ host: '127.0.0.1', port: b.stompPort, connectHeaders: { host: '/', 'heart-beat': '0,0' } }];
    const failover = new stompit.ConnectFailover(servers, { initialReconnectDelay: 20, maxReconnectDelay: 200, useExponentialBackOff: true, maxReconnects: 200 });
    let connects = 0;
    let current: any;
    failover.on('error', () => undefined);
    failover.connect((error: Error | null, c: any, reconnect: () => void) => {
      if (error) return;
      connects++;
      current = c;
      c.on('error', () => reconnect());
    });
    await waitFor('stompit to connect', () => connects === 1, 10_000);
    const send = (body: string) =>
      new Promise<void>((resolve, reject) => {
        const frame = current.send({ destination: '/queue/failover.stompit', persistent: 'true', receipt: `r-${body}` }, { onReceipt: () => resolve() });
        frame.on('error', reject);
        frame.end(body);
      });
    await send('one');
    b = await crashAndRestart(b);
    await waitFor('stompit to reconnect', () => connects >= 2, 15_000);
    await send('two');
    current.disconnect();
    assert.deepEqual((await drain(`tcp://127.0.0.1:${b.stompPort}`, '/queue/failover.stompit')).sort(), ['one', 'two']);
  });
});
