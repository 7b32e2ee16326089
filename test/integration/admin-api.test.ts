import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, runCli, startBroker, startBrokerWithConfig, type BrokerProcess } from '../helpers/broker-process.js';
import { collect, publishWithReceipt, stompJs, stompitConnect, stompitSend } from '../helpers/third-party.js';
import { waitFor } from '../helpers/wait.js';

interface Answer {
  status: number;
  json: any;
  headers: Headers;
}

async function http(port: number, method: string, path: string, opts: { json?: unknown; raw?: string; auth?: [string, string] } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.json !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
  if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth.join(':')).toString('base64')}`;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body: opts.raw ?? (opts.json === undefined ? undefined : JSON.stringify(opts.json)), redirect: 'manual' });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // the console page and redirects are not JSON
  }
  return { status: res.status, json, headers: res.headers };
}

/** Disconnects a stompit client and waits for the broker's DISCONNECT receipt. */
const stompitClose = (client: any) =>
  new Promise<void>((resolve, reject) => client.disconnect((e: Error | null | undefined) => (e ? reject(e) : resolve())));

const depthOf = async (port: number, name: string) => {
  const r = await http(port, 'GET', '/api/destinations');
  return (r.json.destinations as { name: string; kind: string; depth: number }[]).find((d) => d.kind === 'queue' && d.name === name)?.depth;
};

describe('destination API and console (no broker authentication)', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
    cleanupTemp();
  });

  test('list, browse, purge (unacked deliveries stay), delete refused while consumed, then deleted for good', async () => {
    const producer = await stompJs({ tcpPort: broker.stompPort });
    const consumer = await stompJs({ tcpPort: broker.stompPort });
    try {
      for (let i = 0; i < 5; i++) await publishWithReceipt(producer, '/queue/adm.orders', `order-${i}`, { persistent: 'true', region: 'eu' });
      assert.equal(await depthOf(broker.httpPort, 'adm.orders'), 5);

      const browsed = await http(broker.httpPort, 'GET', '/api/queues/adm.orders/messages?limit=2');
      assert.equal(browsed.status, 200);
      assert.deepEqual(browsed.json.messages.map((m: any) => [m.body, m.bodyEncoding]), [['order-0', 'utf8'], ['order-1', 'utf8']]);
      assert.equal(browsed.json.messages[0].headers.region, 'eu');
      assert.equal(browsed.json.messages[0].persistent, true);
      assert.equal(await depthOf(broker.httpPort, 'adm.orders'), 5, 'browsing consumes nothing');

      // One message delivered and not acknowledged: purge leaves it, delete is refused.
      const held = collect(consumer, '/queue/adm.orders', { ack: 'client-individual', 'activemq.prefetchSize': '1', id: 'held' });
      await held.ready;
      await waitFor('the held delivery', () => held.messages.length === 1 || undefined);
      const purged = await http(broker.httpPort, 'POST', '/api/queues/adm.orders/purge');
      assert.deepEqual([purged.status, purged.json], [200, { queue: 'adm.orders', purged: 4 }]);
      assert.equal(await depthOf(broker.httpPort, 'adm.orders'), 1);

      const refused = await http(broker.httpPort, 'DELETE', '/api/queues/adm.orders');
      assert.equal(refused.status, 409);
      assert.equal(refused.json.error.code, 'QMQ-2011');
      assert.match(refused.json.error.message, /adm\.orders still has 1 consumer/);

      consumer.unsubscribe('held');
      await waitFor('the consumer to be gone', async () => {
        const d = await http(broker.httpPort, 'GET', '/api/destinations');
        return d.json.destinations.find((x: any) => x.name === 'adm.orders')?.consumerCount === 0 || undefined;
      });
      const deleted = await http(broker.httpPort, 'DELETE', '/api/queues/adm.orders');
      assert.deepEqual([deleted.status, deleted.json], [200, { deleted: 'queue://adm.orders' }]);
      assert.equal(await depthOf(broker.httpPort, 'adm.orders'), undefined);
      const again = await http(broker.httpPort, 'DELETE', '/api/queues/adm.orders');
      assert.deepEqual([again.status, again.json.error.code], [404, 'QMQ-2014']);
    } finally {
      await producer.deactivate();
      await consumer.deactivate();
    }

    // Deleted stays deleted across a restart on the same data.
    await broker.stop();
    broker = await startBroker({ dataDir: broker.dataDir, keepData: true });
    assert.equal(await depthOf(broker.httpPort, 'adm.orders'), undefined);
  });

  test('a message sent through the API reaches a STOMP consumer with its headers', async () => {
    const sent = await http(broker.httpPort, 'POST', '/api/queues/adm.api-send/messages', { json: { body: 'from http', headers: { kind: 'test' }, priority: 7 } });
    assert.equal(sent.status, 200, JSON.stringify(sent.json));
    assert.match(sent.json.messageId, /^ID:/);
    const client = await stompitConnect(broker.stompPort);
    try {
      const got = await new Promise<{ headers: Record<string, string>; body: string }>((resolve, reject) => {
        client.subscribe({ destination: '/queue/adm.api-send', ack: 'auto' }, (err: Error | null, msg: any) => {
          if (err) return reject(err);
          msg.readString('utf-8', (e: Error | null, body: string) => (e ? reject(e) : resolve({ headers: msg.headers, body })));
        });
      });
      assert.equal(got.body, 'from http');
      assert.equal(got.headers.kind, 'test');
      assert.equal(got.headers['message-id'], sent.json.messageId);
      assert.equal(got.headers.priority, '7');
    } finally {
      await stompitClose(client);
    }
  });

  test('the console\'s message actions: retry a dead letter, move one message, delete one', async () => {
    const js = await stompJs({ tcpPort: broker.stompPort });
    try {
      // An expired persistent message goes to ActiveMQ.DLQ when dispatch finds it.
      await publishWithReceipt(js, '/queue/adm.jobs', 'late job', { persistent: 'true', expires: String(Date.now() + 30) });
      await publishWithReceipt(js, '/queue/adm.jobs', 'job 2', { persistent: 'true' });
      await publishWithReceipt(js, '/queue/adm.jobs', 'job 3', { persistent: 'true' });
      await new Promise((r) => setTimeout(r, 60)); // let the first one's 30 ms TTL pass
      const probe = collect(js, '/queue/adm.jobs', { id: 'probe', ack: 'client-individual', 'activemq.prefetchSize': '1' });
      await probe.ready;
      const dlq = await waitFor('the dead letter', async () => {
        const r = await http(broker.httpPort, 'GET', '/api/queues/ActiveMQ.DLQ/messages');
        return r.status === 200 ? (r.json.messages as any[]).find((m) => m.body === 'late job') : undefined;
      });
      js.unsubscribe('probe');
      assert.equal(dlq.originalDestination, 'queue://adm.jobs');
      assert.match(dlq.headers.dlqDeliveryFailureCause, /Message Expired/);

      const retried = await http(broker.httpPort, 'POST', `/api/queues/ActiveMQ.DLQ/messages/${encodeURIComponent(dlq.messageId)}/retry`);
      assert.deepEqual([retried.status, retried.json.movedTo], [200, 'queue://adm.jobs']);
      const jobs = await waitFor('the retried job back in its queue', async () => {
        const r = await http(broker.httpPort, 'GET', '/api/queues/adm.jobs/messages');
        const list = r.json.messages as any[];
        return list.some((m) => m.body === 'late job') ? list : undefined;
      });
      assert.equal(jobs.find((m) => m.body === 'late job').messageId, dlq.messageId);

      const two = jobs.find((m) => m.body === 'job 2' || m.body === 'job 3');
      const moved = await http(broker.httpPort, 'POST', `/api/queues/adm.jobs/messages/${encodeURIComponent(two.messageId)}/move`, { json: { queue: 'adm.parked' } });
      assert.deepEqual([moved.status, moved.json.movedTo], [200, 'queue://adm.parked']);
      const badMove = await http(broker.httpPort, 'POST', `/api/queues/adm.jobs/messages/${encodeURIComponent(two.messageId)}/move`, { json: { queue: 'a', topic: 'b' } });
      assert.deepEqual([badMove.status, badMove.json.error.code], [400, 'QMQ-1012']);
      const gone = await http(broker.httpPort, 'DELETE', `/api/queues/adm.parked/messages/${encodeURIComponent(two.messageId)}`);
      assert.equal(gone.status, 200);
      const again = await http(broker.httpPort, 'DELETE', `/api/queues/adm.parked/messages/${encodeURIComponent(two.messageId)}`);
      assert.deepEqual([again.status, again.json.error.code], [404, 'QMQ-2005']);
      assert.equal(await depthOf(broker.httpPort, 'adm.parked'), 0);

      // What is left is consumed by a STOMP client: the retried job and the one not moved.
      const rest = collect(js, '/queue/adm.jobs', { id: 'rest', ack: 'auto' });
      await rest.ready;
      await waitFor('the two remaining jobs', () => rest.messages.length === 2 || undefined);
      assert.deepEqual(rest.messages.map((m) => m.body).sort(), ['job 2', 'job 3', 'late job'].filter((b) => b !== two.body).sort());
    } finally {
      await js.deactivate();
    }
  });

  test('bad requests get a 4xx naming the problem, and nothing stored is touched', async () => {
    const client = await stompitConnect(broker.stompPort);
    await stompitSend(client, { destination: '/queue/adm.keep', persistent: 'true' }, 'kept');
    const cases: Array<[string, string, { json?: unknown; raw?: string }, number, RegExp]> = [
      ['POST', '/api/queues/adm.keep/messages', { raw: '{"body": "unterminated' }, 400, /JSON/i],
      ['POST', '/api/queues/adm.keep/messages', { json: { body: 42 } }, 400, /body/],
      ['POST', '/api/queues/adm.keep/messages', { json: { body: 'x', extra: true } }, 400, /extra/],
      ['POST', '/api/queues/adm.keep/messages', { json: { body: 'x', priority: 12 } }, 400, /priority/],
      ['GET', '/api/queues/adm.keep/messages?limit=abc', {}, 400, /limit must be a whole number/],
      ['GET', '/api/queues/no.such.queue/messages', {}, 404, /no queue named no\.such\.queue/],
      ['POST', '/api/queues/no.such.queue/purge', {}, 404, /no queue named/],
      ['DELETE', '/api/topics/no.such.topic', {}, 404, /no topic named/],
    ];
    for (const [method, path, opts, status, message] of cases) {
      const r = await http(broker.httpPort, method, path, opts);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.error.message, message, `${method} ${path}`);
      assert.match(r.json.error.code, /^QMQ-\d{4}$/);
    }
    assert.equal(await depthOf(broker.httpPort, 'adm.keep'), 1, 'the stored message is still there');
    await stompitSend(client, { destination: '/queue/adm.keep' }, 'still serving');
    assert.equal(await depthOf(broker.httpPort, 'adm.keep'), 2);
    await stompitClose(client);
  });

  test('the CLI: quorummq purge and retry go through the API; an unknown queue fails the command by name', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await http(broker.httpPort, 'POST', '/api/queues/adm.cli/messages', { json: { body: `m${i}` } })).status, 200);
    const url = `http://127.0.0.1:${broker.httpPort}`;
    const purged = await runCli(['purge', 'adm.cli', '--http', url, '--json']);
    assert.equal(purged.code, 0, purged.stderr);
    assert.deepEqual(JSON.parse(purged.stdout.trim()), { queue: 'adm.cli', purged: 3 });
    const unknown = await runCli(['purge', 'adm.cli', 'adm.nope', '--http', url]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /purged 0 message\(s\) from queue adm\.cli/);
    assert.match(unknown.stderr, /adm\.nope: QMQ-2014 there is no queue named adm\.nope/);
    const retried = await runCli(['retry', 'ActiveMQ.DLQ', '--http', url, '--json']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(typeof JSON.parse(retried.stdout.trim()).retried, 'number');
  });

  test('connections are listed with their protocol, client id and consumers', async () => {
    const js = await stompJs({ tcpPort: broker.stompPort }, { 'client-id': 'adm-watcher' });
    try {
      const sub = collect(js, '/queue/adm.watched', { id: 'w1', ack: 'client-individual', selector: "kind = 'a'" });
      await sub.ready;
      const r = await http(broker.httpPort, 'GET', '/api/connections');
      assert.equal(r.status, 200);
      const mine = (r.json.connections as any[]).find((c) => c.clientId === 'adm-watcher');
      assert.ok(mine, JSON.stringify(r.json));
      assert.match(mine.protocol, /^stomp/);
      assert.match(mine.remoteAddress, /127\.0\.0\.1/);
      assert.deepEqual(mine.consumers.map((c: any) => [c.id, c.destination, c.ackMode, c.selector]), [['w1', 'queue://adm.watched', 'client-individual', "kind = 'a'"]]);
    } finally {
      await js.deactivate();
    }
  });

  test('the console page is served at /admin, and / leads there', async () => {
    const page = await http(broker.httpPort, 'GET', '/admin');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.json, /QuorumMQ console/);
    assert.match(page.json, /\/api\/destinations/);
    const root = await http(broker.httpPort, 'GET', '/');
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/admin');
  });
});

describe('destination API with <simpleAuthenticationPlugin>', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerWithConfig(`<broker xmlns="http://activemq.apache.org/schema/core" brokerName="guarded">
  <plugins>
    <simpleAuthenticationPlugin anonymousAccessAllowed="true">
      <users>
        <authenticationUser username="admin" password="adminpw" groups="admins,users"/>
        <authenticationUser username="app" password="apppw" groups="users"/>
      </users>
    </simpleAuthenticationPlugin>
  </plugins>
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
  </transportConnectors>
</broker>`);
  });
  after(async () => {
    await broker.stop();
    cleanupTemp();
  });

  test('reads need a user, changes need the admins group, and the console asks for a login', async () => {
    const client = await stompitConnect(broker.stompPort, { login: 'app', passcode: 'apppw' });
    await stompitSend(client, { destination: '/queue/adm.secure', persistent: 'true' }, 'secret');
    await stompitClose(client);

    const anonymous = await http(broker.httpPort, 'GET', '/api/destinations');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic/);
    assert.equal(anonymous.json.error.code, 'QMQ-2013');
    const wrong = await http(broker.httpPort, 'GET', '/api/destinations', { auth: ['app', 'nope'] });
    assert.equal(wrong.status, 401);

    const asUser = await http(broker.httpPort, 'GET', '/api/queues/adm.secure/messages', { auth: ['app', 'apppw'] });
    assert.deepEqual([asUser.status, asUser.json.messages.map((m: any) => m.body)], [200, ['secret']]);
    const userPurge = await http(broker.httpPort, 'POST', '/api/queues/adm.secure/purge', { auth: ['app', 'apppw'] });
    assert.equal(userPurge.status, 403);
    assert.match(userPurge.json.error.message, /not in the admins group/);
    const userSend = await http(broker.httpPort, 'POST', '/api/queues/adm.secure/messages', { json: { body: 'x' }, auth: ['app', 'apppw'] });
    assert.equal(userSend.status, 403);

    const adminPurge = await http(broker.httpPort, 'POST', '/api/queues/adm.secure/purge', { auth: ['admin', 'adminpw'] });
    assert.deepEqual([adminPurge.status, adminPurge.json.purged], [200, 1]);

    const page = await http(broker.httpPort, 'GET', '/admin');
    assert.equal(page.status, 401);
    assert.match(page.headers.get('www-authenticate') ?? '', /^Basic/);
    assert.equal((await http(broker.httpPort, 'GET', '/admin', { auth: ['app', 'apppw'] })).status, 200);
    const cli = await runCli(['purge', 'adm.secure', '--http', `http://127.0.0.1:${broker.httpPort}`, '--user', 'app', '--password', 'apppw']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /QMQ-2015 user app is not in the admins group/);
    // Health and status stay open for tooling.
    assert.equal((await http(broker.httpPort, 'GET', '/api/status')).status, 200);
  });
});
