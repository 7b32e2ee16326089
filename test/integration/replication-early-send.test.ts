import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { ReplicationClient } from '../../src/ha/replication/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { waitFor } from '../helpers/wait.js';
import { QmqError } from '../../src/util/errors.js';
import { addOps, cleanupDirs, journalConfig, logBytes, startMaster, startSlave, stopGroup, tempStoreDir } from './replication-kit.js';

after(cleanupDirs);

type Slave = Awaited<ReturnType<typeof startSlave>>;

/** A slave whose stream broke would have logged a loss; these tests expect none. */
function watchLoss(s: Slave): string[] {
  const lost: string[] = [];
  s.client.onLost((reason) => lost.push(reason));
  return lost;
}

function assertSameLog(master: JournalStore, slave: JournalStore): void {
  const end = master.lastPosition().position;
  assert.deepEqual(slave.lastPosition(), master.lastPosition());
  assert.ok(logBytes(slave, master.firstPosition, end).equals(logBytes(master, master.firstPosition, end)), 'the slave log differs from the master log');
}

/** 8 writers at once, as 8 producers; each call writes `batches` batches of 4 × 1 KiB per writer, sequence numbers running on. */
function concurrentWriters(m: { store: { write(ops: ReturnType<typeof addOps>): Promise<void> } }): (batches: number) => Promise<void> {
  let seq = 1;
  return async (batches) => {
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < batches; i++) {
        const from = seq;
        seq += 4;
        await m.store.write(addOps(from, 4, 1000));
      }
    }));
  };
}

/** Every slave reaches the master's end with a log byte-identical to it, and no stream broke on the way. */
async function assertCaughtUp(m: { journal: JournalStore }, slaves: Slave[], lost: string[]): Promise<void> {
  await waitFor('every slave at the master end', () => slaves.every((s) => s.journal.lastPosition().position === m.journal.lastPosition().position), 20_000);
  assert.deepEqual(lost, [], 'a slave receiving out of order or with a gap drops its stream');
  for (const s of slaves) assertSameLog(m.journal, s.journal);
}

function sent(m: { server: { slaves(): { nodeId: string; sentEarlyBytes?: number; sentFromDiskBytes?: number }[] } }, nodeId: string) {
  const p = m.server.slaves().find((s) => s.nodeId === nodeId);
  assert.ok(p, `no session for ${nodeId}`);
  return { early: p.sentEarlyBytes ?? 0, disk: p.sentFromDiskBytes ?? 0 };
}

test('concurrent batches reach caught-up slaves early, in order and without gaps, byte for byte', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  const lost = [...watchLoss(s1), ...watchLoss(s2)];
  await m.store.open();
  // 16 writers at once, as 16 producers: many batches share each group.
  const writers = Array.from({ length: 16 }, async (_, w) => {
    for (let i = 0; i < 40; i++) await m.store.write(addOps(w * 1000 + i * 3, 3, 200));
  });
  await Promise.all(writers);
  const end = m.journal.lastPosition().position;
  await waitFor('both slaves at the master end', () => s1.journal.lastPosition().position === end && s2.journal.lastPosition().position === end);
  assert.deepEqual(lost, [], 'a slave receiving out of order or with a gap drops its stream');
  for (const s of [s1, s2]) assertSameLog(m.journal, s.journal);
  for (const id of ['s1', 's2']) {
    const { early, disk } = sent(m, id);
    assert.ok(early > end / 2, `${id}: most of the stream should go before the master's fdatasync (early ${early}, from disk ${disk}, log ${end})`);
  }
  assert.ok(m.journal.writerStats.groups < 16 * 40, 'batches were grouped');
  await stopGroup(m, [s1, s2]);
});

test('a slave that falls behind is served from the files within the window, then early again once caught up', async () => {
  const maxInFlightBytes = 64 * 1024;
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2, maxInFlightBytes, frameBytes: 16 * 1024 });
  const fast = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 'fast' });
  const slow = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 'slow' });
  const lost = [...watchLoss(fast), ...watchLoss(slow)];
  await m.store.open();
  // The slow slave stops reading: TCP fills, its acks stop, the window closes.
  const slowSocket = (slow.client as unknown as { socket: net.Socket }).socket;
  slowSocket.pause();
  const burst = concurrentWriters(m);
  await burst(15); // ~500 KiB: acknowledged through the fast slave alone (replicas/2 = 1)
  const paused = m.server.slaves().find((s) => s.nodeId === 'slow')!;
  // The pump may overshoot the window by the one frame it was building (a frame plus a batch).
  const bound = maxInFlightBytes + 16 * 1024 + 8 * 1024;
  assert.ok((paused.inFlightBytes ?? 0) <= bound, `in flight to the paused slave: ${paused.inFlightBytes} > ${bound}`);
  assert.ok(paused.received < m.journal.lastPosition().position, 'the paused slave is behind');
  // It reads again while the writers go on: the pump reads the files behind the writer's groups,
  // which must not jump ahead of it (the slave drops its stream on a gap or a repeat).
  slowSocket.resume();
  await burst(15);
  await waitFor('the slow slave at the master end', () => slow.journal.lastPosition().position === m.journal.lastPosition().position, 20_000);
  const behind = sent(m, 'slow');
  assert.ok(behind.disk > 0, 'what the slave missed came from the files');
  // Caught up again, new groups go early; the files are not read for it any more.
  await burst(3);
  await assertCaughtUp(m, [fast, slow], lost);
  const after = sent(m, 'slow');
  assert.ok(after.early > behind.early, `new groups went early to the caught-up slave (early ${behind.early} -> ${after.early}, disk ${behind.disk} -> ${after.disk})`);
  await stopGroup(m, [fast, slow]);
});

test('a slave joining while the writers run catches up from the files behind them, with no group jumping ahead', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2 });
  const first = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 'first' });
  await m.store.open();
  const write = concurrentWriters(m);
  await write(40); // ~1.3 MiB of backlog for the late slave
  let writing = true;
  const writers = (async () => {
    while (writing) await write(2);
  })();
  const late = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 'late' });
  const lost = [...watchLoss(first), ...watchLoss(late)];
  await waitFor('the late slave has caught up and takes groups early', () => {
    const p = sent(m, 'late');
    return p.disk > 1_000_000 && p.early > 0;
  }, 30_000);
  writing = false;
  await writers;
  await assertCaughtUp(m, [first, late], lost);
  await stopGroup(m, [first, late]);
});

test('a group sent early whose fdatasync then fails is not acknowledged, the master never reuses its positions, and the slave cuts it into quarantine', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  await m.store.open();
  await m.store.write(addOps(1, 10));
  const durable = m.journal.lastPosition().position;
  await waitFor('the slave at the master end', () => s1.journal.lastPosition().position === durable);

  // The next fdatasync fails as on a full thin-provisioned disk: after the write, after the early
  // send. A master syncs on its loop (`datasyncSync`) while one send waits, else on the thread
  // pool (`datasync`); the first call of either fails.
  const log = (m.journal as unknown as { log: { datasync: (s: unknown) => Promise<void>; datasyncSync: (s: unknown) => void } }).log;
  const realSync = log.datasync.bind(log);
  const realSyncSync = log.datasyncSync.bind(log);
  let failures = 0;
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), { code: 'ENOSPC' });
  log.datasync = async (s: unknown) => {
    if (failures++ === 0) throw enospc();
    await realSync(s);
  };
  log.datasyncSync = (s: unknown) => {
    if (failures++ === 0) throw enospc();
    realSyncSync(s);
  };
  await assert.rejects(m.store.write(addOps(11, 5)), (e: Error & { codeName?: string }) => e.codeName === 'STORE_FULL');
  assert.equal(m.journal.lastPosition().position, durable, 'nothing became durable on the master');
  // The slave got the group early and wrote it: it holds a tail the master does not.
  await waitFor('the slave holds the early group', () => s1.journal.lastPosition().position > durable);
  const slaveTail = s1.journal.lastPosition().position;
  const tailBytes = logBytes(s1.journal, durable, slaveTail);
  // It was never acknowledged, and the master disconnected that slave.
  await waitFor('the master dropped the slave', () => m.server.slaves().length === 0);
  // Its positions are never written again with other bytes in this epoch: the writer stopped.
  await assert.rejects(m.store.write(addOps(20, 1)), (e: Error & { codeName?: string }) => e.codeName === 'STORE_FULL');
  assert.equal(m.journal.lastPosition().position, durable);

  // The slave comes back: catch-up finds its records past the master's end divergent and cuts them.
  await s1.client.stop();
  const again = new ReplicationClient({ journal: s1.journal, nodeId: 's1', logger: silentLogger });
  await again.follow(m.address, 2);
  assert.deepEqual(s1.journal.lastPosition(), m.journal.lastPosition());
  const qdir = path.join(s1.journal.config.directory, 'quarantine');
  const files = fs.readdirSync(qdir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(qdir, f)).isFile());
  assert.ok(files.some((f) => fs.readFileSync(path.join(qdir, f)).equals(tailBytes)), `the cut tail is in quarantine byte for byte (${files.join(', ')})`);
  await again.stop();
  await m.server.stop();
  for (const j of [m.journal, s1.journal]) await j.close();
});

test('a fenced writer hands nothing out: the fence is checked before the write', async () => {
  let fenced = false;
  const dir = tempStoreDir();
  const j = new JournalStore(journalConfig(dir), silentLogger, {
    preallocate: false,
    fence: () => {
      if (fenced) throw new QmqError('FENCED', 'a newer master owns this journal');
    },
  });
  await j.open();
  const seen: { start: number; length: number }[] = [];
  const lostAt: number[] = [];
  j.setWrittenTap({ written: (start, bytes) => seen.push({ start, length: bytes.length }), lost: (start) => lostAt.push(start), syncOnLoop: () => false });
  await Promise.all([j.write(addOps(1, 2)), j.write(addOps(3, 2)), j.write(addOps(5, 2))]);
  // Groups are handed out contiguous, in log order, ending at the durable end.
  let pos = seen[0].start;
  for (const g of seen) {
    assert.equal(g.start, pos);
    pos += g.length;
  }
  assert.equal(pos, j.lastPosition().position);
  const count = seen.length;
  fenced = true;
  await assert.rejects(j.write(addOps(7, 1)));
  assert.equal(seen.length, count, 'a fenced group is not handed out');
  assert.deepEqual(lostAt, []);
  await j.close();
});

test('the master flushes on its loop while one writer waits, on the thread pool while earlier sends still wait', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  try {
    const lost = [...watchLoss(s1), ...watchLoss(s2)];
    await m.store.open();
    // One producer, each send awaited: no other send waits while its group syncs.
    let seq = 1;
    const before = m.journal.writerStats;
    for (let i = 0; i < 30; i++, seq += 2) await m.store.write(addOps(seq, 2, 500));
    const oneWriter = m.journal.writerStats;
    assert.equal(oneWriter.poolSyncs - before.poolSyncs, 0, 'one writer: every flush on the loop');
    assert.ok(oneWriter.syncs - before.syncs >= 30, `one flush per send (${oneWriter.syncs - before.syncs})`);
    // A pipelining producer: a send every turn of the loop, none awaited, so the sends of earlier
    // groups still wait for a slave ack while the next group syncs.
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 200; i++, seq += 2) {
      sends.push(m.store.write(addOps(seq, 2, 500)));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sends);
    const piped = m.journal.writerStats;
    assert.ok(piped.poolSyncs - oneWriter.poolSyncs > 0, `overlapping sends: some flushes on the pool (${piped.poolSyncs - oneWriter.poolSyncs} of ${piped.syncs - oneWriter.syncs})`);
    await assertCaughtUp(m, [s1, s2], lost);
    for (const id of ['s1', 's2']) assert.ok(sent(m, id).early > 0, `${id} got groups early`);
  } finally {
    await stopGroup(m, [s1, s2]);
  }
});
