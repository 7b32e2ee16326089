/**
 * TLS connectors: `stomp+ssl://` with a raw TLS socket, and `ssl://` (OpenWire over TLS) with
 * ActiveMQ's Java client trusting the broker's self-signed certificate. The key and certificate
 * are made for the run with openssl; the Java truststore with keytool.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { cleanupTemp, startBrokerWithConfig, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { runProbe } from '../helpers/java-openwire.js';
import { mosquitto } from '../helpers/third-party.js';
import { waitFor } from '../helpers/wait.js';

let broker: BrokerProcess;
let dir: string;
let stompTlsPort: number;
let openwireTlsPort: number;
let mqttTlsPort: number;

before(async () => {
  dir = tempDir('qmq-tls-');
  const key = path.join(dir, 'broker.key');
  const cert = path.join(dir, 'broker.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  execFileSync('keytool', ['-importcert', '-noprompt', '-alias', 'broker', '-file', cert, '-keystore', path.join(dir, 'trust.p12'), '-storetype', 'PKCS12', '-storepass', 'changeit'], { stdio: 'ignore' });
  broker = await startBrokerWithConfig(
    `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="tls">
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>
    <transportConnector name="stomp-tls" uri="stomp+ssl://127.0.0.1:0?keyFile=${key}&amp;certFile=${cert}"/>
    <transportConnector name="openwire-tls" uri="ssl://127.0.0.1:0?keyFile=${key}&amp;certFile=${cert}"/>
    <transportConnector name="mqtt-tls" uri="mqtt+ssl://127.0.0.1:0?keyFile=${key}&amp;certFile=${cert}"/>
  </transportConnectors>
</broker>`,
    dir,
  );
  const started = broker.output().split('\n').find((l) => l.includes('"broker started"'))!;
  const urls = (JSON.parse(started) as { connectors: string[] }).connectors;
  const portOf = (scheme: string) => Number(new URL(urls.find((u) => u.startsWith(`${scheme}://`))!.replace(/^[a-z+]+:/, 'http:')).port);
  stompTlsPort = portOf('stomp+ssl');
  openwireTlsPort = portOf('ssl');
  mqttTlsPort = portOf('mqtt+ssl');
});

after(async () => {
  await broker.stop();
  cleanupTemp();
});

test('STOMP over TLS: CONNECT, SEND with a receipt, and the message comes back', async () => {
  const socket = tls.connect({ host: '127.0.0.1', port: stompTlsPort, ca: readFileSync(path.join(dir, 'broker.crt')), servername: 'localhost' });
  let got = '';
  socket.on('data', (d) => (got += d.toString('utf8')));
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  try {
    assert.equal(socket.authorized, true, String(socket.authorizationError));
    socket.write('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
    socket.write('SEND\ndestination:/queue/tls.q\npersistent:true\nreceipt:r1\n\nover tls\0');
    socket.write('SUBSCRIBE\nid:1\ndestination:/queue/tls.q\n\n\0');
    await waitFor('CONNECTED, RECEIPT and MESSAGE', () => got.includes('CONNECTED') && got.includes('receipt-id:r1') && got.includes('over tls'));
  } finally {
    socket.destroy();
  }
});

test('OpenWire over TLS (ssl://) with the Java client trusting the broker certificate', async () => {
  const trust = ['-Djavax.net.ssl.trustStore=' + path.join(dir, 'trust.p12'), '-Djavax.net.ssl.trustStorePassword=changeit', '-Djavax.net.ssl.trustStoreType=PKCS12'];
  const url = `ssl://127.0.0.1:${openwireTlsPort}`;
  const sent = await runProbe(url, ['produce', '--queue', 'tls.ow', '--count', '2'], { jvmArgs: trust, timeoutMs: 60_000 });
  assert.equal(sent.code, 0, sent.stderr.slice(-3000));
  const got = await runProbe(url, ['consume', '--queue', 'tls.ow', '--count', '2', '--timeout', '5000'], { jvmArgs: trust, timeoutMs: 60_000 });
  assert.equal(got.code, 0, got.stderr.slice(-3000));
  assert.deepEqual(got.events.filter((e) => e.event === 'received').map((e) => e.text), ['m0', 'm1']);
  // Without the truststore the handshake fails on the client's side: the broker is not trusted.
  const untrusted = await runProbe(url, ['produce', '--queue', 'tls.ow', '--count', '1'], { timeoutMs: 60_000 });
  assert.equal(untrusted.code, 2);
  // The JVM reports the refused handshake either as PKIX path building or as the closed engine.
  assert.match(JSON.stringify(untrusted.events), /Could not connect to broker URL: ssl:.*(PKIX|certification path|SSLHandshake|outbound has closed)/i);
});

test('MQTT over TLS (mqtt+ssl://) with mosquitto trusting the broker certificate; without the CA it is refused', async () => {
  const ca = path.join(dir, 'broker.crt');
  const base = ['-h', '127.0.0.1', '-p', String(mqttTlsPort), '--cafile', ca, '--insecure'];
  const sub = mosquitto('mosquitto_sub', [...base, '-t', 'tls/mq', '-C', '1', '-W', '15', '-q', '1']);
  await waitFor('the TLS subscriber', async () => {
    const r = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/connections`)).json()) as { connections: { protocol: string }[] };
    return r.connections.some((c) => c.protocol.startsWith('mqtt')) || undefined;
  });
  const pub = await mosquitto('mosquitto_pub', [...base, '-t', 'tls/mq', '-m', 'over tls', '-q', '1']);
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal((await sub).stdout.trim(), 'over tls');
  // --insecure only skips the host name check: trusting another CA, the broker's chain fails.
  const otherKey = path.join(dir, 'other.key');
  const otherCa = path.join(dir, 'other.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', otherKey, '-out', otherCa, '-days', '2', '-subj', '/CN=other'], { stdio: 'ignore' });
  const untrusted = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttTlsPort), '--cafile', otherCa, '--insecure', '-t', 'tls/mq', '-m', 'x']);
  assert.notEqual(untrusted.code, 0);
  assert.match(untrusted.stderr, /TLS|certificate|verify/i);
});
