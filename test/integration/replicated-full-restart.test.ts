/**
 * Issue 5 scenario 6, the user's original complaint about ActiveMQ ("with sync=local_disk a full
 * restart breaks until someone deletes the leveldb folders"): the whole group is stopped and
 * started again, gracefully (SIGTERM to all) and with kill -9 of all (the master first, under
 * load, so it may die holding records nobody else has), under local_disk, quorum_mem and
 * quorum_disk. The nodes come back one at a time, in a different order each cycle, so the six
 * cycles cover all six orders of (old master, slave A, slave B). The group must come back by
 * itself with nothing deleted by hand:
 * - the lone first node is no master and says it waits for a quorum;
 * - the second makes a master, the third rejoins as a slave;
 * - quorum_*: every acknowledged send is delivered (a copy delivered twice carries the
 *   redelivered flag);
 * - local_disk: every acknowledged send is delivered or sits in a quarantine file of some node
 *   (decoded here with the journal's record codec), never silently gone.
 * One cluster per sync level, stopped and started twice; our failover client and stompit send
 * the whole time, outage included.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeRecordAt, RecordType } from '../../src/store/journal/record-codec.js';
import { decodeOp } from '../../src/store/journal/op-codec.js';
import { cleanupTemp } from '../helpers/broker-process.js';
import { startCluster, Workload, type Cluster, type ClusterNode, type NodeStatus } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { sharedZooKeeper, uniqueZkPath, type SharedZooKeeper } from '../helpers/zookeeper.js';

type StopHow = 'SIGTERM' | 'kill -9';
/** A start order over [old master, first other node, second other node]. */
type Order = [number, number, number];

// Each sync level gets two cycles; together the six orders are all permutations of three nodes,
// and every kill -9 cycle brings one old master back after the others (or between them).
const PLAN: Array<{ sync: string; cycles: Array<{ how: StopHow; order: Order }> }> = [
  { sync: 'local_disk', cycles: [{ how: 'SIGTERM', order: [0, 1, 2] }, { how: 'kill -9', order: [1, 2, 0] }] },
  { sync: 'quorum_mem', cycles: [{ how: 'SIGTERM', order: [1, 0, 2] }, { how: 'kill -9', order: [2, 1, 0] }] },
  { sync: 'quorum_disk', cycles: [{ how: 'SIGTERM', order: [0, 2, 1] }, { how: 'kill -9', order: [2, 0, 1] }] },
];

/** Where a quarantined file's first byte sits in the log, from its name; null for files that are not log bytes. */
function quarantinedStart(name: string, parent: string): number | null {
  let m = /^divergent-(\d+)-\d+-/.exec(name);
  if (m) return Number(m[1]);
  m = /^(\d{20})\.log$/.exec(name);
  if (m && parent.startsWith('replaced-')) return Number(m[1]);
  m = /^(\d{20})\.log\.(\d+)\.(torn|bad)$/.exec(name);
  if (m) return Number(m[1]) + Number(m[2]);
  return null;
}

/**
 * The bodies of every message-add record in a node's quarantine: cut divergent tails
 * (`divergent-<from>-<to>-….log`), logs set aside for a snapshot (`replaced-…/<start>.log`) and
 * torn or damaged bytes (`<segment>.<offset>.torn|bad`). Records are decoded with the journal's
 * own codec, so a record counts only if its CRC and position check out.
 */
function quarantinedBodies(node: ClusterNode): { bodies: Set<string>; files: string[] } {
  const bodies = new Set<string>();
  const files: string[] = [];
  const qdir = path.join(node.storeDir, 'quarantine');
  if (!existsSync(qdir)) return { bodies, files };
  const visit = (dir: string, parent: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) {
        visit(file, name);
        continue;
      }
      const start = quarantinedStart(name, parent);
      if (start === null) continue;
      files.push(path.relative(qdir, file));
      const buf = readFileSync(file);
      for (let offset = 0, position = start; offset < buf.length; ) {
        const r = decodeRecordAt(buf, offset, position);
        if (!r.ok) break;
        if (r.record.type === RecordType.ADD) {
          const op = decodeOp(r.record.type, r.record.payload);
          if (op?.type === 'add') bodies.add(op.message.body.toString('utf8'));
        }
        offset += r.record.length;
        position += r.record.length;
      }
    }
  };
  visit(qdir, '');
  return { bodies, files };
}

function dumpLogs(cluster: Cluster, why: string): void {
  console.log(`--- ${why}`);
  for (const n of cluster.nodes) {
    const lines = n
      .logLines(/elected|demot|master|truncat|catch|epoch|follow|refused|fenc|giving up|started|recovered|session|stream|quorum|registered|replaced/i)
      .map((l) => `${String(l.time ?? '')} ${String(l.msg)}`);
    console.log(`--- ${n.name} (stomp ${n.stompPort})\n${lines.slice(-60).join('\n')}`);
  }
}

/** Starts `node` and waits until it answers on its status port. */
async function startNode(node: ClusterNode): Promise<NodeStatus> {
  node.start();
  return waitFor(`${node.name} to answer /api/status`, () => node.status(), 30_000, 50);
}

async function fullRestart(cluster: Cluster, sync: string, how: StopHow, order: Order): Promise<void> {
  const label = `${sync}, ${how}, order ${order.map((i) => (i === 0 ? 'M' : `S${i}`)).join(' ')}`;
  const t0 = Date.now();
  const marks: string[] = [];
  const mark = (what: string) => marks.push(`${what} +${Date.now() - t0}ms`);
  const load = await Workload.start(cluster, { producers: 2 });
  try {
    await waitFor('some acknowledged sends', () => load.acked() >= 40, 30_000);
    const { master, status } = await cluster.waitForMaster({ slaves: 2 });
    const oldEpoch = status.epoch ?? 0;
    const roles = [master, ...cluster.nodes.filter((n) => n !== master)];

    // --- the whole group goes down, with the producers still sending
    if (how === 'SIGTERM') {
      const codes = await Promise.all(cluster.nodes.map((n) => n.stop()));
      assert.deepEqual(codes, [0, 0, 0], `${label}: every node exits cleanly on SIGTERM`);
    } else {
      // The master first: under local_disk it may die holding acknowledged records no slave has.
      await master.kill();
      await Promise.all(roles.slice(1).map((n) => n.kill()));
    }
    const ackedBefore = load.acked();
    mark('stopped');

    // --- and comes back one node at a time
    const [first, second, third] = order.map((i) => roles[i]);
    await startNode(first);
    // After kill -9 the dead nodes' registrations live on until ZooKeeper expires their sessions;
    // whatever the first node sees meanwhile, it must never serve alone, and it must end up
    // saying it waits for a quorum.
    let registrationsSeen = 0;
    const lone = await waitFor(
      `${first.name}, alone, to say it waits for a quorum`,
      async () => {
        const s = await first.status();
        assert.notEqual(s?.role, 'master', `${label}: the lone first node ${first.name} became master: ${s?.reason ?? ''}`);
        registrationsSeen = Math.max(registrationsSeen, Array.isArray(s?.ha.members) ? s.ha.members.length : 0);
        return s && /waiting for quorum/.test(s.reason ?? '') ? s : undefined;
      },
      30_000,
      50,
    );
    assert.equal(lone.role, 'standby');
    assert.equal(first.servesClients(), false, `${label}: the lone node serves no clients`);
    console.log(`scenario 6 [${label}]: lone ${first.name} saw up to ${registrationsSeen} registrations (the dead nodes' until their sessions expired), then: ${lone.reason}`);

    mark('lone');
    await startNode(second);
    const { master: elected, status: electedStatus } = await cluster.waitForMaster({ slaves: 1, timeoutMs: 40_000 });
    assert.ok([first, second].includes(elected), `${label}: the master is one of the two running nodes`);
    assert.ok((electedStatus.epoch ?? 0) > oldEpoch, `${label}: the new master took a newer epoch (${electedStatus.epoch} > ${oldEpoch})`);

    mark('master');
    await startNode(third);
    // The master may change meanwhile (on a loaded machine a sync timeout can demote it, and the
    // group elects again); what counts is that the third node ends up following the current one.
    const rejoined = await waitFor(
      `${third.name} to rejoin as a slave of the current master`,
      async () => {
        const [s, m] = [await third.status(), await cluster.waitForMaster({ slaves: 1, timeoutMs: 1000 }).catch(() => undefined)];
        const following = s?.ha.following as { nodeId?: string; epoch?: number } | undefined;
        return s?.role === 'slave' && m && following?.nodeId === m.status.ha.nodeId && following?.epoch === m.status.epoch ? m : undefined;
      },
      40_000,
      50,
    );
    if (rejoined.status.epoch !== electedStatus.epoch) {
      console.log(`scenario 6 [${label}]: the master changed before ${third.name} joined: now ${rejoined.master.name} at epoch ${rejoined.status.epoch} (${String(rejoined.status.ha.lastDemotion ?? '')})`);
    }
    await cluster.waitForMaster({ slaves: 2, timeoutMs: 20_000 });
    mark('slaves');
    const restartedAckedBefore = load.acked();
    await waitFor('acknowledged sends after the restart', () => load.acked() > restartedAckedBefore + 10, 30_000);

    // --- every acknowledged send is delivered, or (local_* only) quarantined on some node
    const quarantined = new Set<string>();
    const qfiles: string[] = [];
    const collect = () => {
      for (const n of cluster.nodes) {
        const q = quarantinedBodies(n);
        for (const b of q.bodies) quarantined.add(b);
        qfiles.push(...q.files.map((f) => `${n.name}:${f}`));
      }
    };
    collect();
    const local = sync.startsWith('local_');
    const result = await load.finish(40_000, local ? (id) => quarantined.has(id) : undefined);
    mark('drained');
    const inQuarantine = result.lost.filter((id) => quarantined.has(id));
    const gone = local ? result.lost.filter((id) => !quarantined.has(id)) : result.lost;
    if (gone.length > 0 || result.unflaggedDuplicates.length > 0) {
      for (const id of [...gone, ...result.unflaggedDuplicates].slice(0, 5)) console.log(load.explain(id));
      dumpLogs(cluster, label);
    }
    assert.deepEqual(gone, [], `${label}: acknowledged, never delivered${local ? ' and in no quarantine file' : ''}: ${gone.slice(0, 10).join(', ')}`);
    assert.deepEqual(result.unflaggedDuplicates, [], `${label}: delivered again without the redelivered flag`);
    console.log(
      `scenario 6 [${label}]: ${result.acked} sends acknowledged (${ackedBefore} before the stop), master ${elected.name} at epoch ${electedStatus.epoch}; ` +
        `${inQuarantine.length} acknowledged only in quarantine; quarantine files: ${qfiles.length ? qfiles.join(', ') : 'none'}; ${marks.join(', ')}`,
    );
  } finally {
    await load.close();
  }
}

describe('replicated cluster: full stop and start in every order and sync mode (scenario 6)', { timeout: 420_000 }, () => {
  let zk: SharedZooKeeper | undefined;
  const clusters: Cluster[] = [];

  after(async () => {
    await Promise.all(clusters.map((c) => c.stopAll()));
    await zk?.stop();
    cleanupTemp();
  });

  for (const { sync, cycles } of PLAN) {
    it(`sync=${sync}: ${cycles.map((c) => c.how).join(', then ')} of all nodes; the group comes back by itself`, async () => {
      zk ??= await sharedZooKeeper();
      const cluster = await startCluster({ zkConnect: zk.connectString, zkPath: uniqueZkPath(`restart-${sync}`), sync, zkSessionTimeout: '2s', syncTimeout: '5s' });
      clusters.push(cluster);
      try {
        await cluster.waitForMaster({ slaves: 2, timeoutMs: 40_000 });
        for (const c of cycles) await fullRestart(cluster, sync, c.how, c.order);
      } finally {
        await cluster.stopAll();
      }
    });
  }
});
