/**
 * A partition that cuts the master off from both slaves while all three still reach ZooKeeper
 * (DESIGN §4, standing aside). The master keeps its session, so ZooKeeper alone would leave it in
 * place with no slave to confirm any send; it must stand aside within a few seconds so that the
 * slaves, which reach each other, elect one of themselves. Real brokers in network namespaces, a
 * real ZooKeeper ensemble, our failover client; nothing acknowledged may be lost.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { findMaster } from '../../src/chaos/cluster.js';
import { networkLabUnavailable } from '../../src/chaos/network-lab.js';
import { startReplicatedCluster } from '../../src/chaos/replicated-cluster.js';
import { connect, type StompClient } from '../../src/client/index.js';
import { cleanupTemp, tempDir } from '../helpers/broker-process.js';
import { drainQueue, lostAndDuplicated } from '../helpers/drain.js';
import { waitFor } from '../helpers/wait.js';

after(cleanupTemp);

const why = networkLabUnavailable();
const QUEUE = '/queue/stand-aside';

test('a master cut off from both slaves but not from ZooKeeper stands aside; a slave takes over, and the old master rejoins after the heal', { skip: why, timeout: 240_000 }, async () => {
  const cluster = await startReplicatedCluster(tempDir('qmq-stand-aside-'), { partitions: true });
  const clients: StompClient[] = [];
  try {
    const lab = cluster.network!;
    const oldMaster = await cluster.waitServing(60_000);
    const mi = cluster.nodes.indexOf(oldMaster);
    const others = cluster.nodes.filter((n) => n !== oldMaster);
    const open = async () => {
      const c = await connect(cluster.clientUrl, { timeoutMs: 60_000 });
      clients.push(c);
      return c;
    };
    const acked: string[] = [];
    const producer = await open();
    for (let i = 0; i < 20; i++) {
      await producer.send(QUEUE, `before-${i}`, { persistent: 'true' });
      acked.push(`before-${i}`);
    }

    const cutAt = Date.now();
    for (let j = 0; j < cluster.nodes.length; j++) if (j !== mi) lab.cut(mi, j);
    // This send reaches the old master, which cannot get it confirmed: it must end (an error,
    // then a resend to the new master by the failover client), never hang for syncTimeout.
    const during = producer.send(QUEUE, 'during-cut', { persistent: 'true' }).then(
      () => acked.push('during-cut'),
      () => undefined,
    );
    const newMaster = await waitFor('a slave takes over', () => findMaster(others), 30_000, 200);
    const tookMs = Date.now() - cutAt;
    assert.ok(tookMs < 25_000, `a new master served ${tookMs} ms after the cut (syncTimeout is 30 s)`);
    const aside = (await oldMaster.status())?.ha as { standingAside?: string; lastDemotion?: string } | undefined;
    assert.match(aside?.standingAside ?? '', /0 of the 1 slave\(s\) a send needs reached this node .* stands aside/, JSON.stringify(aside));
    assert.match(aside?.lastDemotion ?? '', /^standing aside: /);
    await during;

    for (let i = 0; i < 20; i++) {
      await producer.send(QUEUE, `after-${i}`, { persistent: 'true' });
      acked.push(`after-${i}`);
    }
    await producer.close();

    lab.heal();
    await waitFor(
      'the old master follows the new one',
      async () => {
        const ha = (await oldMaster.status())?.ha as { phase?: string; following?: { nodeId?: string }; standingAside?: string } | undefined;
        return ha?.phase === 'following' && ha.standingAside === undefined;
      },
      60_000,
      200,
    );
    assert.ok(await newMaster.isMaster(), 'the new master kept the job after the heal');

    const received = await drainQueue(open, QUEUE, 2000);
    const { lost, duplicated } = lostAndDuplicated(acked, received);
    assert.deepEqual(lost, [], 'no acknowledged message lost');
    assert.deepEqual(duplicated, [], 'no message delivered twice');
  } finally {
    // A client left open keeps reconnecting, and the file would never end.
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await cluster.close();
  }
});
