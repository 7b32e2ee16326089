/**
 * The OpenWire connector's limits from its URI, as ActiveMQ names them: a socket that never sends
 * its WireFormatInfo is closed after `wireFormat.maxInactivityDurationInitalDelay`, and a frame
 * over `wireFormat.maxFrameSize` ends that connection only; the broker serves everyone else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { cleanupTemp, startBrokerWithConfig, type BrokerProcess } from '../helpers/broker-process.js';
import { runProbe } from '../helpers/java-openwire.js';
import { waitFor } from '../helpers/wait.js';
import { decodeCommand, FrameSplitter, type OwObject } from '../../src/protocol/openwire/codec.js';
import { T } from '../../src/protocol/openwire/schema.js';

let broker: BrokerProcess;
let port: number;

before(async () => {
  broker = await startBrokerWithConfig(
    `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="limits">
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
    <transportConnector name="openwire" uri="tcp://127.0.0.1:0?wireFormat.maxInactivityDurationInitalDelay=300&amp;wireFormat.maxFrameSize=4096"/>
  </transportConnectors>
</broker>`,
  );
  port = broker.openwirePort;
});

after(async () => {
  await broker.stop();
  cleanupTemp();
});

test('a socket that never sends its WireFormatInfo is closed, with a ConnectionError saying why', async () => {
  const socket = net.connect({ host: '127.0.0.1', port });
  const got: OwObject[] = [];
  const splitter = new FrameSplitter(1 << 20);
  let closed = false;
  socket.on('data', (d) => got.push(...splitter.push(d).map(decodeCommand)));
  socket.on('close', () => (closed = true));
  await waitFor('the broker to close the silent connection', () => closed, 10_000);
  const err = got.find((c) => c.type === T.CONNECTION_ERROR);
  assert.match(String((err?.exception as { message?: string } | undefined)?.message), /no WireFormatInfo within 300 ms/);
});

test('a message over maxFrameSize ends that connection only; smaller ones before and after are kept', async () => {
  const url = `tcp://127.0.0.1:${port}`;
  const small = await runProbe(url, ['produce', '--queue', 'limits.q', '--count', '1', '--prefix', 'small-']);
  assert.equal(small.code, 0, small.stderr.slice(-2000));
  const big = await runProbe(url, ['produce', '--queue', 'limits.q', '--count', '1', '--prefix', 'x'.repeat(8192)], { timeoutMs: 60_000 });
  assert.equal(big.code, 2, JSON.stringify(big.events));
  const again = await runProbe(url, ['produce', '--queue', 'limits.q', '--count', '1', '--prefix', 'after-']);
  assert.equal(again.code, 0, again.stderr.slice(-2000));
  const got = await runProbe(url, ['consume', '--queue', 'limits.q', '--count', '2', '--timeout', '5000']);
  assert.deepEqual(got.events.filter((e) => e.event === 'received').map((e) => e.text), ['small-0', 'after-0']);
  assert.match(broker.output(), /a frame of \d+ bytes is over the limit of 4096/);
});
