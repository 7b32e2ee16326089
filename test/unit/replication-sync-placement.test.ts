import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syncOnLoop } from '../../src/ha/replication/sync-placement.js';

test('syncOnLoop: the master blocks its loop for the flush only when nothing else could use the loop', () => {
  const table: Array<{ name: string; localSyncRequired: boolean; waitingWrites: number; groupBatches: number; want: boolean }> = [
    { name: 'one producer waiting for its receipt at quorum_disk', localSyncRequired: true, waitingWrites: 1, groupBatches: 1, want: true },
    { name: 'every waiting send is in this group', localSyncRequired: true, waitingWrites: 16, groupBatches: 16, want: true },
    { name: 'the epoch marker, before any send waits', localSyncRequired: true, waitingWrites: 0, groupBatches: 1, want: true },
    { name: 'an earlier group still waits for a slave ack', localSyncRequired: true, waitingWrites: 2, groupBatches: 1, want: false },
    { name: '16 producers, half of them in the group before', localSyncRequired: true, waitingWrites: 16, groupBatches: 8, want: false },
    { name: 'quorum_mem: our flush is not on the send path, so it never blocks acks', localSyncRequired: false, waitingWrites: 1, groupBatches: 1, want: false },
    { name: 'remote_disk with nothing else waiting', localSyncRequired: false, waitingWrites: 0, groupBatches: 3, want: false },
  ];
  for (const row of table) assert.equal(syncOnLoop(row), row.want, row.name);
});
