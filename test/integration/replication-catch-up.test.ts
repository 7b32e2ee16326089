import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { addOps, cleanupDirs, logBytes, openJournal, startMaster, startSlave, tempStoreDir } from './replication-kit.js';

after(cleanupDirs);

test('a rejoining ex-master has its divergent tail truncated at the divergence point; the bytes land in quarantine byte for byte', async () => {
  // A is master of epoch 2 with slave B; both hold the first 50 messages.
  const a = await startMaster({ replicas: 2, sync: 'quorum_disk', epoch: 2 });
  const b = await startSlave({ address: a.address, epoch: 2 }, { nodeId: 'b' });
  await a.store.open();
  await a.store.write(addOps(1, 50));
  const common = a.journal.lastPosition().position;
  await waitFor('B holds the common part', () => b.journal.lastPosition().position === common);
  await b.client.stop();
  // A goes on alone: these records reach only A's log (the sends time out, never acknowledged).
  const alone = await startMaster({ journal: a.journal, replicas: 2, sync: 'local_disk', epoch: 2 });
  await a.server.stop();
  await alone.store.write(addOps(51, 20));
  const aEnd = a.journal.lastPosition().position;
  assert.ok(aEnd > common);
  const divergent = logBytes(a.journal, common, aEnd);
  await alone.server.stop();
  // B becomes master of epoch 3 and writes; A rejoins as its slave.
  const bm = await startMaster({ journal: b.journal, replicas: 2, sync: 'local_disk', epoch: 3 });
  await bm.store.open();
  await bm.store.write(addOps(51, 5));
  const a2 = await startSlave({ address: bm.address, epoch: 3 }, { journal: a.journal, nodeId: 'a' });
  await bm.store.write(addOps(56, 5));
  const end = b.journal.lastPosition().position;
  await waitFor('A caught up with B', () => a.journal.lastPosition().position === end);
  // Byte for byte: the quarantine file is exactly A's tail after the divergence point.
  const qdir = path.join(a.journal.config.directory, 'quarantine');
  const files = fs.readdirSync(qdir).filter((f) => f.startsWith('divergent-'));
  assert.equal(files.length, 1);
  assert.ok(fs.readFileSync(path.join(qdir, files[0])).equals(divergent), 'quarantined bytes differ from the truncated tail');
  assert.match(files[0], new RegExp(`^divergent-0*${common}-0*${aEnd}-`));
  // And A's log is now B's, byte for byte; the index forgot the divergent messages.
  assert.ok(logBytes(a.journal, 0, end).equals(logBytes(b.journal, 0, end)));
  const seqs = (await a.journal.read('queue://repl', 0, 1000)).map((x) => x.seq);
  assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i + 1));
  const bodies = (await a.journal.read('queue://repl', 51, 1)).map((x) => x.message.id);
  assert.deepEqual(bodies, ['ID:test-51']);
  assert.deepEqual(a.journal.lastPosition(), { epoch: 3, position: end });
  await a2.client.stop();
  await bm.server.stop();
  await a.journal.close();
  await b.journal.close();
});

test('a slave far behind catches up by snapshot while the master keeps writing; its old log is set aside in quarantine', async () => {
  const segmentBytes = 64 * 1024;
  const m = await startMaster({ journal: await openJournal(tempStoreDir(), segmentBytes), replicas: 2, sync: 'local_disk', epoch: 2 });
  await m.store.open();
  const slaveJournal = await openJournal(tempStoreDir(), segmentBytes);
  const s = await startSlave({ address: m.address, epoch: 2 }, { journal: slaveJournal, nodeId: 'late' });
  await m.store.write(addOps(1, 20, 500));
  await waitFor('the slave has the first messages', () => slaveJournal.lastPosition().position === m.journal.lastPosition().position);
  const oldEnd = slaveJournal.lastPosition().position;
  await s.client.stop();
  // Meanwhile the master writes and consumes a lot, and compaction drops its early segments.
  for (let i = 21; i <= 2000; i += 20) {
    await m.store.write(addOps(i, 20, 500));
    await m.store.write(Array.from({ length: 20 }, (_, k) => ({ type: 'remove' as const, queue: 'queue://repl', seq: i - 20 + k })));
  }
  await m.journal.compact();
  assert.ok(m.journal.firstPosition > oldEnd, `the master's oldest segment (${m.journal.firstPosition}) is past the slave (${oldEnd})`);
  // The slave rejoins while producers keep sending.
  let writing = true;
  let next = 2001;
  const producer = (async () => {
    while (writing) {
      await m.store.write(addOps(next, 10, 500));
      next += 10;
    }
  })();
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { journal: slaveJournal, nodeId: 'late' });
  await waitFor('the slave streams past the snapshot point', () => slaveJournal.lastPosition().position > m.journal.firstPosition + 10_000);
  writing = false;
  await producer;
  const end = m.journal.lastPosition().position;
  await waitFor('the slave caught up', () => slaveJournal.lastPosition().position === end);
  assert.equal(slaveJournal.firstPosition, m.journal.firstPosition);
  assert.ok(logBytes(slaveJournal, slaveJournal.firstPosition, end).equals(logBytes(m.journal, m.journal.firstPosition, end)));
  const live = await m.journal.read('queue://repl', 0, 100_000);
  const replica = await slaveJournal.read('queue://repl', 0, 100_000);
  assert.deepEqual(replica.map((x) => x.seq), live.map((x) => x.seq));
  assert.ok(live.length >= 20, 'messages sent during the catch-up are there');
  const qdir = path.join(slaveJournal.config.directory, 'quarantine');
  const replaced = fs.readdirSync(qdir).filter((f) => f.startsWith('replaced-'));
  assert.equal(replaced.length, 1);
  const kept = fs.readdirSync(path.join(qdir, replaced[0]));
  assert.ok(kept.length >= 1 && kept.every((f) => f.endsWith('.log')), `old segments kept: ${kept}`);
  await s2.client.stop();
  await m.server.stop();
  await m.journal.close();
  await slaveJournal.close();
});
