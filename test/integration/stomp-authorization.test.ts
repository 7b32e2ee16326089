/**
 * `<authorizationPlugin>` with real clients: who may write, read and create which destinations,
 * over STOMP (stompjs, stompit), OpenWire (the ActiveMQ Java client) and MQTT (Paho), refused in ActiveMQ's
 * words and without ending the connection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, startBrokerWithConfig, type BrokerProcess } from '../helpers/broker-process.js';
import { runProbe } from '../helpers/java-openwire.js';
import { collect, pahoMqtt, publishWithReceipt, stompJs, stompitConnect, stompitSend } from '../helpers/third-party.js';
import { waitFor } from '../helpers/wait.js';
import { SECURE_XML } from '../../bench/secure-config.js';

/** The compat tools' secure map (bench/secure-config.ts), so the tests and the side-by-side runs check one policy. */
const CONFIG = `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="authz">
  ${SECURE_XML}
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
    <transportConnector name="openwire" uri="tcp://127.0.0.1:0"/>
    <transportConnector name="mqtt" uri="mqtt://127.0.0.1:0"/>
  </transportConnectors>
</broker>`;

let broker: BrokerProcess;

before(async () => {
  broker = await startBrokerWithConfig(CONFIG);
});

after(async () => {
  await broker.stop();
  cleanupTemp();
});

describe('<authorizationPlugin> over STOMP', () => {
  test('a user writes and reads USERS.>, is refused elsewhere in ActiveMQ\'s words, and keeps the connection', async () => {
    const errors: string[] = [];
    const app = await stompJs({ tcpPort: broker.stompPort }, { login: 'app', passcode: 'apppw' });
    app.onStompError = (f) => errors.push(f.headers.message);
    try {
      const inbox = collect(app, '/queue/USERS.inbox', { id: 'in' });
      await inbox.ready;
      await publishWithReceipt(app, '/queue/USERS.inbox', 'allowed');
      await waitFor('the allowed message', () => inbox.messages.length === 1 || undefined);

      app.publish({ destination: '/queue/orders', body: 'refused', headers: { receipt: 'w1' } });
      await waitFor('the write refusal', () => errors.length === 1 || undefined);
      assert.equal(errors[0], 'User app is not authorized to write to: queue://orders');
      app.subscribe('/queue/orders', () => assert.fail('no delivery from a refused subscription'), { id: 'o', receipt: 'r1' });
      await waitFor('the read refusal', () => errors.length === 2 || undefined);
      assert.equal(errors[1], 'User app is not authorized to read from: queue://orders');

      // Still connected: the next allowed send goes through on the same connection.
      await publishWithReceipt(app, '/queue/USERS.inbox', 'still here');
      await waitFor('the second message', () => inbox.messages.length === 2 || undefined);
      assert.deepEqual(inbox.messages.map((m) => m.body), ['allowed', 'still here']);
    } finally {
      await app.deactivate();
    }
  });

  test('the anonymous group has no queue rights; an admin may use any queue', async () => {
    const anon = await stompitConnect(broker.stompPort);
    const refused = await new Promise<string>((resolve) => {
      anon.on('error', (e: Error) => resolve(e.message));
      stompitSend(anon, { destination: '/queue/USERS.inbox' }, 'x').catch(() => undefined);
    });
    assert.match(refused, /User anonymous is not authorized to write to: queue:\/\/USERS\.inbox/);

    const admin = await stompJs({ tcpPort: broker.stompPort }, { login: 'system', passcode: 'manager' });
    try {
      await publishWithReceipt(admin, '/queue/orders', 'by an admin');
      const got = collect(admin, '/queue/orders', { id: 'a' });
      await got.ready;
      await waitFor('the admin\'s message', () => got.messages.length === 1 || undefined);
    } finally {
      await admin.deactivate();
    }
  });
});

describe('<authorizationPlugin> for OpenWire (the ActiveMQ Java client)', () => {
  const probe = (args: string[]) => runProbe(`tcp://127.0.0.1:${broker.openwirePort}`, args, { timeoutMs: 60_000 });

  test('a refused send is a JMSSecurityException with ActiveMQ\'s words; an allowed one goes through', async () => {
    const ok = await probe(['produce', '--queue', 'USERS.ow', '--count', '1', '--user', 'app', '--password', 'apppw']);
    assert.equal(ok.code, 0, ok.stderr);
    const refused = await probe(['produce', '--queue', 'orders.ow', '--count', '1', '--user', 'app', '--password', 'apppw']);
    assert.equal(refused.code, 2, JSON.stringify(refused.events));
    const e = refused.events.find((x) => x.event === 'error');
    assert.equal(e?.class, 'javax.jms.JMSSecurityException');
    assert.match(String(e?.message), /User app is not authorized to (write to|create): queue:\/\/orders\.ow/);
  });
});

describe('<simpleAuthenticationPlugin> and <authorizationPlugin> for MQTT (Paho)', () => {
  test('a wrong password is CONNACK 5, as ActiveMQ answers; a refused publish ends the connection unacknowledged', async () => {
    const wrong = await pahoMqtt(broker.mqttPort, 'publish', 'USERS/mq', 'x', '1', 'app', 'nope');
    assert.deepEqual(wrong, { connack: 5 });
    const ok = await pahoMqtt(broker.mqttPort, 'publish', 'USERS/mq', 'allowed', '1', 'app', 'apppw');
    assert.deepEqual(ok, { connack: 0, completed: true });
    const refused = await pahoMqtt(broker.mqttPort, 'publish', 'orders/mq', 'refused', '1', 'app', 'apppw');
    assert.deepEqual(refused, { connack: 0, completed: false }, 'no PUBACK for a publish the map forbids');
  });
});
