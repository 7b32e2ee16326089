import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connect, type StompClient } from '../../src/client/index.js';
import { dumpStore } from '../../src/cli/store-command.js';
import { cleanupTemp, tempDir } from '../helpers/broker-process.js';
import { waitFor } from '../helpers/wait.js';
import { failoverUrl, killAllNodes, startSharedNode, type SharedNode } from './sharedfs-cluster.js';
import { drainQueue, lostAndDuplicated } from '../helpers/drain.js';

// Shared file system master/slave with real broker processes on one store directory (issue 6).
// Defaults throughout: lockKeepAlivePeriod 1000 ms, lockAcquireSleepInterval 1000 ms.

const clients: StompClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await killAllNodes();
  cleanupTemp();
});

async function client(url: string): Promise<StompClient> {
  const c = await connect(url);
  clients.push(c);
  return c;
}

/** Whether anything listens on the port (a slave must not). */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface ProduceResult {
  acked: Set<string>;
  failures: string[];
  ackTimes: number[];
}

/** `producers` failover clients send persistent messages with receipts, `inflight` at a time each. */
function produce(url: string, queue: string, producers: number, perProducer: number, tag: string): { done: Promise<ProduceResult>; acked: () => number } {
  const acked = new Set<string>();
  const ackTimes: number[] = [];
  const done = (async () => {
    const cs = await Promise.all(Array.from({ length: producers }, () => client(url)));
    const failures = (
      await Promise.all(
        cs.map(async (c, i) => {
          const inflight = new Set<Promise<void>>();
          const all: Promise<void>[] = [];
          for (let n = 0; n < perProducer; n++) {
            const body = `${tag}-p${i}-${n}`;
            const s: Promise<void> = c.send(queue, body, { persistent: 'true' }).then(() => {
              acked.add(body);
              ackTimes.push(Date.now());
              inflight.delete(s);
            });
            s.catch(() => inflight.delete(s));
            inflight.add(s);
            all.push(s);
            if (inflight.size >= 8) await Promise.race(inflight).catch(() => undefined);
          }
          const settled = await Promise.allSettled(all);
          return settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
        }),
      )
    ).flat();
    return { acked, failures, ackTimes };
  })();
  return { done, acked: () => acked.size };
}

const drain = (url: string, queue: string, quietMs = 700) => drainQueue(() => client(url), queue, quietMs);


function logTime(node: SharedNode, msg: string, after = 0): number | undefined {
  return node.logs(msg).map((l) => Number(l.time)).find((t) => t >= after);
}

describe('shared file system master/slave, real processes on one store', { timeout: 120_000 }, () => {
  test('the first broker is master and the second refuses clients; kill -9 under load: the slave serves within 1 s plus recovery, nothing acknowledged is lost or duplicated; the old master comes back as slave', async () => {
    const dataDir = tempDir('qmq-sf-');
    const a = await startSharedNode({ name: 'a', dataDir });
    await a.waitRole('master');
    const b = await startSharedNode({ name: 'b', dataDir });
    const standby = await b.waitRole('standby');
    assert.equal(standby.ha.state, 'waiting');
    assert.match(standby.ha.lockHolder?.nodeId ?? '', new RegExp(`:${a.pid}$`));
    assert.match(standby.reason ?? '', /waiting for the lock on .*journal\/lock, held by/);
    assert.equal(await portOpen(b.stompPort), false, 'a slave opens no client port');
    assert.equal(await portOpen(a.stompPort), true);

    const url = failoverUrl([a, b]);
    // A consumer receives throughout from a queue filled before the crash.
    const filler = produce(url, '/queue/sf.consume', 1, 200, 'c');
    const filled = await filler.done;
    assert.deepEqual(filled.failures, []);
    const consumer = await client(url);
    const sub = await consumer.subscribe('/queue/sf.consume', { ack: 'client-individual', prefetch: 10 });
    const consumed: string[] = [];
    let consuming = true;
    const consumerRun = (async () => {
      while (consuming) {
        const m = await sub.next(200);
        if (!m) continue;
        consumed.push(m.text());
        await m.ack().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const load = produce(url, '/queue/sf.produce', 4, 200, 'm');
    await waitFor('a quarter of the sends to be acknowledged', () => load.acked() >= 200, 30_000);
    const killedAt = Date.now();
    await a.kill();
    const exitedAt = Date.now();
    const promoted = await b.waitRole('master', 20_000);
    const result = await load.done;
    assert.deepEqual(result.failures, [], 'every send resolved');
    assert.equal(result.acked.size, 800);
    assert.ok(promoted.epoch! > (standby.epoch ?? 0), 'the new master has a higher epoch');

    const startedAt = await waitFor('b to log its start', () => logTime(b, 'broker started', killedAt), 5000);
    const acquired = b.logs('lock acquired: becoming master')[0];
    const recoveryMs = Number(acquired.recoveryMs);
    const lockTakenAt = Number(acquired.time) - recoveryMs;
    // Acknowledgements after the old master's exit can only come from the new one.
    const firstAckAfterKill = Math.min(...result.ackTimes.filter((t) => t > exitedAt));
    const serveMs = startedAt - killedAt;
    console.log(`kill -9 takeover: lock taken ${lockTakenAt - killedAt} ms after the kill, recovery ${recoveryMs} ms, serving after ${serveMs} ms, first acknowledged send after ${firstAckAfterKill - killedAt} ms`);
    assert.ok(lockTakenAt - killedAt < 1000, `the slave took the lock ${lockTakenAt - killedAt} ms after the kill`);
    assert.ok(serveMs - recoveryMs < 1000, `the slave served ${serveMs} ms after the kill (recovery ${recoveryMs} ms)`);

    await waitFor('the consumer to get every pre-filled message', () => new Set(consumed).size >= 200, 20_000);
    consuming = false;
    await consumerRun;
    const c = lostAndDuplicated(filled.acked, consumed);
    assert.deepEqual(c.lost, [], 'no pre-filled message lost');

    const bodies = await drain(url, '/queue/sf.produce');
    const p = lostAndDuplicated(result.acked, bodies);
    assert.deepEqual(p.lost, [], 'no acknowledged send lost');
    assert.deepEqual(p.duplicated, [], 'resends were de-duplicated');

    // The old master restarts on its old port: now it is the slave.
    const a2 = await startSharedNode({ name: 'a2', dataDir, stompPort: a.stompPort });
    const s2 = await a2.waitRole('standby');
    assert.match(s2.ha.lockHolder?.nodeId ?? '', new RegExp(`:${b.pid}$`));
    assert.equal(await portOpen(a2.stompPort), false);
    await b.stop();
    await a2.waitRole('master', 10_000);
    await a2.stop();
  });

  test('SIGSTOP the master, replace the lock file, SIGCONT: the old master demotes within one keep-alive and nothing it wrote follows the takeover in the journal', async () => {
    const dataDir = tempDir('qmq-sf-');
    const a = await startSharedNode({ name: 'a', dataDir });
    const aStatus = await a.waitRole('master');
    const b = await startSharedNode({ name: 'b', dataDir });
    await b.waitRole('standby');

    // A producer bound to a alone keeps sending while a is frozen and after it resumes.
    const direct = await client(`tcp://127.0.0.1:${a.stompPort}`);
    const ackedByA = new Set<string>();
    const ackedAt = new Map<string, number>();
    let sending = true;
    const sender = (async () => {
      for (let n = 0; sending; n++) {
        const body = `a-${n}`;
        direct.send('/queue/sf.fence', body, { persistent: 'true' }).then(
          () => {
            ackedByA.add(body);
            ackedAt.set(body, Date.now());
          },
          () => undefined,
        );
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await waitFor('a to acknowledge some sends', () => ackedByA.size >= 20, 10_000);

    a.signal('SIGSTOP');
    const lockFile = path.join(dataDir, 'journal', 'lock');
    fs.unlinkSync(lockFile);
    fs.writeFileSync(lockFile, '');
    // b notices the new file within a sleep interval and locks it; the store is still open in a.
    await waitFor('b to lock the new file', async () => (await b.status()).ha.state === 'taking-over', 5000);
    const continuedAt = Date.now();
    a.signal('SIGCONT');
    await waitFor('a to report the lost lock', () => a.logs('no longer holds the store lock: demoting to slave, writing nothing more').length > 0, 5000);
    const noticedAt = logTime(a, 'no longer holds the store lock: demoting to slave, writing nothing more')!;
    console.log(`SIGCONT to demotion: ${noticedAt - continuedAt} ms`);
    assert.ok(noticedAt - continuedAt <= 1000 + 200, `a noticed after ${noticedAt - continuedAt} ms`);
    const bMaster = await b.waitRole('master', 10_000);
    assert.ok(bMaster.epoch! > aStatus.epoch!);
    const aAfter = await a.waitRole('standby', 5000);
    assert.equal(aAfter.ha.lockHolder?.epoch, bMaster.epoch);
    assert.equal(await portOpen(a.stompPort), false, 'the demoted master closed its client port');
    sending = false;
    await sender;

    const marker = await client(failoverUrl([a, b]));
    await marker.send('/queue/sf.fence', 'after-takeover', { persistent: 'true' });
    await marker.close();
    const received = await drain(failoverUrl([a, b]), '/queue/sf.fence');
    assert.deepEqual(lostAndDuplicated(ackedByA, received).lost, [], 'everything a acknowledged is in the store');
    assert.ok(received.includes('after-takeover'));

    await b.stop();
    await a.stop();
    const dump = await dumpStore(path.join(dataDir, 'journal'), {});
    assert.equal(dump.recordsTruncated, false);
    const newEpochMarker = dump.records.find((r) => r.epoch === bMaster.epoch && /epoch/i.test(r.type));
    assert.ok(newEpochMarker, `the journal holds b's epoch marker (epoch ${bMaster.epoch})`);
    const stale = dump.records.filter((r) => r.position > newEpochMarker.position && r.epoch < bMaster.epoch!);
    assert.deepEqual(stale, [], 'no record of an older epoch after the new epoch marker');
  });

  test('three brokers on one store: each kill hands the lock on, epochs rise, every acknowledged message survives', async () => {
    const dataDir = tempDir('qmq-sf-');
    const n1 = await startSharedNode({ name: 'n1', dataDir });
    await n1.waitRole('master');
    const n2 = await startSharedNode({ name: 'n2', dataDir });
    const n3 = await startSharedNode({ name: 'n3', dataDir });
    await n2.waitRole('standby');
    await n3.waitRole('standby');
    const url = failoverUrl([n1, n2, n3]);
    const epochs: number[] = [(await n1.status()).epoch!];
    const sent: string[] = [];
    const sendOne = async (body: string) => {
      const c = await client(url);
      await c.send('/queue/sf.three', body, { persistent: 'true' });
      await c.close();
      sent.push(body);
    };
    await sendOne('one');
    let alive = [n2, n3];
    await n1.kill();
    const master2 = await waitFor('one of n2/n3 to be master', async () => {
      for (const n of alive) if ((await n.status()).role === 'master') return n;
      return undefined;
    }, 10_000, 10);
    epochs.push((await master2.status()).epoch!);
    const other = alive.find((n) => n !== master2)!;
    assert.equal((await other.status()).role, 'standby');
    await sendOne('two');
    await master2.kill();
    alive = [other];
    epochs.push((await other.waitRole('master', 10_000)).epoch!);
    await sendOne('three');
    assert.ok(epochs[0] < epochs[1] && epochs[1] < epochs[2], `epochs rise: ${epochs.join(', ')}`);
    assert.deepEqual((await drain(url, '/queue/sf.three')).sort(), [...sent].sort());
    await other.stop();
  });

  test('a graceful stop hands the lock over at once', async () => {
    const dataDir = tempDir('qmq-sf-');
    const a = await startSharedNode({ name: 'a', dataDir });
    await a.waitRole('master');
    const b = await startSharedNode({ name: 'b', dataDir });
    await b.waitRole('standby');
    const stoppedAt = Date.now();
    const code = await a.stop();
    assert.equal(code, 0);
    await b.waitRole('master', 5000);
    const startedAt = await waitFor('b to log its start', () => logTime(b, 'broker started', stoppedAt), 5000);
    const releasedAt = logTime(a, 'lock released: a waiting broker can take over')!;
    const acquired = b.logs('lock acquired: becoming master')[0];
    const lockTakenAt = Number(acquired.time) - Number(acquired.recoveryMs);
    console.log(`graceful handover: lock released ${releasedAt - stoppedAt} ms after SIGTERM, taken ${lockTakenAt - releasedAt} ms later, slave serving after ${startedAt - releasedAt} ms (recovery ${acquired.recoveryMs} ms)`);
    assert.ok(lockTakenAt - releasedAt < 200, `the slave took the lock ${lockTakenAt - releasedAt} ms after the release`);
    assert.ok(startedAt - releasedAt - Number(acquired.recoveryMs) < 300, `the slave served ${startedAt - releasedAt} ms after the release`);
    await b.stop();
  });

  test('a lock directory the broker cannot write is a clear startup error', async () => {
    const dataDir = tempDir('qmq-sf-');
    const journalDir = path.join(dataDir, 'journal');
    fs.mkdirSync(journalDir);
    // root ignores file modes, so as root the broker runs as nobody on a root-owned directory.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) fs.chmodSync(dataDir, 0o755);
    else fs.chmodSync(journalDir, 0o555);
    const n = await startSharedNode({ name: 'ro', dataDir, noWait: true, spawn: asRoot ? { uid: 65534, gid: 65534 } : {} });
    const code = await n.exited;
    assert.equal(code, 1);
    assert.match(n.output(), /QMQ-3002 cannot open the lock file .*journal\/lock for writing: permission denied/);
    if (!asRoot) fs.chmodSync(journalDir, 0o755);
  });
});
