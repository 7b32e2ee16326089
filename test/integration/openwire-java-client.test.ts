/**
 * OpenWire with ActiveMQ 5.17's own Java JMS client (Debian's `activemq` package) against a real
 * broker process: what a team's existing Java producers and consumers do, and what they see.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { cleanupTemp, startBroker, type BrokerProcess } from '../helpers/broker-process.js';
import { runProbe, type ProbeEvent } from '../helpers/java-openwire.js';
import { RawStomp, header } from '../helpers/raw-stomp.js';
import { waitFor } from '../helpers/wait.js';
import { decodeCommand, encodeCommand, FrameSplitter, type OwObject } from '../../src/protocol/openwire/codec.js';
import { T } from '../../src/protocol/openwire/schema.js';
import { encodeTypedMap } from '../../src/protocol/openwire/primitive-map.js';

let broker: BrokerProcess;
let url: string;

before(async () => {
  broker = await startBroker();
  url = `tcp://127.0.0.1:${broker.openwirePort}`;
});

after(async () => {
  await broker.stop();
  cleanupTemp();
});

async function probe(args: string[], expectCode = 0): Promise<ProbeEvent[]> {
  const r = await runProbe(url, args, { timeoutMs: 60_000 });
  assert.equal(r.timedOut, false, `the probe hung: ${args.join(' ')}\n${r.stderr}`);
  assert.equal(r.code, expectCode, `probe ${args.join(' ')} exited ${r.code}\nevents: ${JSON.stringify(r.events)}\nstderr: ${r.stderr.slice(-3000)}`);
  return r.events;
}

const received = (events: ProbeEvent[]) => events.filter((e) => e.event === 'received');

test('a Java producer and consumer: text, properties, headers, and the producer\'s JMSMessageID', async () => {
  const sent = await probe(['produce', '--queue', 'ow.basic', '--count', '3', '--property', 'color=red', '--priority', '6', '--correlation-id', 'corr-9', '--type', 'order']);
  const ids = sent.filter((e) => e.event === 'sent').map((e) => e.messageId);
  assert.equal(ids.length, 3);
  const got = received(await probe(['consume', '--queue', 'ow.basic', '--count', '3', '--timeout', '5000']));
  assert.deepEqual(got.map((e) => e.text), ['m0', 'm1', 'm2']);
  assert.deepEqual(got.map((e) => e.messageId), ids);
  for (const e of got) {
    assert.equal(e.kind, 'text');
    assert.equal(e.priority, 6);
    assert.equal(e.persistent, true);
    assert.equal(e.correlationId, 'corr-9');
    assert.equal(e.type, 'order');
    assert.equal(e.redelivered, false);
    assert.equal(e.destination, 'queue://ow.basic');
    assert.equal((e.properties as Record<string, string>).color, 'red');
    // setIntProperty on the producer: getObjectProperty gives an Integer back, as with ActiveMQ.
    assert.deepEqual(e.propertyTypes, { color: 'String', seq: 'Integer' });
  }
  // Consumed and acknowledged: nothing is left.
  await probe(['consume', '--queue', 'ow.basic', '--count', '1', '--timeout', '300'], 3);
});

test('bytes messages, a QueueBrowser that takes nothing, then client acknowledgement', async () => {
  await probe(['produce', '--queue', 'ow.bytes', '--count', '3', '--bytes', '--persistent', 'false', '--prefix', 'héllo✓-']);
  const browsed = (await probe(['browse', '--queue', 'ow.bytes'])).filter((e) => e.event === 'browsed');
  assert.deepEqual(browsed.map((e) => e.text), ['héllo✓-0', 'héllo✓-1', 'héllo✓-2']);
  const got = received(await probe(['consume', '--queue', 'ow.bytes', '--count', '3', '--timeout', '5000', '--ack', 'client']));
  assert.deepEqual(got.map((e) => [e.kind, e.text, e.persistent]), [
    ['bytes', 'héllo✓-0', false],
    ['bytes', 'héllo✓-1', false],
    ['bytes', 'héllo✓-2', false],
  ]);
});

test('request/reply through a temporary queue, and a topic', async () => {
  const rr = await probe(['request-reply', '--queue', 'ow.requests', '--count', '3']);
  assert.deepEqual(rr.filter((e) => e.event === 'reply').map((e) => [e.text, e.correlationId]), [
    ['re:req0', 'c0'],
    ['re:req1', 'c1'],
    ['re:req2', 'c2'],
  ]);
  const ps = received(await probe(['pubsub', '--topic', 'ow.prices', '--count', '3']));
  assert.deepEqual(ps.map((e) => [e.text, e.destination]), [
    ['m0', 'topic://ow.prices'],
    ['m1', 'topic://ow.prices'],
    ['m2', 'topic://ow.prices'],
  ]);
});

test('a transacted consumer that rolls back gets the same messages again, marked redelivered', async () => {
  await probe(['produce', '--queue', 'ow.tx', '--count', '3', '--transacted']);
  const events = await probe(['consume', '--queue', 'ow.tx', '--count', '3', '--timeout', '5000', '--ack', 'transacted', '--rollback-first']);
  const got = received(events);
  assert.deepEqual(got.map((e) => [e.text, e.redelivered]), [
    ['m0', false], ['m1', false], ['m2', false],
    ['m0', true], ['m1', true], ['m2', true],
  ]);
  assert.ok(events.some((e) => e.event === 'rolledback'));
  await probe(['consume', '--queue', 'ow.tx', '--count', '1', '--timeout', '300'], 3);
});

test('messages a closed consumer only prefetched come back unmarked; the ones it received come back redelivered', async () => {
  await probe(['produce', '--queue', 'ow.prefetched', '--count', '4']);
  // Takes m0 and acks it; m1..m3 sat in its prefetch buffer and reach the next consumer as new.
  await probe(['consume', '--queue', 'ow.prefetched', '--count', '1', '--timeout', '5000', '--ack', 'client']);
  const next = received(await probe(['consume', '--queue', 'ow.prefetched', '--count', '3', '--timeout', '5000', '--ack', 'client']));
  assert.deepEqual(next.map((e) => [e.text, e.redelivered, e.deliveryCount]), [['m1', false, 1], ['m2', false, 1], ['m3', false, 1]]);
  // Received but not acknowledged (the consumer times out waiting for a third): redelivered.
  await probe(['produce', '--queue', 'ow.unacked', '--count', '2']);
  await probe(['consume', '--queue', 'ow.unacked', '--count', '3', '--timeout', '500', '--ack', 'client'], 3);
  const again = received(await probe(['consume', '--queue', 'ow.unacked', '--count', '2', '--timeout', '5000']));
  assert.deepEqual(again.map((e) => [e.text, e.redelivered, e.deliveryCount]), [['m0', true, 2], ['m1', true, 2]]);
});

test('a message the client gives up on (its redelivery policy) goes to the DLQ with the client\'s reason', async () => {
  await probe(['produce', '--queue', 'ow.poison', '--count', '1', '--property', 'k=poison']);
  const tries = received(await probe(['consume', '--queue', 'ow.poison', '--count', '1', '--timeout', '1500', '--ack', 'transacted', '--rollback-all', '--max-redeliveries', '2']));
  assert.deepEqual(tries.map((e) => e.redelivered), [false, true, true]);
  await probe(['consume', '--queue', 'ow.poison', '--count', '1', '--timeout', '300'], 3);
  const [dead] = received(await probe(['consume', '--queue', 'ActiveMQ.DLQ', '--count', '1', '--timeout', '5000', '--selector', "k = 'poison'"]));
  const props = dead.properties as Record<string, string>;
  assert.equal(dead.text, 'm0');
  assert.match(props.dlqDeliveryFailureCause, /^java\.lang\.Throwable: Delivery\[3\] exceeds redelivery policy limit/);
  assert.equal(props.originalExpiration, '0');
});

test('async sends with a producer window get ProducerAcks, so the producer never blocks; all arrive', async () => {
  // A 4 KiB window holds about four messages: without ProducerAcks the fifth send would wait for good.
  await probe(['produce', '--queue', 'ow.window', '--count', '200', '--persistent', 'false', '--producer-window', '4096', '--quiet']);
  await probe(['produce', '--queue', 'ow.window', '--count', '200', '--async-send', '--producer-window', '4096', '--quiet', '--prefix', 'p']);
  const done = (await probe(['consume', '--queue', 'ow.window', '--count', '400', '--timeout', '5000', '--quiet'])).find((e) => e.event === 'done');
  assert.equal(done?.received, 400);
});

test('compressed bodies (useCompression) arrive whole, to Java and to STOMP consumers', async () => {
  const text = `${'abc'.repeat(2000)}-`;
  await probe(['produce', '--queue', 'ow.zip', '--count', '1', '--compress', '--prefix', text]);
  await probe(['produce', '--queue', 'ow.zip', '--count', '1', '--compress', '--bytes', '--prefix', 'zipped-bytes-']);
  const got = received(await probe(['consume', '--queue', 'ow.zip', '--count', '2', '--timeout', '5000']));
  assert.deepEqual(got.map((e) => [e.kind, e.text]), [['text', `${text}0`], ['bytes', 'zipped-bytes-0']]);
  await probe(['produce', '--queue', 'ow.zip.stomp', '--count', '1', '--compress', '--prefix', text]);
  const stomp = await RawStomp.connect(broker.stompPort);
  try {
    await stomp.handshake();
    stomp.write('SUBSCRIBE\nid:1\ndestination:/queue/ow.zip.stomp\n\n\0');
    assert.equal((await stomp.waitFrame('MESSAGE')).body.toString('utf8'), `${text}0`);
  } finally {
    stomp.close();
  }
});

test('selectors with individual acknowledgement, prefetch 1, and pull consumers (prefetch 0)', async () => {
  await probe(['produce', '--queue', 'ow.sel', '--count', '4']);
  const picked = received(await probe(['consume', '--queue', 'ow.sel', '--count', '2', '--timeout', '5000', '--ack', 'individual', '--selector', 'seq > 1', '--prefetch', '1']));
  assert.deepEqual(picked.map((e) => e.text), ['m2', 'm3']);
  const pulled = received(await probe(['consume', '--queue', 'ow.sel', '--count', '2', '--timeout', '5000', '--prefetch', '0']));
  assert.deepEqual(pulled.map((e) => e.text), ['m0', 'm1']);
  // A pull on an empty queue ends when its timeout does: the broker sends an empty dispatch.
  const started = Date.now();
  const none = await probe(['consume', '--queue', 'ow.sel', '--count', '1', '--timeout', '400', '--prefetch', '0'], 3);
  assert.deepEqual(none.map((e) => e.event), ['timeout']);
  assert.ok(Date.now() - started < 30_000);
});

test('a durable subscriber gets what was published while it was away', async () => {
  const sub = ['consume', '--topic', 'ow.news', '--durable', 'news-sub', '--client-id', 'ow-durable-1'];
  // Registers the subscription, then times out: nothing was published yet.
  await probe([...sub, '--count', '1', '--timeout', '300'], 3);
  await probe(['produce', '--topic', 'ow.news', '--count', '2']);
  const got = received(await probe([...sub, '--count', '2', '--timeout', '5000']));
  assert.deepEqual(got.map((e) => e.text), ['m0', 'm1']);
});

test('STOMP and OpenWire clients exchange messages both ways', async () => {
  await probe(['produce', '--queue', 'ow.to.stomp', '--count', '1', '--property', 'region=eu', '--correlation-id', 'x-1']);
  const stomp = await RawStomp.connect(broker.stompPort);
  try {
    await stomp.handshake();
    stomp.write('SUBSCRIBE\nid:1\ndestination:/queue/ow.to.stomp\nack:auto\n\n\0');
    const m = await stomp.waitFrame('MESSAGE');
    assert.equal(m.body.toString('utf8'), 'm0');
    assert.equal(header(m, 'region'), 'eu');
    assert.equal(header(m, 'correlation-id'), 'x-1');
    assert.equal(header(m, 'seq'), '0');
    assert.equal(header(m, 'qmq-property-types'), undefined, 'the type table is not a STOMP header');
    stomp.write('SEND\ndestination:/queue/stomp.to.ow\npersistent:true\ncolour:blue\ncorrelation-id:s-1\nreceipt:r1\n\nfrom stomp\0');
    await stomp.waitFrame('RECEIPT');
  } finally {
    stomp.close();
  }
  const [e] = received(await probe(['consume', '--queue', 'stomp.to.ow', '--count', '1', '--timeout', '5000']));
  assert.equal(e.text, 'from stomp');
  assert.equal(e.kind, 'text');
  assert.equal(e.persistent, true);
  assert.equal(e.correlationId, 's-1');
  assert.equal((e.properties as Record<string, string>).colour, 'blue');
});

/** A raw OpenWire socket that completes the handshake and collects what the broker sends. */
async function rawOpenWire(): Promise<{ socket: net.Socket; commands: OwObject[]; closed: () => boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port: broker.openwirePort });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const commands: OwObject[] = [];
  const splitter = new FrameSplitter(1 << 26);
  let closed = false;
  socket.on('data', (d) => {
    for (const b of splitter.push(d)) commands.push(decodeCommand(b));
  });
  socket.on('close', () => (closed = true));
  socket.on('error', () => (closed = true));
  return { socket, commands, closed: () => closed };
}

const wireFormat = (version = 12) =>
  encodeCommand({ type: T.WIREFORMAT_INFO, version, marshalledProperties: encodeTypedMap({ TightEncodingEnabled: { t: 'bool', v: true } }) });

async function expectRefused(bytes: Buffer, pattern: RegExp): Promise<void> {
  const c = await rawOpenWire();
  c.socket.write(bytes);
  await waitFor('the broker to close the connection', () => c.closed(), 10_000);
  const err = c.commands.find((x) => x.type === T.CONNECTION_ERROR);
  assert.ok(err, `no ConnectionError before the close; got ${c.commands.map((x) => x.type).join(',')}`);
  assert.match(String((err.exception as { message: string }).message), pattern);
}

test('bad input gets a ConnectionError that names the problem; stored messages and other clients are unharmed', async () => {
  await probe(['produce', '--queue', 'ow.safe', '--count', '2']);
  // Not OpenWire at all (a STOMP frame on the OpenWire port): the size it implies is absurd.
  await expectRefused(Buffer.from('CONNECT\naccept-version:1.2\n\n\0'), /frame of \d+ bytes is over the limit|declares size/);
  // A WireFormatInfo whose magic is wrong.
  const bad = wireFormat();
  bad.write('ActiveMX', 5, 'latin1');
  await expectRefused(bad, /magic is "ActiveMX"/);
  // A version we do not speak.
  await expectRefused(wireFormat(9), /OpenWire version 9 is not supported/);
  // A frame that claims 2 GiB.
  const huge = Buffer.alloc(8);
  huge.writeInt32BE(0x7fffffff, 0);
  await expectRefused(Buffer.concat([wireFormat(), huge]), /over the limit of 104857600/);
  // A command cut short inside its fields.
  const cut = encodeCommand({ type: T.CONNECTION_INFO, commandId: 1, responseRequired: true, connectionId: { type: T.CONNECTION_ID, value: 'ID:raw-1' }, clientId: 'raw' });
  const truncated = cut.subarray(0, cut.length - 6);
  truncated.writeInt32BE(truncated.length - 4, 0);
  await expectRefused(Buffer.concat([wireFormat(), truncated]), /the frame ends inside ConnectionInfo/);
  // An unknown data structure type.
  const unknown = Buffer.from([0, 0, 0, 1, 77]);
  await expectRefused(Buffer.concat([wireFormat(), unknown]), /unknown data structure type 77/);

  const got = received(await probe(['consume', '--queue', 'ow.safe', '--count', '2', '--timeout', '5000']));
  assert.deepEqual(got.map((e) => e.text), ['m0', 'm1']);
  assert.doesNotMatch(broker.output(), /"level":50/);
});

test('a command the broker does not support is answered with an exception, and the connection goes on', async () => {
  const c = await rawOpenWire();
  try {
    c.socket.write(wireFormat());
    c.socket.write(encodeCommand({ type: T.CONNECTION_INFO, commandId: 1, responseRequired: true, connectionId: { type: T.CONNECTION_ID, value: 'ID:raw-2' } }));
    // XA: refused by name.
    c.socket.write(encodeCommand({
      type: T.TRANSACTION_INFO, commandId: 2, responseRequired: true, connectionId: { type: T.CONNECTION_ID, value: 'ID:raw-2' },
      transactionId: { type: T.XA_TRANSACTION_ID, formatId: 1, globalTransactionId: Buffer.from('g'), branchQualifier: Buffer.from('b') }, txType: 0,
    }));
    c.socket.write(encodeCommand({ type: T.KEEP_ALIVE_INFO, commandId: 3, responseRequired: true }));
    const answers = await waitFor('the answers', () => {
      const r = c.commands.find((x) => x.type === T.RESPONSE && x.correlationId === 1);
      const x = c.commands.find((y) => y.type === T.EXCEPTION_RESPONSE && y.correlationId === 2);
      const k = c.commands.find((y) => y.type === T.KEEP_ALIVE_INFO);
      return r && x && k ? { x } : undefined;
    });
    assert.match(String((answers.x.exception as { message: string }).message), /XA transactions are not supported/);
    assert.equal(c.closed(), false);
  } finally {
    c.socket.destroy();
  }
});

test('TemporaryQueue.delete() and destroyDestination (DestinationInfo REMOVE) delete: a send to a deleted temporary queue is refused', async () => {
  const c = await rawOpenWire();
  try {
    const connectionId = { type: T.CONNECTION_ID, value: 'ID:raw-3' };
    const temp = { type: T.TEMP_QUEUE, physicalName: 'ID:raw-3:1:1' };
    c.socket.write(wireFormat());
    c.socket.write(encodeCommand({ type: T.CONNECTION_INFO, commandId: 1, responseRequired: true, connectionId }));
    c.socket.write(encodeCommand({ type: T.DESTINATION_INFO, commandId: 2, responseRequired: true, connectionId, destination: temp, operationType: 0, timeout: 0 }));
    const send = (commandId: number) =>
      encodeCommand({
        type: T.TEXT_MESSAGE, commandId, responseRequired: true, destination: temp, persistent: false, priority: 4,
        producerId: { type: T.PRODUCER_ID, connectionId: 'ID:raw-3', sessionId: 1, value: 1 },
        messageId: { type: T.MESSAGE_ID, producerId: { type: T.PRODUCER_ID, connectionId: 'ID:raw-3', sessionId: 1, value: 1 }, producerSequenceId: commandId, brokerSequenceId: 0 },
      });
    c.socket.write(send(3));
    c.socket.write(encodeCommand({ type: T.DESTINATION_INFO, commandId: 4, responseRequired: true, connectionId, destination: temp, operationType: 1, timeout: 0 }));
    c.socket.write(send(5));
    // destroyDestination of an ordinary queue deletes it with its messages; one that does not
    // exist is answered OK, as ActiveMQ's AbstractRegion.removeDestination does.
    const ordinary = { type: T.QUEUE, physicalName: 'ow.doomed' };
    c.socket.write(encodeCommand({
      type: T.TEXT_MESSAGE, commandId: 6, responseRequired: true, destination: ordinary, persistent: true, priority: 4,
      producerId: { type: T.PRODUCER_ID, connectionId: 'ID:raw-3', sessionId: 1, value: 1 },
      messageId: { type: T.MESSAGE_ID, producerId: { type: T.PRODUCER_ID, connectionId: 'ID:raw-3', sessionId: 1, value: 1 }, producerSequenceId: 6, brokerSequenceId: 0 },
    }));
    c.socket.write(encodeCommand({ type: T.DESTINATION_INFO, commandId: 7, responseRequired: true, connectionId, destination: ordinary, operationType: 1, timeout: 0 }));
    c.socket.write(encodeCommand({ type: T.DESTINATION_INFO, commandId: 8, responseRequired: true, connectionId, destination: { type: T.QUEUE, physicalName: 'ow.never' }, operationType: 1, timeout: 0 }));
    const answers = await waitFor('the eight answers', () => {
      const byId = (id: number) => c.commands.find((x) => (x.type === T.RESPONSE || x.type === T.EXCEPTION_RESPONSE) && x.correlationId === id);
      const all = [1, 2, 3, 4, 5, 6, 7, 8].map(byId);
      return all.every((a) => a !== undefined) ? all : undefined;
    });
    assert.deepEqual(answers.map((a) => a!.type), [T.RESPONSE, T.RESPONSE, T.RESPONSE, T.RESPONSE, T.EXCEPTION_RESPONSE, T.RESPONSE, T.RESPONSE, T.RESPONSE]);
    const e = answers[4]!.exception as { className: string; message: string };
    assert.equal(e.className, 'javax.jms.InvalidDestinationException');
    assert.match(e.message, /ID:raw-3:1:1/);
    const listed = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/destinations`)).json()) as { destinations: { name: string }[] };
    assert.equal(listed.destinations.some((d) => d.name === 'ow.doomed'), false, 'the deleted queue is gone');
  } finally {
    c.socket.destroy();
  }
});
