import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, startBroker, type BrokerProcess } from '../helpers/broker-process.js';
import { collect, publishWithReceipt, stompitConnect, stompitSend, stompJs, stompPy } from '../helpers/third-party.js';
import { waitFor } from '../helpers/wait.js';

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker.stop();
  cleanupTemp();
});

describe('three third-party clients exchange persistent messages', () => {
  test('queue: stomp.py sends, stompjs over TCP receives with client-individual acks', async () => {
    await stompPy(broker.stompPort, 'send', '/queue/tp.q1', '5', 'py');
    const c = await stompJs({ tcpPort: broker.stompPort });
    const sub = collect(c, '/queue/tp.q1', { ack: 'client-individual' });
    await waitFor('5 messages', () => sub.messages.length >= 5);
    assert.deepEqual(sub.messages.map((m) => m.body), ['py-0', 'py-1', 'py-2', 'py-3', 'py-4']);
    assert.equal(sub.messages[0].headers.persistent, 'true');
    assert.equal(sub.messages[2].headers.index, '2');
    for (const m of sub.messages) m.ack();
    await c.deactivate();
  });

  test('queue: stompjs over WebSocket sends, stompit receives and acks', async () => {
    const ws = await stompJs({ wsUrl: `ws://127.0.0.1:${broker.wsPort}/` });
    for (let i = 0; i < 3; i++) await publishWithReceipt(ws, '/queue/tp.q2', `ws-${i}`, { persistent: 'true' });
    await ws.deactivate();
    const client = await stompitConnect(broker.stompPort);
    const bodies: string[] = [];
    client.subscribe({ destination: '/queue/tp.q2', ack: 'client-individual' }, (err: Error | null, msg: any) => {
      if (err) return;
      msg.readString('utf-8', (e: Error | null, body: string) => {
        if (!e) bodies.push(body);
        client.ack(msg);
      });
    });
    await waitFor('3 messages', () => bodies.length >= 3);
    assert.deepEqual(bodies, ['ws-0', 'ws-1', 'ws-2']);
    client.disconnect();
  });

  test('topic with a selector: stompit sends, stomp.py and stompjs each get only matching messages', async () => {
    const js = await stompJs({ tcpPort: broker.stompPort });
    const sub = collect(js, '/topic/tp.prices', { selector: "price > 10 AND symbol LIKE 'A%'" });
    await sub.ready;
    const py = stompPy(broker.stompPort, 'receive', '/topic/tp.prices', '2', 'auto', 'price > 10');
    // stomp.py subscribes in its own process; wait until the broker shows two consumers.
    await waitFor('two topic consumers', async () => {
      const s = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/status`)).json()) as any;
      const d = s.destinations.find((x: any) => x.name === 'tp.prices');
      return d && d.consumerCount >= 2;
    });
    const sender = await stompitConnect(broker.stompPort);
    await stompitSend(sender, { destination: '/topic/tp.prices', price: '5', symbol: 'ABC', persistent: 'true' }, 'cheap');
    await stompitSend(sender, { destination: '/topic/tp.prices', price: '12', symbol: 'ABC', persistent: 'true' }, 'a-12');
    await stompitSend(sender, { destination: '/topic/tp.prices', price: '12.5', symbol: 'XYZ', persistent: 'true' }, 'x-12.5');
    sender.disconnect();
    const pyResult = await py;
    assert.deepEqual(pyResult.bodies, ['a-12', 'x-12.5']);
    await waitFor('stompjs selector match', () => sub.messages.length >= 1);
    assert.deepEqual(sub.messages.map((m) => m.body), ['a-12']);
    await js.deactivate();
  });

  test('durable subscription: stomp.py registers, stompjs publishes while it is offline, stomp.py gets the backlog', async () => {
    const reg = await stompPy(broker.stompPort, 'durable', '/topic/tp.news', 'py-client', 'news-sub', 'register');
    assert.equal(reg.registered, true);
    const js = await stompJs({ tcpPort: broker.stompPort });
    for (let i = 0; i < 3; i++) await publishWithReceipt(js, '/topic/tp.news', `news-${i}`, { persistent: 'true' });
    await js.deactivate();
    const got = await stompPy(broker.stompPort, 'durable', '/topic/tp.news', 'py-client', 'news-sub', 'consume', '3');
    assert.deepEqual(got.bodies, ['news-0', 'news-1', 'news-2']);
  });

  test('durable subscription with stompjs over WebSocket: offline backlog, then UNSUBSCRIBE by name destroys it', async () => {
    let js = await stompJs({ wsUrl: `ws://127.0.0.1:${broker.wsPort}/` }, { 'client-id': 'js-client' });
    let sub = collect(js, '/topic/tp.alerts', { 'activemq.subscriptionName': 'alerts', ack: 'client-individual' });
    await sub.ready;
    await js.deactivate();
    const sender = await stompitConnect(broker.stompPort);
    await stompitSend(sender, { destination: '/topic/tp.alerts', persistent: 'true' }, 'alert-1');
    js = await stompJs({ wsUrl: `ws://127.0.0.1:${broker.wsPort}/` }, { 'client-id': 'js-client' });
    sub = collect(js, '/topic/tp.alerts', { 'activemq.subscriptionName': 'alerts', ack: 'client-individual', id: 'dsub' });
    await waitFor('the backlog', () => sub.messages.length >= 1);
    assert.equal(sub.messages[0].body, 'alert-1');
    sub.messages[0].ack();
    // Destroy the subscription: later sends are not kept for it.
    const receipt = 'unsub-1';
    const done = new Promise<void>((r) => js.watchForReceipt(receipt, () => r()));
    js.unsubscribe('dsub', { 'activemq.subscriptionName': 'alerts', receipt });
    await done;
    await js.deactivate();
    await stompitSend(sender, { destination: '/topic/tp.alerts', persistent: 'true' }, 'alert-2');
    sender.disconnect();
    const status = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/status`)).json()) as any;
    const held = status.destinations.filter((d: any) => String(d.name).includes('alerts') && d.kind !== 'topic');
    assert.ok(held.every((d: any) => d.depth === 0), `no durable backlog remains: ${JSON.stringify(held)}`);
  });

  test('transactions: stomp.py aborts one and commits another; only the committed messages arrive', async () => {
    const tx = await stompPy(broker.stompPort, 'transaction', '/queue/tp.tx');
    assert.equal(tx.committed, true);
    assert.deepEqual(tx.errors, []);
    const c = await stompJs({ tcpPort: broker.stompPort });
    const sub = collect(c, '/queue/tp.tx', { ack: 'client-individual' });
    await waitFor('2 committed messages', () => sub.messages.length >= 2);
    // A further message proves nothing else (the aborted one) is queued ahead of or behind them.
    await publishWithReceipt(c, '/queue/tp.tx', 'marker');
    await waitFor('the marker', () => sub.messages.some((m) => m.body === 'marker'));
    assert.deepEqual(sub.messages.map((m) => m.body), ['committed-1', 'committed-2', 'marker']);
    await c.deactivate();
  });

  test('stompjs transaction over WebSocket: commit delivers, abort discards', async () => {
    const c = await stompJs({ wsUrl: `ws://127.0.0.1:${broker.wsPort}/` });
    const sub = collect(c, '/queue/tp.jstx', { ack: 'auto' });
    await sub.ready;
    const t1 = c.begin();
    c.publish({ destination: '/queue/tp.jstx', body: 'rolled-back', headers: { transaction: t1.id, persistent: 'true' } });
    t1.abort();
    const t2 = c.begin();
    c.publish({ destination: '/queue/tp.jstx', body: 'kept', headers: { transaction: t2.id, persistent: 'true' } });
    t2.commit();
    await publishWithReceipt(c, '/queue/tp.jstx', 'after');
    await waitFor('two messages', () => sub.messages.length >= 2);
    assert.deepEqual(sub.messages.map((m) => m.body), ['kept', 'after']);
    await c.deactivate();
  });
});
