import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { addOps, cleanupDirs, startMaster, startSlave } from './replication-kit.js';

after(cleanupDirs);

test('a master and two slaves replicate 10k messages byte for byte, with the index on the slaves', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  await m.store.open();
  const total = 10_000;
  const inFlight: Promise<void>[] = [];
  for (let i = 1; i <= total; i += 50) {
    inFlight.push(m.store.write(addOps(i, 50)));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const end = m.journal.lastPosition().position;
  await waitFor('both slaves at the master end', () => s1.journal.lastPosition().position === end && s2.journal.lastPosition().position === end);
  assert.ok(m.journal.segmentFiles.length > 1, 'the test spans several segments');
  for (const s of [s1, s2]) {
    assert.deepEqual(s.journal.segmentFiles.map((f) => path.basename(f)), m.journal.segmentFiles.map((f) => path.basename(f)));
    m.journal.segmentFiles.forEach((f, i) => assert.ok(fs.readFileSync(f).equals(fs.readFileSync(s.journal.segmentFiles[i])), `segment ${path.basename(f)} differs`));
    const msgs = await s.journal.read('queue://repl', 0, total + 10);
    assert.equal(msgs.length, total);
    assert.equal(msgs[total - 1].seq, total);
    assert.deepEqual(s.journal.lastPosition(), m.journal.lastPosition());
  }
  const progress = m.server.slaves();
  assert.equal(progress.length, 2);
  for (const p of progress) assert.equal(p.synced, end);
  // Slaves refuse local writes: only the master's records go into their logs.
  await assert.rejects(s1.journal.write(addOps(total + 1, 1)), /replica/);
  await s1.client.stop();
  await s2.client.stop();
  await m.server.stop();
  for (const j of [m.journal, s1.journal, s2.journal]) await j.close();
});
