/**
 * MQTT 3.1.1 with real third-party clients: Debian's mosquitto_pub/mosquitto_sub and the Eclipse
 * Paho Python client, against a real broker process; MQTT and STOMP meeting on the same topics;
 * persistent sessions, retained messages, wills, QoS 2 publishes, take-over, and bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { cleanupTemp, startBrokerWithConfig, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { collect, mosquitto, pahoMqtt, publishWithReceipt, stompJs } from '../helpers/third-party.js';
import { waitFor } from '../helpers/wait.js';

const CONFIG = `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="mqtt">
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
    <transportConnector name="mqtt" uri="mqtt://127.0.0.1:0?transport.connectAttemptTimeout=2000"/>
    <transportConnector name="ws" uri="ws://127.0.0.1:0"/>
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

const pub = (...args: string[]) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), ...args]);
/** Starts mosquitto_sub for `count` messages; resolves with its output lines once it has them (or times out). */
function sub(count: number, ...args: string[]) {
  return mosquitto('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-C', String(count), '-W', '15', '-v', ...args]);
}
/** Waits until the broker counts `n` consumers on the topic pattern (so a publish cannot come first). */
async function subscribed(pattern: string, n = 1): Promise<void> {
  await waitFor(`${n} subscriber(s) on ${pattern}`, async () => {
    const r = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/connections`)).json()) as { connections: { consumers: { destination: string }[] }[] };
    const count = r.connections.flatMap((c) => c.consumers).filter((c) => c.destination === `topic://${pattern}`).length;
    return count >= n || undefined;
  });
}

describe('MQTT with mosquitto and Paho', () => {
  test('mosquitto: QoS 0, 1 and 2 publishes reach a wildcard subscriber, in order', async () => {
    const got = sub(3, '-t', 'mq/sensors/#', '-q', '1');
    await subscribed('mq.sensors.>');
    for (const [topic, qos] of [['mq/sensors/a', '0'], ['mq/sensors/b/c', '1'], ['mq/sensors/d', '2']]) {
      const r = await pub('-t', topic, '-m', `v${qos}`, '-q', qos);
      assert.equal(r.code, 0, r.stderr);
    }
    const out = await got;
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split('\n'), ['mq/sensors/a v0', 'mq/sensors/b/c v1', 'mq/sensors/d v2']);
  });

  test('MQTT and STOMP meet on the same topics: sensors/temp is /topic/sensors.temp', async () => {
    const js = await stompJs({ tcpPort: broker.stompPort });
    try {
      const fromMqtt = collect(js, '/topic/mq.bridge.temp', { id: 'b' });
      await fromMqtt.ready;
      const mqttGot = sub(1, '-t', 'mq/bridge/stomp');
      await subscribed('mq.bridge.stomp');
      assert.equal((await pub('-t', 'mq/bridge/temp', '-m', '21.5', '-q', '1')).code, 0);
      await waitFor('the MQTT message over STOMP', () => fromMqtt.messages.length === 1 || undefined);
      assert.equal(fromMqtt.messages[0].body, '21.5');
      await publishWithReceipt(js, '/topic/mq.bridge.stomp', 'from stomp', { persistent: 'true' });
      const out = await mqttGot;
      assert.equal(out.stdout.trim(), 'mq/bridge/stomp from stomp');
    } finally {
      await js.deactivate();
    }
  });

  test('MQTT over WebSocket: Paho with the "mqtt" subprotocol on the ws:// connector that also serves STOMP', async () => {
    const r = await pahoMqtt(broker.wsPort, 'ws-echo', 'mq/ws/echo', 'over websocket');
    assert.deepEqual([r.connack, r.subacks], [0, [[1]]]);
    assert.deepEqual(r.messages.map((m: { topic: string; payload: string; qos: number }) => [m.topic, m.payload, m.qos]), [['mq/ws/echo', 'over websocket', 1]]);
    const js = await stompJs({ wsUrl: `ws://127.0.0.1:${broker.wsPort}/` });
    await js.deactivate();
  });

  test('Paho: a persistent session keeps its QoS 1 subscription; what is published while it is away waits for it', async () => {
    const first = await pahoMqtt(broker.mqttPort, 'subscribe', 'paho-durable', '0', 'mq/orders/+', '1');
    assert.deepEqual([first.connack, first.sessionPresent, first.subacks], [0, false, [[1]]]);
    for (let i = 0; i < 3; i++) assert.equal((await pub('-t', `mq/orders/n${i}`, '-m', `order ${i}`, '-q', '1')).code, 0);
    const back = await pahoMqtt(broker.mqttPort, 'receive', 'paho-durable', '0', '3', '15');
    assert.equal(back.sessionPresent, true, '[MQTT-3.2.2-2]: the session was kept');
    assert.deepEqual(back.messages.map((m: { topic: string; payload: string; qos: number }) => [m.topic, m.payload, m.qos]), [
      ['mq/orders/n0', 'order 0', 1],
      ['mq/orders/n1', 'order 1', 1],
      ['mq/orders/n2', 'order 2', 1],
    ]);
    // A clean session discards it [MQTT-3.1.2-6].
    const clean = await pahoMqtt(broker.mqttPort, 'receive', 'paho-durable', '1', '0', '0.2');
    assert.equal(clean.sessionPresent, false);
    const after = await pahoMqtt(broker.mqttPort, 'receive', 'paho-durable', '0', '0', '0.2');
    assert.equal(after.sessionPresent, false, 'nothing left of the old session');
  });

  test('a persistent session\'s messages survive kill -9 of the broker', async () => {
    await pahoMqtt(broker.mqttPort, 'subscribe', 'paho-crash', '0', 'mq/crash', '1');
    assert.equal((await pub('-t', 'mq/crash', '-m', 'kept', '-q', '1')).code, 0);
    await broker.kill();
    broker = await startBrokerWithConfig(CONFIG, dataDir);
    const back = await pahoMqtt(broker.mqttPort, 'receive', 'paho-crash', '0', '1', '15');
    assert.equal(back.sessionPresent, true);
    assert.deepEqual(back.messages.map((m: { payload: string }) => m.payload), ['kept']);
  });

  test('a retained message reaches later subscribers with RETAIN set; an empty one clears it', async () => {
    assert.equal((await pub('-t', 'mq/status/door', '-m', 'open', '-r', '-q', '1')).code, 0);
    const later = await pahoMqtt(broker.mqttPort, 'receive', 'paho-retained', '1', '1', '10', 'mq/status/+', '1');
    assert.deepEqual(later.messages.map((m: { topic: string; payload: string; retain: boolean }) => [m.topic, m.payload, m.retain]), [['mq/status/door', 'open', true]]);
    assert.equal((await pub('-t', 'mq/status/door', '-n', '-r', '-q', '1')).code, 0);
    const none = await pahoMqtt(broker.mqttPort, 'receive', 'paho-retained', '1', '1', '0.5', 'mq/status/+', '1');
    assert.deepEqual(none.messages, []);
  });

  test('a will is published when a client drops without DISCONNECT', async () => {
    const watcher = sub(1, '-t', 'mq/wills/#');
    await subscribed('mq.wills.>');
    const dropped = await pahoMqtt(broker.mqttPort, 'will-then-drop', 'mq/wills/holder', 'holder went away');
    assert.equal(dropped.connack, 0);
    const out = await watcher;
    assert.equal(out.stdout.trim(), 'mq/wills/holder holder went away');
  });

  test('a second connection with the same client id takes over; the first is closed [MQTT-3.1.4-2]', async () => {
    // Raw sockets: mosquitto and Paho both reconnect on their own, which would hide the close.
    const connect = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 2, 0, 60, 0, 7]), Buffer.from('same-id')]);
    const packet = Buffer.concat([Buffer.from([0x10, connect.length]), connect]);
    const open = () =>
      new Promise<{ socket: net.Socket; closed: Promise<void>; connack: Promise<Buffer> }>((resolve) => {
        const socket = net.connect(broker.mqttPort, '127.0.0.1', () => {
          socket.write(packet);
          resolve({ socket, closed, connack });
        });
        const closed = new Promise<void>((r) => socket.on('close', () => r()));
        const connack = new Promise<Buffer>((r) => socket.once('data', (d) => r(d)));
        socket.on('error', () => undefined);
      });
    const first = await open();
    assert.deepEqual([...(await first.connack)], [0x20, 2, 0, 0]);
    const second = await open();
    assert.deepEqual([...(await second.connack)], [0x20, 2, 0, 0]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the first connection was not closed within 10 s')), 10_000)));
    await Promise.race([first.closed, deadline]).finally(() => clearTimeout(timer));
    assert.equal(second.socket.destroyed, false, 'the new connection stays');
    second.socket.destroy();
  });
});

describe('MQTT: bad input ends only that connection', () => {
  /** Writes bytes to a fresh MQTT socket and resolves with what came back once the broker closed it. */
  function raw(bytes: Buffer, waitMs = 5000): Promise<{ reply: Buffer; closed: boolean }> {
    return new Promise((resolve) => {
      const s = net.connect(broker.mqttPort, '127.0.0.1', () => s.write(bytes));
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d));
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ reply: Buffer.concat(chunks), closed: false });
      }, waitMs);
      s.on('close', () => {
        clearTimeout(timer);
        resolve({ reply: Buffer.concat(chunks), closed: true });
      });
      s.on('error', () => undefined);
    });
  }
  const str = (t: string) => Buffer.concat([Buffer.from([0, t.length]), Buffer.from(t)]);

  test('garbage, a first packet that is not CONNECT, an unknown level, a huge length, and silence are each closed', async () => {
    assert.deepEqual(await raw(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { reply: Buffer.alloc(0), closed: true });
    assert.deepEqual(await raw(Buffer.from([0xc0, 0])), { reply: Buffer.alloc(0), closed: true }, 'PINGREQ before CONNECT [MQTT-3.1.0-1]');
    const level5 = Buffer.concat([str('MQTT'), Buffer.from([5, 2, 0, 60]), str('x')]);
    const refused = await raw(Buffer.concat([Buffer.from([0x10, level5.length]), level5]));
    assert.deepEqual([...refused.reply], [0x20, 2, 0, 1], 'CONNACK 1: unacceptable protocol level [MQTT-3.1.2-2]');
    assert.equal(refused.closed, true);
    assert.equal((await raw(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).closed, true, 'a 256 MiB claim is over the limit');
    // transport.connectAttemptTimeout=2000 in the connector's URI.
    assert.equal((await raw(Buffer.alloc(0), 8000)).closed, true, 'no CONNECT in time');
  });

  test('after all that, stored messages are intact and other clients are served', async () => {
    await pahoMqtt(broker.mqttPort, 'subscribe', 'paho-after-bad', '0', 'mq/after', '1');
    assert.equal((await pub('-t', 'mq/after', '-m', 'still here', '-q', '1')).code, 0);
    await raw(Buffer.from([0x82, 0x02, 0x00, 0x01])); // SUBSCRIBE before CONNECT
    const back = await pahoMqtt(broker.mqttPort, 'receive', 'paho-after-bad', '0', '1', '10');
    assert.deepEqual(back.messages.map((m: { payload: string }) => m.payload), ['still here']);
  });
});
