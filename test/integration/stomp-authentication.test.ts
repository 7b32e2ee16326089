import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, runCli, startBrokerWithConfig, type BrokerProcess } from '../helpers/broker-process.js';
import { RawStomp, header } from '../helpers/raw-stomp.js';
import { runProbe } from '../helpers/java-openwire.js';

const CONFIG = `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="secured">
  <plugins>
    <simpleAuthenticationPlugin>
      <users>
        <authenticationUser username="app" password="s3cret" groups="users"/>
      </users>
    </simpleAuthenticationPlugin>
  </plugins>
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
    <transportConnector name="openwire" uri="tcp://127.0.0.1:0"/>
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

/** CONNECT with these extra headers; the first frame back, and whether the broker then closed. */
async function attempt(credentials: string): Promise<{ command: string; message?: string; closed: boolean }> {
  const r = await RawStomp.connect(broker.stompPort);
  try {
    r.write(`CONNECT\naccept-version:1.2\nhost:localhost\n${credentials}\n\0`);
    const first = await r.waitFrame('CONNECTED', 5000).catch(async () => r.waitFrame('ERROR', 1000));
    const closed = first.command === 'ERROR' ? await r.waitClosed() : false;
    return { command: first.command, message: header(first, 'message'), closed };
  } finally {
    r.close();
  }
}

describe('<simpleAuthenticationPlugin> (ActiveMQ SimpleAuthenticationBroker)', () => {
  test('the right login and passcode connect', async () => {
    assert.deepEqual(await attempt('login:app\npasscode:s3cret\n'), { command: 'CONNECTED', message: undefined, closed: false });
  });

  test('a wrong passcode, an unknown user and no login are refused with ActiveMQ\'s message, and the connection closes', async () => {
    assert.deepEqual(await attempt('login:app\npasscode:wrong\n'), { command: 'ERROR', message: 'User name [app] or password is invalid.', closed: true });
    assert.deepEqual(await attempt('login:mallory\npasscode:s3cret\n'), { command: 'ERROR', message: 'User name [mallory] or password is invalid.', closed: true });
    assert.deepEqual(await attempt(''), { command: 'ERROR', message: 'User name [null] or password is invalid.', closed: true });
  });

  test('the CLI passes --login and --passcode, and says why it was refused without them', async () => {
    const url = `tcp://127.0.0.1:${broker.stompPort}`;
    const ok = await runCli(['produce', '--url', url, '--destination', '/queue/auth', '--count', '3', '--login', 'app', '--passcode', 's3cret', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout.trim().split('\n').pop()!).sent, 3);
    const refused = await runCli(['produce', '--url', url, '--destination', '/queue/auth', '--count', '1', '--json']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /User name \[null\] or password is invalid/);
  });
});

describe('<simpleAuthenticationPlugin> for OpenWire (the ActiveMQ Java client)', () => {
  const probe = (args: string[]) => runProbe(`tcp://127.0.0.1:${broker.openwirePort}`, args, { timeoutMs: 60_000 });

  test('createConnection(user, password) with the right password sends and receives', async () => {
    const sent = await probe(['produce', '--queue', 'auth.ow', '--count', '1', '--user', 'app', '--password', 's3cret']);
    assert.equal(sent.code, 0, sent.stderr);
    const got = await probe(['consume', '--queue', 'auth.ow', '--count', '1', '--timeout', '5000', '--user', 'app', '--password', 's3cret']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.events.find((e) => e.event === 'received')?.text, 'm0');
  });

  test('a wrong password and no credentials are a JMSSecurityException with ActiveMQ\'s words', async () => {
    for (const [creds, user] of [[['--user', 'app', '--password', 'wrong'], 'app'], [[], 'null']] as const) {
      const r = await probe(['produce', '--queue', 'auth.ow', '--count', '1', ...creds]);
      assert.equal(r.code, 2, JSON.stringify(r.events));
      const e = r.events.find((x) => x.event === 'error');
      assert.equal(e?.class, 'javax.jms.JMSSecurityException');
      assert.equal(e?.message, `User name [${user}] or password is invalid.`, "ActiveMQ's words exactly");
    }
  });
});
