import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { flipBitInOldSegment, truncateLastSegment } from '../../src/chaos/disk-faults.js';
import { seededRng } from '../../src/chaos/rng.js';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { waitFor } from '../helpers/wait.js';
import { addOps, captureLogger, cleanupDirs, journalConfig, logBytes, openJournal, startMaster, startSlave, tempStoreDir } from './replication-kit.js';

after(cleanupDirs);

const SEGMENT_BYTES = 64 * 1024;

/** A master and a slave that holds 400 messages over several segments, then is stopped. */
async function groupWithStoppedSlave() {
  const m = await startMaster({ journal: await openJournal(tempStoreDir(), SEGMENT_BYTES), replicas: 2, sync: 'quorum_disk', epoch: 2 });
  const slaveDir = tempStoreDir();
  const s = await startSlave({ address: m.address, epoch: 2 }, { journal: await openJournal(slaveDir, SEGMENT_BYTES), nodeId: 's' });
  await m.store.open();
  for (let i = 1; i <= 400; i += 20) await m.store.write(addOps(i, 20, 500));
  const end = m.journal.lastPosition().position;
  await waitFor('the slave holds everything', () => s.journal.lastPosition().position === end);
  await s.journal.checkpoint();
  await s.client.stop();
  await s.journal.close();
  return { m, slaveDir };
}

async function rejoinAndCheck(m: Awaited<ReturnType<typeof groupWithStoppedSlave>>['m'], journal: JournalStore) {
  const s = await startSlave({ address: m.address, epoch: 2 }, { journal, nodeId: 's' });
  await m.store.write(addOps(401, 10, 500));
  const end = m.journal.lastPosition().position;
  await waitFor('the repaired slave caught up', () => journal.lastPosition().position === end);
  assert.ok(logBytes(journal, 0, end).equals(logBytes(m.journal, 0, end)), 'the slave log is byte-identical to the master log');
  const seqs = (await journal.read('queue://repl', 0, 10_000)).map((x) => x.seq);
  assert.deepEqual(seqs, Array.from({ length: 410 }, (_, i) => i + 1));
  await s.client.stop();
  await journal.close();
  await m.server.stop();
  await m.journal.close();
}

test('a replica with a flipped bit in an old segment opens, quarantines the log from the damaged batch on, and catches up byte-identical', async () => {
  const { m, slaveDir } = await groupWithStoppedSlave();
  const damage = flipBitInOldSegment(slaveDir, seededRng(7));
  const damagedCopy = fs.readFileSync(damage.file);
  const logger = captureLogger();
  const journal = new JournalStore(journalConfig(slaveDir, SEGMENT_BYTES), logger, { preallocate: false });
  await journal.open();
  const repair = journal.damageRepair;
  assert.ok(repair, 'the damage was found at open');
  assert.ok(repair.cutAt <= repair.position && journal.lastPosition().position === repair.cutAt, 'the log ends at the damaged batch');
  assert.equal(repair.segment, damage.file);
  // The damaged segment is in quarantine unchanged, flipped bit and all.
  assert.ok(fs.readFileSync(path.join(repair.quarantine, path.basename(damage.file))).equals(damagedCopy));
  assert.ok(logger.lines.some((l) => l.level === 'error' && l.msg.includes(damage.file) && l.msg.includes(`offset ${repair.offset}`)), 'the repair is logged with file and offset');
  // Nothing damaged is served from what is left.
  const before = await journal.read('queue://repl', 0, 10_000);
  assert.ok(before.every((x) => x.message.id === `ID:test-${x.seq}`));
  await rejoinAndCheck(m, journal);
});

test('a replica with a torn last segment truncates to the last whole batch and catches up', async () => {
  const { m, slaveDir } = await groupWithStoppedSlave();
  const damage = truncateLastSegment(slaveDir, seededRng(3));
  const journal = new JournalStore(journalConfig(slaveDir, SEGMENT_BYTES), silentLogger, { preallocate: false });
  await journal.open();
  assert.ok(journal.lastPosition().position < m.journal.lastPosition().position, `the torn tail was cut (${damage.detail})`);
  assert.ok(fs.readdirSync(path.join(slaveDir, 'quarantine')).length >= 1, 'the torn bytes are in quarantine');
  await rejoinAndCheck(m, journal);
});

test('a single-node store (not in a replication group) still refuses to open with damage in the middle', async () => {
  const dir = tempStoreDir();
  const j = await openJournal(dir, SEGMENT_BYTES);
  for (let i = 1; i <= 400; i += 20) await j.write(addOps(i, 20, 500));
  await j.close();
  // Damage in the last segment's first half, after the checkpoint: recovery sees it.
  const segs = fs.readdirSync(path.join(dir, 'log')).sort();
  const last = path.join(dir, 'log', segs[segs.length - 1]);
  const buf = fs.readFileSync(last);
  buf[30] ^= 0x10;
  fs.writeFileSync(last, buf);
  fs.rmSync(path.join(dir, 'index'), { recursive: true });
  const again = new JournalStore(journalConfig(dir, SEGMENT_BYTES), silentLogger, { preallocate: false });
  await assert.rejects(again.open(), (e: Error & { code?: string }) => e.code === 'QMQ-3001');
});
