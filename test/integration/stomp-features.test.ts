import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, startBroker, type BrokerProcess } from '../helpers/broker-process.js';
import { RawStomp, header } from '../helpers/raw-stomp.js';
import { connect } from '../../src/client/index.js';
import { waitFor } from '../helpers/wait.js';

let broker: BrokerProcess;
let url: string;

before(async () => {
  broker = await startBroker();
  url = `tcp://127.0.0.1:${broker.stompPort}`;
});

after(async () => {
  await broker.stop();
  cleanupTemp();
});

async function raw(connectHeaders = 'accept-version:1.2\nhost:localhost\n'): Promise<RawStomp> {
  const r = await RawStomp.connect(broker.stompPort);
  r.write(`CONNECT\n${connectHeaders}\n\0`);
  await r.waitFrame('CONNECTED');
  return r;
}

describe('STOMP features through a real broker process', () => {
  test('request/reply over a temporary queue: the replier sees /remote-temp-queue/, the owner its own name', async () => {
    const requester = await raw();
    requester.write('SUBSCRIBE\nid:replies\ndestination:/temp-queue/answers\nreceipt:s\n\n\0');
    await requester.waitFrame('RECEIPT');
    const replier = await connect(url);
    const requests = await replier.subscribe('/queue/feat.service');
    requester.write('SEND\ndestination:/queue/feat.service\nreply-to:/temp-queue/answers\ncorrelation-id:c-1\n\nquestion\0');
    const req = await requests.next(5000);
    assert.ok(req);
    const replyTo = req.headers['reply-to'];
    assert.match(replyTo, /^\/remote-temp-queue\//);
    assert.equal(req.headers['correlation-id'], 'c-1');
    await replier.send(replyTo, 'answer', { 'correlation-id': 'c-1' });
    const reply = await requester.waitFrame('MESSAGE');
    assert.equal(reply.body.toString(), 'answer');
    assert.equal(header(reply, 'destination'), '/temp-queue/answers');
    requester.close();
    // The temporary queue dies with its owner: a send to it now fails clearly.
    await waitFor('the temp queue to go', async () => {
      try {
        await replier.send(replyTo, 'late');
        return false;
      } catch (e) {
        return /does not exist/.test((e as Error).message);
      }
    });
    await replier.close();
  });

  test('browsing shows the queue without consuming it, then browser:end', async () => {
    const c = await connect(url);
    for (let i = 0; i < 3; i++) await c.send('/queue/feat.browse', `b-${i}`, { persistent: 'true' });
    const browse = await c.subscribe('/queue/feat.browse', { browse: true });
    const seen: string[] = [];
    for await (const m of browse) seen.push(m.text());
    assert.deepEqual(seen, ['b-0', 'b-1', 'b-2']);
    const sub = await c.subscribe('/queue/feat.browse', { ack: 'client-individual' });
    for (let i = 0; i < 3; i++) {
      const m = await sub.next(5000);
      assert.equal(m?.text(), `b-${i}`);
      await m!.ack();
    }
    await c.close();
  });

  test('the browse ends with an empty MESSAGE that names the browsed queue (as ActiveMQ 5.17 sends it)', async () => {
    const r = await raw();
    r.write('SEND\ndestination:/queue/feat.browse-end\nreceipt:s\n\nonly\0');
    await r.waitFrame('RECEIPT');
    r.write('SUBSCRIBE\nid:b\ndestination:/queue/feat.browse-end\nbrowser:true\n\n\0');
    assert.equal((await r.waitFrame('MESSAGE')).body.toString(), 'only');
    const end = await r.waitFrame('MESSAGE');
    assert.equal(header(end, 'browser'), 'end');
    assert.equal(header(end, 'destination'), '/queue/feat.browse-end');
    assert.equal(header(end, 'subscription'), 'b');
    r.close();
  });

  test('a destination without a known prefix is a queue of that name (ActiveMQ 5.17 does the same)', async () => {
    const r = await raw();
    r.write('SEND\ndestination:feat.bare\nreceipt:s1\n\nbare name\0');
    assert.equal(header(await r.waitFrame('RECEIPT'), 'receipt-id'), 's1');
    r.write('SUBSCRIBE\nid:q\ndestination:/queue/feat.bare\n\n\0');
    const m = await r.waitFrame('MESSAGE');
    assert.equal(m.body.toString(), 'bare name');
    assert.equal(header(m, 'destination'), '/queue/feat.bare');
    // Subscribing by the bare name reaches the same queue.
    r.write('UNSUBSCRIBE\nid:q\n\n\0SUBSCRIBE\nid:bare\ndestination:feat.bare\n\n\0SEND\ndestination:/queue/feat.bare\n\nby prefix\0');
    const m2 = await r.waitFrame('MESSAGE');
    assert.equal(m2.body.toString(), 'by prefix');
    assert.equal(header(m2, 'subscription'), 'bare');
    r.close();
  });

  test('virtual topics: /topic/VirtualTopic.x feeds each /queue/Consumer.<name>.VirtualTopic.x, which keeps messages while its consumers are away', async () => {
    const a = await raw();
    a.write('SUBSCRIBE\nid:a\ndestination:/queue/Consumer.A.VirtualTopic.feat-orders\nreceipt:ra\n\n\0');
    await a.waitFrame('RECEIPT');
    const b = await raw();
    b.write('SUBSCRIBE\nid:b\ndestination:/queue/Consumer.B.VirtualTopic.feat-orders?consumer.prefetchSize=10\nreceipt:rb\n\n\0');
    await b.waitFrame('RECEIPT');
    b.write('UNSUBSCRIBE\nid:b\nreceipt:ub\n\n\0');
    await b.waitFrame('RECEIPT');
    const producer = await raw();
    producer.write('SEND\ndestination:/topic/VirtualTopic.feat-orders\npersistent:true\nreceipt:s1\n\norder 1\0');
    await producer.waitFrame('RECEIPT');
    const m = await a.waitFrame('MESSAGE');
    assert.equal(m.body.toString(), 'order 1');
    assert.equal(header(m, 'destination'), '/queue/Consumer.A.VirtualTopic.feat-orders');
    assert.equal(header(m, 'original-destination'), '/topic/VirtualTopic.feat-orders');
    // Group B had no consumer when it was sent: its queue kept its copy.
    b.write('SUBSCRIBE\nid:b2\ndestination:/queue/Consumer.B.VirtualTopic.feat-orders\n\n\0');
    assert.equal((await b.waitFrame('MESSAGE')).body.toString(), 'order 1');
    for (const c of [a, b, producer]) c.close();
  });

  test('NACK redelivers with redelivered:true and a count, then dead-letters to ActiveMQ.DLQ after 6 redeliveries', async () => {
    const c = await connect(url);
    await c.send('/queue/feat.poison', 'poison', { persistent: 'true' });
    const sub = await c.subscribe('/queue/feat.poison', { ack: 'client-individual' });
    const counts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const m = await sub.next(5000);
      assert.ok(m, `delivery ${i + 1}`);
      assert.equal(m.redelivered, i > 0);
      counts.push(m.redeliveryCount);
      await m.nack();
    }
    assert.deepEqual(counts, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(await sub.next(300), undefined, 'no eighth delivery');
    const dlq = await c.subscribe('/queue/ActiveMQ.DLQ', { ack: 'client-individual' });
    const dead = await dlq.next(5000);
    assert.equal(dead?.text(), 'poison');
    assert.equal(dead?.headers['original-destination'], '/queue/feat.poison');
    await dead!.ack();
    await c.close();
  });

  test('a consumer that disconnects without acking: its messages go to the next consumer, flagged redelivered', async () => {
    const a = await raw();
    a.write('SEND\ndestination:/queue/feat.redeliver\npersistent:true\n\nonce\0');
    a.write('SUBSCRIBE\nid:1\ndestination:/queue/feat.redeliver\nack:client\n\n\0');
    const first = await a.waitFrame('MESSAGE');
    assert.equal(header(first, 'redelivered'), undefined);
    a.close();
    const b = await connect(url);
    const sub = await b.subscribe('/queue/feat.redeliver', { ack: 'client' });
    const again = await sub.next(5000);
    assert.equal(again?.text(), 'once');
    assert.equal(again?.redelivered, true);
    assert.equal(again?.redeliveryCount, 1);
    await again!.ack();
    await b.close();
  });

  test('STOMP 1.0: no accept-version, ACK by message-id', async () => {
    const r = await raw('login:x\npasscode:y\n');
    r.write('SEND\ndestination:/queue/feat.v10\n\nold\0');
    r.write('SUBSCRIBE\ndestination:/queue/feat.v10\nack:client\n\n\0');
    const m = await r.waitFrame('MESSAGE');
    assert.equal(m.body.toString(), 'old');
    assert.equal(header(m, 'ack'), undefined, 'no ack header before 1.2');
    assert.equal(header(m, 'subscription'), undefined, 'no subscription header for a SUBSCRIBE without id (STOMP 1.0, as ActiveMQ)');
    r.write(`ACK\nmessage-id:${header(m, 'message-id')}\nreceipt:a1\n\n\0`);
    assert.equal(header(await r.waitFrame('RECEIPT'), 'receipt-id'), 'a1');
    r.close();
  });

  test('STOMP 1.1: ACK and NACK carry subscription and message-id', async () => {
    const r = await raw('accept-version:1.0,1.1\nhost:localhost\n');
    r.write('SEND\ndestination:/queue/feat.v11\n\none\0SEND\ndestination:/queue/feat.v11\n\ntwo\0');
    r.write('SUBSCRIBE\nid:s11\ndestination:/queue/feat.v11\nack:client-individual\n\n\0');
    const m1 = await r.waitFrame('MESSAGE');
    const m2 = await r.waitFrame('MESSAGE');
    assert.equal(header(m1, 'subscription'), 's11');
    r.write(`ACK\nsubscription:s11\nmessage-id:${header(m1, 'message-id')}\nreceipt:a\n\n\0`);
    r.write(`NACK\nsubscription:s11\nmessage-id:${header(m2, 'message-id')}\nreceipt:n\n\n\0`);
    assert.equal(header(await r.waitFrame('RECEIPT'), 'receipt-id'), 'a');
    assert.equal(header(await r.waitFrame('RECEIPT'), 'receipt-id'), 'n');
    const again = await r.waitFrame('MESSAGE');
    assert.equal(again.body.toString(), 'two');
    assert.equal(header(again, 'redelivered'), 'true');
    r.write(`ACK\nsubscription:s11\nmessage-id:${header(again, 'message-id')}\n\n\0`);
    r.close();
  });

  test('header escaping round-trips through the broker (STOMP 1.2)', async () => {
    const r = await raw();
    r.write('SUBSCRIBE\nid:e\ndestination:/queue/feat.esc\nreceipt:s\n\n\0');
    await r.waitFrame('RECEIPT');
    r.write('SEND\ndestination:/queue/feat.esc\nweird:a\\cb\\nc\\\\d\\re\n\nx\0');
    const m = await r.waitFrame('MESSAGE');
    assert.equal(header(m, 'weird'), 'a:b\nc\\d\re');
    r.close();
  });

  test('binary bodies with NULs keep their bytes and content-length', async () => {
    const c = await connect(url);
    const body = Buffer.from([0, 1, 2, 0, 255, 0]);
    await c.send('/queue/feat.bin', body);
    const sub = await c.subscribe('/queue/feat.bin');
    const m = await sub.next(5000);
    assert.deepEqual(m?.body, body);
    assert.equal(m?.headers['content-length'], '6');
    await c.close();
  });

  test('the RECEIPT of a SUBSCRIBE arrives before its first MESSAGE', async () => {
    const c = await connect(url);
    for (let i = 0; i < 20; i++) await c.send('/queue/feat.order', `m${i}`);
    await c.close();
    const r = await raw();
    r.write('SUBSCRIBE\nid:o\ndestination:/queue/feat.order\nreceipt:sub-r\n\n\0');
    await waitFor('frames', () => r.frames.length >= 2);
    assert.equal(r.frames[0].command, 'RECEIPT');
    assert.equal(r.frames[1].command, 'MESSAGE');
    r.close();
  });

  test('heart-beats: the broker sends them when asked, and closes a silent client', async () => {
    const listener = await raw('accept-version:1.2\nhost:localhost\nheart-beat:0,100\n');
    await waitFor('heart-beats from the broker', () => listener.heartbeats >= 3, 5000);
    listener.close();
    const silent = await RawStomp.connect(broker.stompPort);
    silent.write('CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:200,0\n\n\0');
    const connected = await silent.waitFrame('CONNECTED');
    assert.equal(header(connected, 'heart-beat'), '0,200');
    await silent.waitClosed(5000);
  });

  test('an expired message is never delivered', async () => {
    const c = await connect(url);
    await c.send('/queue/feat.exp', 'stale', { expires: String(Date.now() - 1000) });
    await c.send('/queue/feat.exp', 'fresh', { expires: String(Date.now() + 60_000) });
    const sub = await c.subscribe('/queue/feat.exp');
    assert.equal((await sub.next(5000))?.text(), 'fresh');
    assert.equal(await sub.next(200), undefined);
    await c.close();
  });

  test('message groups stick to one consumer; exclusive consumers take everything', async () => {
    const c1 = await connect(url);
    const c2 = await connect(url);
    const s1 = await c1.subscribe('/queue/feat.groups', { ack: 'client-individual', prefetch: 100 });
    const s2 = await c2.subscribe('/queue/feat.groups', { ack: 'client-individual', prefetch: 100 });
    const p = await connect(url);
    for (let i = 0; i < 6; i++) await p.send('/queue/feat.groups', `g${i}`, { JMSXGroupID: i % 2 ? 'odd' : 'even' });
    const got: Record<string, Set<string>> = { even: new Set(), odd: new Set() };
    let n = 0;
    while (n < 6) {
      for (const [name, s] of [['c1', s1], ['c2', s2]] as const) {
        const m = await s.next(50);
        if (m) {
          got[m.headers.JMSXGroupID].add(name);
          n++;
          await m.ack();
        }
      }
    }
    assert.equal(got.even.size, 1, 'the even group went to one consumer');
    assert.equal(got.odd.size, 1, 'the odd group went to one consumer');

    const ex = await c1.subscribe('/queue/feat.excl', { headers: { 'activemq.exclusive': 'true' } });
    const other = await c2.subscribe('/queue/feat.excl');
    for (let i = 0; i < 4; i++) await p.send('/queue/feat.excl', `e${i}`);
    for (let i = 0; i < 4; i++) assert.equal((await ex.next(5000))?.text(), `e${i}`);
    assert.equal(await other.next(200), undefined);
    await Promise.all([c1.close(), c2.close(), p.close()]);
  });

  test('in-doubt commit query: BEGIN with qmq-tx-query:status answers from the store', async () => {
    const a = await raw();
    a.write('BEGIN\ntransaction:tx-doubt-1\n\n\0SEND\ndestination:/queue/feat.doubt\ntransaction:tx-doubt-1\npersistent:true\n\nx\0');
    a.write('COMMIT\ntransaction:tx-doubt-1\nreceipt:c\n\n\0');
    await a.waitFrame('RECEIPT');
    a.close();
    const b = await raw();
    b.write('BEGIN\ntransaction:tx-doubt-1\nqmq-tx-query:status\nreceipt:q1\n\n\0');
    b.write('BEGIN\ntransaction:tx-never\nqmq-tx-query:status\nreceipt:q2\n\n\0');
    const r1 = await b.waitFrame('RECEIPT');
    const r2 = await b.waitFrame('RECEIPT');
    assert.equal(header(r1, 'qmq-tx-status'), 'committed');
    assert.equal(header(r2, 'qmq-tx-status'), 'not-committed');
    // The query began nothing: a real BEGIN of the same id still works.
    b.write('BEGIN\ntransaction:tx-never\nreceipt:q3\n\n\0');
    assert.equal(header(await b.waitFrame('RECEIPT'), 'receipt-id'), 'q3');
    b.close();
  });
});
