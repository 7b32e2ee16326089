import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { addOps, cleanupDirs, logBytes, openJournal, startMaster, startSlave, tempStoreDir } from './replication-kit.js';

after(cleanupDirs);

test('a slave deletes the segments the master compacted away, once its own index is checkpointed past them, and keeps every live message', async () => {
  const segmentBytes = 64 * 1024;
  const m = await startMaster({ journal: await openJournal(tempStoreDir(), segmentBytes), replicas: 2, sync: 'quorum_disk', epoch: 2 });
  const slaveDir = tempStoreDir();
  const s = await startSlave({ address: m.address, epoch: 2 }, { journal: await openJournal(slaveDir, segmentBytes), nodeId: 's' });
  await m.store.open();
  // 2000 messages of 500 bytes (~16 segments); all but every 100th is consumed, so compaction
  // deletes most segments and copies the few live messages forward.
  for (let i = 1; i <= 2000; i += 50) {
    await m.store.write(addOps(i, 50, 500));
    const removes = Array.from({ length: 50 }, (_, k) => i + k).filter((seq) => seq % 100 !== 0);
    await m.store.write(removes.map((seq) => ({ type: 'remove' as const, queue: 'queue://repl', seq })));
  }
  const segmentsBefore = s.journal.segmentFiles.length;
  assert.ok(segmentsBefore >= 10, `the slave holds ${segmentsBefore} segments before compaction`);
  await m.journal.compact();
  const masterFirst = m.journal.firstPosition;
  assert.ok(masterFirst > 0 && m.journal.segmentFiles.length < segmentsBefore / 2, `the master compacted (${m.journal.segmentFiles.length} segments left)`);
  // A little more traffic carries the news; the slave drops at its next checkpoint.
  await m.store.write(addOps(2001, 5, 500));
  await waitFor(
    'the slave to drop the segments the master dropped',
    async () => {
      await s.journal.checkpoint();
      return s.journal.firstPosition === masterFirst;
    },
    10_000,
  );
  assert.ok(s.journal.segmentFiles.length <= m.journal.segmentFiles.length + 1, `slave ${s.journal.segmentFiles.length} segments, master ${m.journal.segmentFiles.length}`);
  const end = m.journal.lastPosition().position;
  await waitFor('the slave caught up', () => s.journal.lastPosition().position === end);
  assert.ok(logBytes(s.journal, masterFirst, end).equals(logBytes(m.journal, masterFirst, end)), 'what both hold is byte-identical');
  const live = (await m.journal.read('queue://repl', 0, 10_000)).map((x) => x.message.id);
  assert.equal(live.length, 25);
  assert.deepEqual((await s.journal.read('queue://repl', 0, 10_000)).map((x) => x.message.id), live);

  // The slave restarts on its shortened log without rebuilding its index, and rejoins by plain catch-up.
  await s.client.stop();
  await s.journal.close();
  const again = await openJournal(slaveDir, segmentBytes);
  assert.equal(again.recovery?.rebuiltIndex, false);
  assert.deepEqual((await again.read('queue://repl', 0, 10_000)).map((x) => x.message.id), live);
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { journal: again, nodeId: 's' });
  await m.store.write(addOps(2006, 5, 500));
  const end2 = m.journal.lastPosition().position;
  await waitFor('the restarted slave caught up without a snapshot', () => again.lastPosition().position === end2);
  assert.equal(again.firstPosition, masterFirst, 'no snapshot replaced the log');
  await s2.client.stop();
  await again.close();
  await m.server.stop();
  await m.journal.close();
});
