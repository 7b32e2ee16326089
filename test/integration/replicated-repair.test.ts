/**
 * Issue 5: disk faults on a replicated slave heal from the master (DESIGN §3, §4). Three broker
 * processes and real ZooKeeper. A stopped slave's journal is damaged with the chaos harness's
 * faults (a bit flipped in an old segment, then a torn last segment on the other slave); each
 * restarts, finds the damage at open, sets the damaged part aside in quarantine, rejoins as a
 * slave and catches up to the master's position. Then the master is killed: every message the
 * group acknowledged is still delivered by the new master, one of the repaired nodes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { flipBitInOldSegment, truncateLastSegment, type DiskDamage } from '../../src/chaos/disk-faults.js';
import { seededRng } from '../../src/chaos/rng.js';
import { connect } from '../../src/client/index.js';
import { cleanupTemp } from '../helpers/broker-process.js';
import { startCluster, Workload, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { drainQueue, lostAndDuplicated } from '../helpers/drain.js';
import { waitFor } from '../helpers/wait.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

async function logOf(n: ClusterNode): Promise<{ epoch: number; position: number } | undefined> {
  return (await n.status())?.ha.log;
}

/** Waits until `node` is a slave whose log position equals the master's (the group must be quiet). */
async function caughtUp(cluster: Cluster, node: ClusterNode): Promise<{ epoch: number; position: number }> {
  await waitFor(`${node.name} to rejoin as a slave`, async () => (await node.status())?.role === 'slave', 30_000, 50);
  const { master } = await cluster.waitForMaster();
  return waitFor(
    `${node.name} to catch up with the master`,
    async () => {
      const [ml, sl] = [await logOf(master), await logOf(node)];
      return ml && sl && ml.epoch === sl.epoch && ml.position === sl.position ? sl : undefined;
    },
    30_000,
  );
}

/** A segment file's bytes without its zero-filled (preallocated) end. */
function written(file: string): Buffer {
  const b = readFileSync(file);
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

async function damageStoppedSlave(cluster: Cluster, node: ClusterNode, damage: (dir: string) => DiskDamage): Promise<{ damage: DiskDamage; copy: Buffer }> {
  await node.stop();
  const d = damage(node.storeDir);
  return { damage: d, copy: readFileSync(d.file) };
}

describe('replicated cluster: a slave with a damaged journal heals from the master', { timeout: 180_000 }, () => {
  let zk: SharedZooKeeper;
  let cluster: Cluster | undefined;

  before(async () => {
    zk = await sharedZooKeeper();
    cluster = await startCluster({ zkConnect: zk.connectString, zkPath: uniqueZkPath('repair'), zkSessionTimeout: '2s', syncTimeout: '10s' });
    await cluster.waitForMaster({ slaves: 2, timeoutMs: 30_000 });
  });
  after(async () => {
    await cluster?.stopAll();
    await zk.stop();
    cleanupTemp();
  });

  it('bit rot in an old segment: quarantined at open, caught up to the master; a torn tail on the other slave likewise; then the master dies and nothing acknowledged is lost', async () => {
    assert.ok(cluster);
    const { master } = await cluster.waitForMaster({ slaves: 2 });
    const [flipped, torn] = cluster.nodes.filter((n) => n !== master);
    // Messages that stay queued across everything below: the new master must deliver them all.
    const kept: string[] = [];
    const c = await connect(cluster.failoverUrl(), { timeoutMs: 20_000 });
    for (let i = 0; i < 300; i += 50) {
      const bodies = Array.from({ length: 50 }, (_, k) => `kept-${i + k}`);
      await Promise.all(bodies.map((b) => c.send('/queue/repair.kept', b, { persistent: 'true' })));
      kept.push(...bodies);
    }

    // 1. Bit rot on a stopped slave, while producers keep sending.
    const load = await Workload.start(cluster, { producers: 1, stompit: false });
    await waitFor('some acknowledged sends', () => load.acked() >= 20, 20_000);
    const bitRot = await damageStoppedSlave(cluster, flipped, (dir) => flipBitInOldSegment(dir, seededRng(11)));
    flipped.start();
    await waitFor(`${flipped.name} to rejoin as a slave`, async () => (await flipped.status())?.role === 'slave', 30_000, 50);
    // 2. A torn last segment on the other slave.
    const tornDamage = await damageStoppedSlave(cluster, torn, (dir) => truncateLastSegment(dir, seededRng(5)));
    torn.start();
    await waitFor(`${torn.name} to rejoin as a slave`, async () => (await torn.status())?.role === 'slave', 30_000, 50);
    await waitFor('more acknowledged sends after the rejoins', () => load.acked() >= 60, 20_000);
    const first = await load.finish();
    await load.close();
    assert.deepEqual(first.lost, [], `acknowledged but lost while the slaves healed: ${first.lost.slice(0, 5).join(', ')}`);

    // Both healed slaves reach the master's exact position.
    await caughtUp(cluster, flipped);
    await caughtUp(cluster, torn);
    // The consumer's last acks may still move the master on: all three must meet at one position.
    const a = await waitFor(
      'master and both healed slaves at one position',
      async () => {
        const [m, x, y] = [await logOf(master), await logOf(flipped), await logOf(torn)];
        return m && x && y && m.epoch === x.epoch && m.epoch === y.epoch && m.position === x.position && m.position === y.position ? m : undefined;
      },
      30_000,
    );
    console.log(`repair: ${flipped.name} (${bitRot.damage.detail} in ${path.basename(bitRot.damage.file)}) and ${torn.name} (${tornDamage.damage.detail}) caught up at ${a.epoch}/${a.position}`);

    // The bit-rot repair is logged with file and offset, and the damaged segment is in quarantine unchanged.
    const repairs = flipped.logLines(/journal damaged at/);
    assert.equal(repairs.length, 1, 'one logged repair');
    assert.equal(repairs[0].segment, bitRot.damage.file);
    assert.equal(typeof repairs[0].offset, 'number');
    const qdir = String(repairs[0].quarantine);
    assert.ok(qdir.startsWith(path.join(flipped.storeDir, 'quarantine')), qdir);
    assert.ok(readFileSync(path.join(qdir, path.basename(bitRot.damage.file))).equals(bitRot.copy), 'the quarantined segment holds the damaged bytes unchanged');

    // The torn tail was truncated to the last whole record; the cut bytes are in quarantine.
    const cuts = torn.logLines(/journal tail truncated/);
    assert.equal(cuts.length, 1, 'one logged truncation of the torn tail');
    const tornFile = String(cuts[0].quarantineFile);
    assert.ok(existsSync(tornFile), `the torn bytes are kept in ${tornFile}`);
    const offset = Number(cuts[0].offset);
    assert.ok(readFileSync(tornFile).equals(tornDamage.copy.subarray(offset, offset + readFileSync(tornFile).length)), 'the quarantined torn bytes are the segment bytes from the cut on');
    assert.ok(readdirSync(path.join(torn.storeDir, 'quarantine')).length >= 1);

    // 3. kill -9 the master under load: a healed node takes over and has every acknowledged message.
    const load2 = await Workload.start(cluster, { producers: 1, stompit: false });
    await waitFor('acknowledged sends before the kill', () => load2.acked() >= 20, 20_000);
    await master.kill();
    const { master: next } = await cluster.waitForMaster({ not: master, timeoutMs: 20_000 });
    assert.ok(next === flipped || next === torn);
    const before = load2.acked();
    await waitFor('acknowledged sends on the new master', () => load2.acked() > before + 10, 20_000);
    const second = await load2.finish();
    await load2.close();
    assert.deepEqual(second.lost, [], `acknowledged but lost across the kill: ${second.lost.slice(0, 5).join(', ')}`);
    assert.deepEqual(second.unflaggedDuplicates, []);
    await c.close().catch(() => undefined);
    const received = await drainQueue(() => connect(cluster!.failoverUrl(), { timeoutMs: 20_000 }), '/queue/repair.kept', 2000);
    const { lost } = lostAndDuplicated(kept, received);
    assert.deepEqual(lost, [], `queued messages missing on the new master ${next.name}`);
    // The two healed nodes now hold the same log, byte for byte.
    const other = next === flipped ? torn : flipped;
    await caughtUp(cluster, other);
    await Promise.all([next.stop(), other.stop()]);
    for (const f of readdirSync(path.join(next.storeDir, 'log')).filter((n) => n.endsWith('.log'))) {
      assert.ok(written(path.join(next.storeDir, 'log', f)).equals(written(path.join(other.storeDir, 'log', f))), `segment ${f} differs between ${next.name} and ${other.name}`);
    }
    console.log(`repair: after kill -9 of ${master.name}, ${next.name} delivered all ${kept.length} queued messages; ${first.acked + second.acked} workload sends acknowledged, none lost`);
  });
});
