/**
 * The ActiveMQ Java client's `failover:` transport against a broker that is killed (-9) and
 * comes back on the same address: the consumer's state is replayed on the new connection, and
 * persistent messages sent before the crash and after it all arrive.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, startBroker, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { runProbe, startProbe } from '../helpers/java-openwire.js';
import { freePort } from '../helpers/ports.js';

let broker: BrokerProcess | undefined;

after(async () => {
  await broker?.stop();
  cleanupTemp();
});

test('a failover: consumer lives through kill -9 and a restart, and gets every persistent message', async () => {
  const dataDir = tempDir();
  const [openwirePort, stompPort] = [await freePort(), await freePort()];
  broker = await startBroker({ dataDir, openwirePort, stompPort, keepData: true });
  const url = `failover:(tcp://127.0.0.1:${openwirePort})?initialReconnectDelay=50&maxReconnectDelay=200`;
  const consumer = await startProbe(url, ['consume', '--queue', 'ow.failover', '--count', '4', '--timeout', '60000']);
  try {
    const first = await runProbe(url, ['produce', '--queue', 'ow.failover', '--count', '2', '--prefix', 'before-'], { timeoutMs: 60_000 });
    assert.equal(first.code, 0, first.stderr);
    await consumer.waitForCount((e) => e.event === 'received', 2, 30_000, 'messages before the crash');

    await broker.kill();
    broker = await startBroker({ dataDir, openwirePort, stompPort, keepData: true });

    const second = await runProbe(url, ['produce', '--queue', 'ow.failover', '--count', '2', '--prefix', 'after-'], { timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    const got = await consumer.waitForCount((e) => e.event === 'received', 4, 60_000, 'messages after the restart');
    assert.deepEqual(got.map((e) => e.text), ['before-0', 'before-1', 'after-0', 'after-1']);
    const end = await consumer.exited;
    assert.equal(end.code, 0, consumer.stderr());
    assert.match(consumer.stderr(), /Successfully reconnected to tcp:\/\/127\.0\.0\.1/);
  } finally {
    await consumer.kill();
  }
});
