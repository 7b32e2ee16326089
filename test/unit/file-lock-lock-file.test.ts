import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { LockFile } from '../../src/ha/file-lock/lock-file.js';
import { QmqError } from '../../src/util/errors.js';
import { waitFor } from '../helpers/wait.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-lockfile-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => path.join(root, `store-${n++}`);

// OFD locks conflict between two descriptions even in one process, so these tests see the same
// exclusion two broker processes would.

test('one description holds the lock; a second cannot take it until the first closes', () => {
  const dir = newDir();
  const a = LockFile.open(dir);
  const b = LockFile.open(dir);
  assert.equal(a.tryLock(), true);
  assert.equal(b.tryLock(), false);
  a.close();
  assert.equal(b.tryLock(), true);
  b.close();
});

test('waitForLock wakes as soon as the holder closes, and does not block the thread pool', async () => {
  const dir = newDir();
  const a = LockFile.open(dir);
  assert.ok(a.tryLock());
  const waiters = [LockFile.open(dir), LockFile.open(dir), LockFile.open(dir), LockFile.open(dir), LockFile.open(dir)];
  let woke = 0;
  const waits = waiters.map((w) => w.waitForLock().then(() => {
    woke++;
    w.close();
  }));
  // Five blocked waiters: libuv's pool has four threads, so a pool-based wait would stall this read.
  const t0 = Date.now();
  await readFile(path.join(dir, 'lock'));
  assert.ok(Date.now() - t0 < 500, 'file I/O must not wait behind the lock waiters');
  assert.equal(woke, 0);
  const released = Date.now();
  a.close();
  await Promise.all(waits);
  assert.equal(woke, 5);
  assert.ok(Date.now() - released < 1000, `waiters took ${Date.now() - released} ms to wake`);
});

test('the holder writes its record, fsynced, and a waiter reads it', () => {
  const dir = newDir();
  const a = LockFile.open(dir);
  assert.ok(a.tryLock());
  a.write({ nodeId: 'a@h:1', epoch: 3, acquiredAtMs: 5 });
  a.write({ nodeId: 'a@h:1', epoch: 4, acquiredAtMs: 6 });
  const b = LockFile.open(dir);
  assert.deepEqual(b.read(), { kind: 'record', record: { nodeId: 'a@h:1', epoch: 4, acquiredAtMs: 6 } });
  assert.throws(() => b.write({ nodeId: 'b', epoch: 9, acquiredAtMs: 0 }), /without holding its lock/);
  a.close();
  b.close();
});

test('lostReason notices a deleted, replaced or rewritten lock file', () => {
  const dir = newDir();
  const rec = { nodeId: 'a@h:1', epoch: 2, acquiredAtMs: 0 };
  const a = LockFile.open(dir);
  assert.ok(a.tryLock());
  a.write(rec);
  assert.equal(a.lostReason(rec), null);
  assert.match(a.lostReason({ ...rec, epoch: 3 }) ?? '', /now names a@h:1 at epoch 2 \(this node holds epoch 3\)/);

  fs.unlinkSync(a.file);
  assert.match(a.lostReason(rec) ?? '', /was deleted/);
  fs.writeFileSync(a.file, '');
  assert.match(a.lostReason(rec) ?? '', /replaced by another file/);
  assert.equal(a.isCurrent(), false);
  a.close();

  // Rewritten in place (same file) with another holder's record.
  const c = LockFile.open(dir);
  assert.ok(c.tryLock());
  c.write(rec);
  fs.writeFileSync(c.file, JSON.stringify({ nodeId: 'x@h:9', epoch: 3, acquiredAtMs: 0 }));
  assert.match(c.lostReason(rec) ?? '', /now names x@h:9 at epoch 3/);
  fs.writeFileSync(c.file, '');
  assert.match(c.lostReason(rec) ?? '', /no longer names this node \(it is empty\)/);
  c.close();
});

test('close during a wait takes effect when the wait ends, releasing the lock at once', async () => {
  const dir = newDir();
  const a = LockFile.open(dir);
  assert.ok(a.tryLock());
  const b = LockFile.open(dir);
  const wait = b.waitForLock();
  b.close();
  a.close();
  await wait;
  assert.equal(b.isHeld, false);
  const c = LockFile.open(dir);
  await waitFor('the abandoned waiter to let go', () => c.tryLock(), 2000);
  c.close();
});

test('a lock directory that cannot be created or written is a clear STORE_IO error', () => {
  const file = path.join(root, 'not-a-dir');
  fs.writeFileSync(file, 'x');
  assert.throws(
    () => LockFile.open(path.join(file, 'store')),
    (e: unknown) => e instanceof QmqError && e.codeName === 'STORE_IO' && /cannot create the store directory .*not-a-dir\/store/.test(e.message),
  );
  const dir = newDir();
  fs.mkdirSync(path.join(dir, 'lock'), { recursive: true });
  assert.throws(
    () => LockFile.open(dir),
    (e: unknown) => e instanceof QmqError && e.codeName === 'STORE_IO' && /cannot open the lock file .*lock for writing/.test(e.message),
  );
});
