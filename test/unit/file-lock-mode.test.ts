import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JournalPersistence } from '../../src/config/types.js';
import { SharedFileMode } from '../../src/ha/file-lock/shared-file-mode.js';
import type { HaEvents } from '../../src/ha/ha-mode.js';
import type { MessageStore } from '../../src/store/message-store.js';
import { QmqError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import { waitFor } from '../helpers/wait.js';

// Two modes in one process stand for two brokers: OFD locks and LevelDB's lock both conflict
// inside one process as they do between processes.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-sfmode-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

function journal(directory: string, over: Partial<JournalPersistence> = {}): JournalPersistence {
  return { kind: 'journal', flavour: 'default', directory, journalMaxFileLengthBytes: 256 * 1024, checkpointIntervalMs: 0, enableJournalDiskSyncs: true, lockKeepAlivePeriodMs: 100, lockAcquireSleepIntervalMs: 100, ...over };
}

/** Plays the node: opens the store it is handed (as BrokerCore does), closes it on demotion. */
class FakeNode implements HaEvents {
  store: MessageStore | undefined;
  epochs: number[] = [];
  demotions: string[] = [];
  async elected(epoch: number, store: MessageStore): Promise<void> {
    await store.open();
    this.store = store;
    this.epochs.push(epoch);
  }
  async demoted(reason: string): Promise<void> {
    this.demotions.push(reason);
    const s = this.store;
    this.store = undefined;
    await s?.close();
  }
  async stop(mode: SharedFileMode): Promise<void> {
    await this.store?.close();
    this.store = undefined;
    await mode.stop();
  }
}

function mode(dir: string, id: string, over: Partial<JournalPersistence> = {}): SharedFileMode {
  return new SharedFileMode({ config: journal(dir, over), nodeId: id, logger: silentLogger, storeRetryMs: 20 });
}

const op = (seq: number) => [{ type: 'producer-seq' as const, producerId: 'p', seq }];

test('the first mode is master at once; the second waits, then takes over at once on a graceful stop with a higher epoch', async () => {
  const dir = path.join(root, `s${n++}`);
  const a = mode(dir, 'a');
  const nodeA = new FakeNode();
  await a.start(nodeA);
  assert.equal(a.status().role, 'master');
  assert.deepEqual(nodeA.epochs, [1]);
  await nodeA.store!.write(op(1));

  const b = mode(dir, 'b');
  const nodeB = new FakeNode();
  await b.start(nodeB);
  const st = b.status();
  assert.equal(st.role, 'standby');
  assert.match(st.reason ?? '', /waiting for the lock on .*lock, held by a \(epoch 1\)/);
  assert.deepEqual((st.details as { lockHolder: { nodeId: string; epoch: number } }).lockHolder.nodeId, 'a');

  const stoppedAt = Date.now();
  await nodeA.stop(a);
  await waitFor('b to become master', () => b.status().role === 'master', 3000, 5);
  const takeoverMs = Date.now() - stoppedAt;
  assert.ok(takeoverMs < 1000, `takeover took ${takeoverMs} ms`);
  assert.deepEqual(nodeB.epochs, [2]);
  assert.equal((b.status().details as { lockHolder: { epoch: number } }).lockHolder.epoch, 2);
  await nodeB.store!.write(op(2));
  await nodeB.stop(b);
});

test('failIfLocked makes a locked store a startup error that names the holder', async () => {
  const dir = path.join(root, `s${n++}`);
  const a = mode(dir, 'holder-a');
  const nodeA = new FakeNode();
  await a.start(nodeA);
  const b = mode(dir, 'b', { failIfLocked: true });
  await assert.rejects(b.start(new FakeNode()), (e: unknown) => e instanceof QmqError && e.codeName === 'STORE_LOCKED' && /locked by holder-a \(epoch 1\).*failIfLocked/.test(e.message));
  await nodeA.stop(a);
});

test('a master whose lock file is deleted and recreated is fenced at its next write and demotes; the waiter takes the new file', async () => {
  const dir = path.join(root, `s${n++}`);
  const a = mode(dir, 'a', { lockKeepAlivePeriodMs: 60_000 });
  const nodeA = new FakeNode();
  await a.start(nodeA);
  const storeA = nodeA.store!;
  await storeA.write(op(1));
  const b = mode(dir, 'b');
  const nodeB = new FakeNode();
  await b.start(nodeB);

  const lockFile = path.join(dir, 'lock');
  fs.unlinkSync(lockFile);
  fs.writeFileSync(lockFile, '');
  // As when the master is paused: b notices the new file, locks it, and waits for the store,
  // which a still has open.
  await waitFor('b to lock the new file', () => (b.status().details as { state: string }).state === 'taking-over', 3000, 5);
  // The keep-alive is a minute away: the journal's own check before the write catches it.
  await assert.rejects(storeA.write(op(2)), (e: unknown) => e instanceof QmqError && e.codeName === 'FENCED');
  await waitFor('a to demote', () => nodeA.demotions.length === 1, 3000, 5);
  assert.match(nodeA.demotions[0], /lock file .* was (deleted|replaced)/);
  await waitFor('b to take over the new lock file', () => b.status().role === 'master', 5000, 5);
  assert.deepEqual(nodeB.epochs, [2]);
  assert.equal(a.status().role, 'standby');
  assert.match(a.status().reason ?? '', /held by b \(epoch 2\)/);
  await nodeB.store!.write(op(3));
  await nodeB.stop(b);
  // a waits again and gets it back with the next epoch.
  await waitFor('a to be master again', () => a.status().role === 'master', 5000, 5);
  assert.deepEqual(nodeA.epochs, [1, 3]);
  await nodeA.stop(a);
});

test('the keep-alive demotes a master whose lock file was rewritten by someone else, without any write', async () => {
  const dir = path.join(root, `s${n++}`);
  const a = mode(dir, 'a', { lockKeepAlivePeriodMs: 50 });
  const nodeA = new FakeNode();
  await a.start(nodeA);
  fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ nodeId: 'intruder', epoch: 9, acquiredAtMs: 0 }));
  await waitFor('a to demote', () => nodeA.demotions.length === 1, 2000, 5);
  assert.match(nodeA.demotions[0], /now names intruder at epoch 9/);
  // It still holds the kernel lock of the same file? No: it released it and waits again, so it
  // takes the lock back at once, with an epoch above the intruder's.
  await waitFor('a to be master again', () => nodeA.epochs.length === 2, 3000, 5);
  assert.equal(nodeA.epochs[1], 10);
  await nodeA.stop(a);
});
