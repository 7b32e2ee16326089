import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { waitFor } from '../helpers/wait.js';
import { addOps, cleanupDirs, logBytes, startMaster, startSlave, stopGroup } from './replication-kit.js';

after(cleanupDirs);

type Master = Awaited<ReturnType<typeof startMaster>>;

function duty(m: Master): Record<string, boolean> {
  return Object.fromEntries(m.server.slaves().map((s) => [s.nodeId, s.syncDuty === true]));
}

async function writeMany(m: Master, from: number, batches: number): Promise<void> {
  await Promise.all(Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; i < batches; i++) await m.store.write(addOps(from + (w * batches + i) * 2, 2, 300));
  }));
}

test('quorum_disk with two slaves: one fdatasyncs every group, the other defers and still catches up on disk', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  await m.store.open();
  await waitFor('the sync duty assigned', () => Object.values(duty(m)).filter(Boolean).length === 1);
  await writeMany(m, 1, 50);
  const end = m.journal.lastPosition().position;
  const holder = duty(m).s1 ? s1 : s2;
  const other = holder === s1 ? s2 : s1;
  assert.equal(holder.journal.writerStats.deferredGroups, 0, 'the duty holder never defers a sync');
  await waitFor('both slaves written to the master end', () => s1.journal.lastPosition().position === end && s2.journal.lastPosition().position === end);
  const o = other.journal.writerStats;
  assert.ok(o.deferredGroups > 0, 'the other slave defers its syncs');
  // Its deferred syncs still come, within milliseconds, and its acks report them.
  await waitFor('the deferring slave fdatasynced to the end', () => other.journal.syncedPosition === end);
  await waitFor('the master saw both slaves synced', () => m.server.slaves().every((s) => s.synced === end));
  for (const s of [s1, s2]) assert.ok(logBytes(s.journal, 0, end).equals(logBytes(m.journal, 0, end)), 'slave log differs from the master');
  await stopGroup(m, [s1, s2]);
});

test('the duty moves when its holder leaves, and sends waiting on it are acknowledged by the other slave', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2, syncTimeoutMs: 20_000 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  await m.store.open();
  await waitFor('the sync duty assigned', () => Object.values(duty(m)).filter(Boolean).length === 1);
  await writeMany(m, 1, 10);
  const holder = duty(m).s1 ? s1 : s2;
  const other = holder === s1 ? s2 : s1;
  const otherId = holder === s1 ? 's2' : 's1';
  // The holder stops reading: nothing it fsyncs reaches the master any more.
  await holder.client.stop();
  await waitFor('the other slave holds the duty', () => duty(m)[otherId] === true && m.server.slaves().length === 1);
  const before = other.journal.writerStats.deferredGroups;
  await writeMany(m, 10_000, 10);
  const end = m.journal.lastPosition().position;
  assert.equal(other.journal.syncedPosition, end, 'every acknowledged send is on the new holder\'s disk');
  assert.equal(other.journal.writerStats.deferredGroups, before, 'the new holder syncs every group');
  await stopGroup(m, [other], [holder.journal]);
});

test('quorum_mem: no slave holds the duty; slaves acknowledge receipt at once and sync within milliseconds', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_mem', epoch: 2 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  await m.store.open();
  await writeMany(m, 1, 20);
  const end = m.journal.lastPosition().position;
  assert.deepEqual(duty(m), { s1: false, s2: false });
  for (const s of [s1, s2]) assert.ok(s.journal.writerStats.deferredGroups > 0, 'a *_mem level never waits for a slave disk');
  await waitFor('both slaves fdatasynced to the end', () => s1.journal.syncedPosition === end && s2.journal.syncedPosition === end);
  await stopGroup(m, [s1, s2]);
});

test('groups for the slave without the duty are coalesced, and sent at once when it takes the duty over', async () => {
  // A long coalescing period: nothing reaches that slave until a frame fills or the duty moves.
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2, lazySendMs: 60_000, frameBytes: 1024 * 1024 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  await m.store.open();
  await waitFor('the sync duty assigned', () => Object.values(duty(m)).filter(Boolean).length === 1);
  const marker = m.journal.lastPosition().position;
  await waitFor('both slaves hold the epoch marker', () => s1.journal.lastPosition().position === marker && s2.journal.lastPosition().position === marker);
  const holder = duty(m).s1 ? s1 : s2;
  const other = holder === s1 ? s2 : s1;
  const otherId = holder === s1 ? 's2' : 's1';
  await writeMany(m, 1, 10); // acknowledged through the holder; ~25 KiB, far below a frame
  const end = m.journal.lastPosition().position;
  assert.equal(holder.journal.lastPosition().position, end);
  assert.equal(other.journal.lastPosition().position, marker, 'the groups wait on the master, coalescing');
  const p = m.server.slaves().find((s) => s.nodeId === otherId)!;
  assert.ok((p.bufferedBytes ?? 0) >= end - marker, `status counts the coalesced bytes as buffered (${p.bufferedBytes} < ${end - marker})`);
  await holder.client.stop();
  await waitFor('the other slave holds the duty and got the coalesced groups', () => duty(m)[otherId] === true && other.journal.syncedPosition === end);
  await writeMany(m, 10_000, 5);
  assert.equal(other.journal.syncedPosition, m.journal.lastPosition().position);
  await stopGroup(m, [other], [holder.journal]);
});

test('a duty holder that hangs with its socket open holds up no send: the other slave\'s coalesced, deferred copy acknowledges it', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 2 });
  // Long idle timeouts: the hung holder must still be attached when the sends complete, so they
  // cannot have waited for it to be dropped.
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1', idleTimeoutMs: 120_000 });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2', idleTimeoutMs: 120_000 });
  try {
    await m.store.open();
    await waitFor('the sync duty assigned', () => Object.values(duty(m)).filter(Boolean).length === 1);
    const holderId = duty(m).s1 ? 's1' : 's2';
    const holder = holderId === 's1' ? s1 : s2;
    const other = holder === s1 ? s2 : s1;
    const socket = (holder.client as unknown as { socket: net.Socket }).socket;
    socket.pause(); // reads nothing more, acknowledges nothing new, keeps the connection
    const frozenAt = holder.journal.lastPosition().position;
    for (let i = 0; i < 10; i++) await m.store.write(addOps(1 + i * 2, 2, 300));
    const end = m.journal.lastPosition().position;
    assert.equal(holder.journal.lastPosition().position, frozenAt, 'the hung holder got nothing');
    assert.ok(other.journal.syncedPosition >= end, 'every acknowledged send is on the other slave\'s disk');
    assert.equal(duty(m)[holderId], true, 'the hung holder is still attached and still holds the duty');
    socket.resume();
    await waitFor('the holder catches up once it reads again', () => holder.journal.syncedPosition === m.journal.lastPosition().position);
    assert.ok(logBytes(holder.journal, frozenAt, end).equals(logBytes(m.journal, frozenAt, end)), 'the holder\'s log matches the master\'s');
  } finally {
    await stopGroup(m, [s1, s2]);
  }
});
