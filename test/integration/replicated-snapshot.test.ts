/**
 * Issue 5 scenario 8 with three broker processes and real ZooKeeper: a slave far behind (100k
 * messages) catches up by snapshot while producers keep sending. The slave is stopped, 100k small
 * messages go through the master (pipelined) and are consumed, so the master compacts away the
 * segments the slave would need; the slave restarts under load, its log says it was caught up by
 * a snapshot, its position reaches the master's, and after kill -9 of the master nothing
 * acknowledged is lost.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client/index.js';
import { listSegmentFiles } from '../../src/store/journal/segment-log.js';
import { cleanupTemp } from '../helpers/broker-process.js';
import { startCluster, Workload, type Cluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

const MESSAGES = 100_000;
const IN_FLIGHT = 1000;
/** The replicated store's segments are 32 MiB (`logSize` is not mapped for it), so the log must outgrow one. */
const BODY = 'x'.repeat(300);

describe('replicated cluster: scenario 8, a slave 100k messages behind catches up by snapshot', { timeout: 240_000 }, () => {
  let zk: SharedZooKeeper;
  let cluster: Cluster | undefined;

  before(async () => {
    zk = await sharedZooKeeper();
    cluster = await startCluster({ zkConnect: zk.connectString, zkPath: uniqueZkPath('snapshot'), zkSessionTimeout: '2s' });
    await cluster.waitForMaster({ slaves: 2, timeoutMs: 30_000 });
  });
  after(async () => {
    await cluster?.stopAll();
    await zk.stop();
    cleanupTemp();
  });

  it('catches up by snapshot under load; after kill -9 of the master nothing acknowledged is lost', async () => {
    assert.ok(cluster);
    const { master } = await cluster.waitForMaster({ slaves: 2 });
    const late = cluster.nodes.find((n) => n !== master)!;
    const lateEnd = (await late.status())!.ha.log!.position;
    await late.stop();
    const startedAt = Date.now();

    // 100k sends, pipelined, consumed as they arrive.
    const consumer = await connect(cluster.failoverUrl(), { timeoutMs: 30_000 });
    const sub = await consumer.subscribe('/queue/snap.bulk', { ack: 'auto', prefetch: 2000 });
    let received = 0;
    const consuming = (async () => {
      for await (const _ of sub) if (++received >= MESSAGES) break;
    })();
    const producer = await connect(cluster.failoverUrl(), { timeoutMs: 30_000 });
    let next = 0;
    const sender = async () => {
      while (next < MESSAGES) {
        const i = next++;
        await producer.send('/queue/snap.bulk', `${i}:${BODY}`, { persistent: 'true' });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
    const sentMs = Date.now() - startedAt;
    await waitFor('the bulk to be consumed', () => received >= MESSAGES, 60_000);
    await producer.close();
    await consumer.close().catch(() => undefined);
    await consuming.catch(() => undefined);
    console.log(`scenario 8: ${MESSAGES} sends acknowledged in ${sentMs} ms, consumed after ${Date.now() - startedAt} ms`);

    // The master compacts at its next checkpoint: its oldest segment moves past where the slave stopped.
    const first = await waitFor(
      'the master to delete the segments the slave needs',
      () => {
        const segs = listSegmentFiles(master.storeDir);
        return segs.length > 0 && segs[0].start > lateEnd ? segs[0].start : undefined;
      },
      30_000,
    );

    // The slave restarts while producers keep sending.
    const load = await Workload.start(cluster, { producers: 2, stompit: false });
    await waitFor('acknowledged sends before the restart', () => load.acked() >= 20, 20_000);
    const restartAt = Date.now();
    late.start();
    await waitFor(`${late.name} to log a snapshot`, () => late.logLines(/replaced by a snapshot/).length > 0, 60_000);
    const snap = late.logLines(/replaced by a snapshot/)[0];
    assert.ok(Number(snap.toPosition) < first, `the snapshot set aside the old log, which ended before the master's oldest segment (${JSON.stringify(snap)})`);
    await waitFor(`${late.name} to be a slave`, async () => (await late.status())?.role === 'slave', 60_000);
    // Under load: the slave reaches where the master was a moment ago.
    const target = (await master.status())!.ha.log!;
    await waitFor(
      `${late.name} to reach the master's position ${target.position}`,
      async () => {
        const l = (await late.status())?.ha.log;
        return l && l.epoch === target.epoch && l.position >= target.position;
      },
      60_000,
    );
    console.log(`scenario 8: ${late.name} caught up by snapshot (master's oldest segment at ${first}, the slave had stopped before ${lateEnd}) ${Date.now() - restartAt} ms after restarting`);
    assert.equal(listSegmentFiles(late.storeDir)[0]!.start, listSegmentFiles(master.storeDir)[0]!.start, 'the slave holds what the master holds');

    // kill -9 the master under load: nothing acknowledged is lost.
    const before = load.acked();
    await waitFor('more acknowledged sends', () => load.acked() > before + 20, 20_000);
    await master.kill();
    const { master: next2 } = await cluster.waitForMaster({ not: master, timeoutMs: 20_000 });
    const atKill = load.acked();
    await waitFor(`acknowledged sends on the new master ${next2.name}`, () => load.acked() > atKill + 10, 20_000);
    const result = await load.finish();
    await load.close();
    assert.deepEqual(result.lost, [], `acknowledged but lost: ${result.lost.slice(0, 10).join(', ')}`);
    assert.deepEqual(result.unflaggedDuplicates, []);
    console.log(`scenario 8: after kill -9 of ${master.name}, ${next2.name} serves; ${result.acked} workload sends acknowledged, none lost; total ${Date.now() - startedAt} ms`);
  });
});
