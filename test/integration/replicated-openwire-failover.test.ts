/**
 * The seed's setup end to end with the seed's own client: three replicated brokers under real
 * ZooKeeper, and ActiveMQ 5.17's Java client on a `failover:(tcp://…,tcp://…,tcp://…)` URL. The
 * slaves' OpenWire ports are closed; `kill -9` of the master moves producer and consumer to the
 * new master, and every message the producer's send() returned for arrives.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp } from '../helpers/broker-process.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { startProbe } from '../helpers/java-openwire.js';
import { listensOn } from '../helpers/ports.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

let zk: SharedZooKeeper;
let cluster: Cluster;

before(async () => {
  zk = await sharedZooKeeper();
  cluster = await startCluster({ zkConnect: zk.connectString, zkPath: uniqueZkPath('openwire-failover'), openwire: true });
});

after(async () => {
  await cluster.stopAll();
  await zk.stop();
  cleanupTemp();
});

test('kill -9 of the master under a Java producer and consumer on a failover: URL loses no sent message', async () => {
  const { master } = await cluster.waitForMaster({ slaves: 2 });
  for (const n of cluster.nodes) {
    assert.equal(listensOn(n.pid!, n.openwirePort!), n === master, `${n.name} OpenWire port open: ${n === master ? 'master' : 'slave'} expected`);
  }
  const url = cluster.openwireFailoverUrl();
  const total = 300;
  const consumer = await startProbe(url, ['consume', '--queue', 'ow.ha', '--count', String(total), '--timeout', '60000']);
  const producer = await startProbe(url, ['produce', '--queue', 'ow.ha', '--count', String(total)]);
  try {
    await consumer.waitForCount((e) => e.event === 'received', 30, 60_000, 'deliveries before the kill');
    const sentBefore = producer.events.filter((e) => e.event === 'sent').length;
    await master.kill();
    console.log(`# killed ${master.name} after ${sentBefore} of ${total} sends returned`);
    const done = await producer.exited;
    assert.equal(done.code, 0, `producer: ${JSON.stringify(producer.events.slice(-3))}\n${producer.stderr().slice(-3000)}`);
    const sent = producer.events.filter((e) => e.event === 'sent').length;
    assert.equal(sent, total);
    const got = await consumer.waitForCount((e) => e.event === 'received', total, 90_000, 'every message');
    const texts = new Set(got.map((e) => e.text));
    assert.equal(texts.size, total, 'no message delivered twice among the first 300');
    const missing = Array.from({ length: total }, (_, i) => `m${i}`).filter((t) => !texts.has(t));
    assert.deepEqual(missing, [], 'every message the producer sent arrives');
    assert.match(producer.stderr() + consumer.stderr(), /Successfully reconnected to tcp:\/\/127\.0\.0\.1/);
    const { master: next } = await cluster.waitForMaster({ not: master });
    assert.notEqual(next, master);
  } finally {
    await producer.kill();
    await consumer.kill();
  }
});
