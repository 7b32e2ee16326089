/**
 * Delayed delivery (`schedulerSupport="true"`, ActiveMQ's AMQ_SCHEDULED_* properties) with real
 * clients and a real crash: never delivered early, delivered once, and kept across kill -9.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, startBroker, startBrokerWithConfig, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { collect, publishWithReceipt, stompJs } from '../helpers/third-party.js';
import { waitFor } from '../helpers/wait.js';

const CONFIG = `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="later" schedulerSupport="true">
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
  </transportConnectors>
</broker>`;

let broker: BrokerProcess;
let dataDir: string;

before(async () => {
  dataDir = tempDir();
  broker = await startBrokerWithConfig(CONFIG, dataDir);
});

after(async () => {
  await broker.stop();
  cleanupTemp();
});

test('stompjs: a delayed message arrives no earlier than its delay, once, without the scheduling headers', async () => {
  const client = await stompJs({ tcpPort: broker.stompPort });
  try {
    const got = collect(client, '/queue/sched.a', { id: 'a' });
    await got.ready;
    const sentAt = Date.now();
    await publishWithReceipt(client, '/queue/sched.a', 'later', { persistent: 'true', AMQ_SCHEDULED_DELAY: '1500', tag: 'x' });
    await publishWithReceipt(client, '/queue/sched.a', 'now', { persistent: 'true' });
    await waitFor('the delayed message', () => (got.messages.length === 2 ? true : undefined), 20_000);
    const receivedAt = Date.now();
    assert.deepEqual(got.messages.map((m) => m.body), ['now', 'later']);
    assert.ok(receivedAt - sentAt >= 1500, `arrived after ${receivedAt - sentAt} ms, not before its 1500 ms delay`);
    const later = got.messages[1].headers;
    assert.equal(later.tag, 'x');
    assert.equal(later.AMQ_SCHEDULED_DELAY, undefined);
    assert.ok(later.scheduledJobId, 'it names its job, as ActiveMQ does');
  } finally {
    await client.deactivate();
  }
});

test('a scheduled message survives kill -9 of the broker and is delivered after the restart', async () => {
  const client = await stompJs({ tcpPort: broker.stompPort });
  await publishWithReceipt(client, '/queue/sched.b', 'after the crash', { persistent: 'true', AMQ_SCHEDULED_DELAY: '2000' });
  await client.deactivate();
  const status = await fetch(`http://127.0.0.1:${broker.httpPort}/api/status`).then((r) => r.json() as Promise<{ scheduledMessages: number }>);
  assert.equal(status.scheduledMessages, 1);
  await broker.kill();
  broker = await startBrokerWithConfig(CONFIG, dataDir);
  const again = await stompJs({ tcpPort: broker.stompPort });
  try {
    const got = collect(again, '/queue/sched.b', { id: 'b' });
    await got.ready;
    await waitFor('the delayed message after the restart', () => (got.messages.length >= 1 ? true : undefined), 20_000);
    assert.deepEqual(got.messages.map((m) => m.body), ['after the crash']);
  } finally {
    await again.deactivate();
  }
});

test('the HTTP API lists scheduled messages and cancels one; a later one still comes', async () => {
  const client = await stompJs({ tcpPort: broker.stompPort });
  try {
    const got = collect(client, '/queue/sched.e', { id: 'e' });
    await got.ready;
    await publishWithReceipt(client, '/queue/sched.e', 'cancel me', { persistent: 'true', AMQ_SCHEDULED_DELAY: '1500' });
    await publishWithReceipt(client, '/queue/sched.e', 'marker', { persistent: 'true', AMQ_SCHEDULED_DELAY: '2500' });
    const listed = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/scheduled`)).json()) as { scheduled: { jobId: string; body: string; destination: string }[] };
    const doomed = listed.scheduled.find((j) => j.body === 'cancel me');
    assert.ok(doomed, JSON.stringify(listed));
    assert.equal(doomed.destination, 'queue://sched.e');
    const del = await fetch(`http://127.0.0.1:${broker.httpPort}/api/scheduled/${encodeURIComponent(doomed.jobId)}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    // The marker is due after the cancelled one: once it is here, the other would have come first.
    await waitFor('the marker', () => (got.messages.length >= 1 ? true : undefined), 20_000);
    assert.deepEqual(got.messages.map((m) => m.body), ['marker']);
  } finally {
    await client.deactivate();
  }
});

test('a bad AMQ_SCHEDULED_DELAY is refused by name and the connection goes on', async () => {
  const client = await stompJs({ tcpPort: broker.stompPort });
  const errors: string[] = [];
  client.onStompError = (f) => errors.push(f.headers.message);
  try {
    client.publish({ destination: '/queue/sched.c', body: 'x', headers: { AMQ_SCHEDULED_DELAY: 'soon', receipt: 'bad' } });
    await waitFor('the refusal', () => (errors.length === 1 ? true : undefined));
    assert.match(errors[0], /AMQ_SCHEDULED_DELAY must be a whole number/);
    await publishWithReceipt(client, '/queue/sched.c', 'fine', { AMQ_SCHEDULED_DELAY: '10' });
  } finally {
    await client.deactivate();
  }
});

test('without schedulerSupport (the default) the properties are ignored and the message comes at once', async () => {
  const plain = await startBroker();
  const client = await stompJs({ tcpPort: plain.stompPort });
  try {
    const got = collect(client, '/queue/sched.d', { id: 'd' });
    await got.ready;
    await publishWithReceipt(client, '/queue/sched.d', 'at once', { AMQ_SCHEDULED_DELAY: '600000' });
    await waitFor('the message', () => (got.messages.length === 1 ? true : undefined));
    assert.equal(got.messages[0].headers.AMQ_SCHEDULED_DELAY, '600000');
  } finally {
    await client.deactivate();
    await plain.stop();
  }
});
