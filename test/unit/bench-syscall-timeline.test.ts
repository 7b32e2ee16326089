import { test } from 'node:test';
import assert from 'node:assert/strict';
import { breakDownSend, breakDownSingle, parseSyncLine } from '../../bench/syscall-timeline.js';

test('strace lines: completed fdatasync/fsync with epoch time and duration, nothing else', () => {
  assert.deepEqual(parseSyncLine('4711 1764081809.500000 fdatasync(18) = 0 <0.008000>'), { startMs: 1764081809500, endMs: 1764081809508 });
  assert.deepEqual(parseSyncLine('[pid  4711] 1.250000 fsync(3)     = 0 <0.001000>'), { startMs: 1250, endMs: 1251 });
  assert.deepEqual(parseSyncLine('11557979.500 ( 9.750 ms): node/939 fdatasync(fd: 18)                  = 0'), { startMs: 11557979.5, endMs: 11557989.25 });
  assert.equal(parseSyncLine('11557979.500 ( 9.750 ms): node/939 fdatasync(fd: 18)                  = -1 EIO (Input/output error)'), undefined);
  assert.equal(parseSyncLine('4711 1.25 fdatasync(18 <unfinished ...>'), undefined);
  assert.equal(parseSyncLine('4711 1.25 write(18, "x", 1) = 1 <0.000010>'), undefined);
  assert.equal(parseSyncLine('4711 1.25 +++ exited with 0 +++'), undefined);
});

test('a send whose slave syncs only after the master finished is serial', () => {
  const b = breakDownSend({ startMs: 0, endMs: 20 }, [{ startMs: 1, endMs: 8 }], [{ startMs: 10, endMs: 17 }, { startMs: 11, endMs: 19 }])!;
  assert.equal(b.totalMs, 20);
  assert.equal(b.masterSyncMs, 7);
  assert.equal(b.slaveSyncMs, 7);
  assert.equal(b.beforeMasterSyncMs, 1);
  assert.equal(b.masterEndToSlaveStartMs, 2);
  assert.equal(b.afterSlaveSyncMs, 3);
  assert.equal(b.overlapped, false);
});

test('overlapping master and slave syncs are seen as such; syncs outside the send are ignored', () => {
  const b = breakDownSend({ startMs: 100, endMs: 110 }, [{ startMs: 101, endMs: 108 }, { startMs: 90, endMs: 99 }], [{ startMs: 103, endMs: 109 }])!;
  assert.equal(b.masterSyncMs, 7);
  assert.equal(b.masterEndToSlaveStartMs, -5);
  assert.equal(b.overlapped, true);
  assert.equal(breakDownSend({ startMs: 0, endMs: 5 }, [{ startMs: 1, endMs: 2 }], []), undefined);
});

test('a single node: time before, in and after its syncs', () => {
  assert.deepEqual(breakDownSingle({ startMs: 0, endMs: 10 }, [{ startMs: 2, endMs: 5 }, { startMs: 6, endMs: 7 }, { startMs: 11, endMs: 12 }]), { totalMs: 10, syncMs: 4, beforeSyncMs: 2, afterSyncMs: 3 });
  assert.equal(breakDownSingle({ startMs: 0, endMs: 10 }, []), undefined);
});
