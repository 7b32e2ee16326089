import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignSyncDuty, type DutyCandidate } from '../../src/ha/replication/sync-duty.js';

const c = (key: string, synced: number, connectedAt: number): DutyCandidate => ({ key, synced, connectedAt });

test('assignSyncDuty: who must fdatasync before acknowledging', () => {
  const table: Array<{ name: string; needed: number; current: string[]; candidates: DutyCandidate[]; want: string[] }> = [
    { name: 'a *_mem or local level needs no slave disk', needed: 0, current: ['a'], candidates: [c('a', 10, 1), c('b', 10, 2)], want: [] },
    { name: 'no slaves streaming', needed: 1, current: [], candidates: [], want: [] },
    { name: 'the most caught-up slave first', needed: 1, current: [], candidates: [c('a', 10, 1), c('b', 20, 2)], want: ['b'] },
    { name: 'equal positions: the longest connected', needed: 1, current: [], candidates: [c('a', 10, 5), c('b', 10, 2)], want: ['b'] },
    { name: 'equal positions and times: by key, so the answer is stable', needed: 1, current: [], candidates: [c('b', 10, 2), c('a', 10, 2)], want: ['a'] },
    { name: 'the holder keeps the duty although another is further on', needed: 1, current: ['a'], candidates: [c('a', 10, 1), c('b', 20, 2)], want: ['a'] },
    { name: 'a holder that left is replaced', needed: 1, current: ['gone'], candidates: [c('a', 10, 1), c('b', 20, 2)], want: ['b'] },
    { name: 'replicas=5 needs two slave disks', needed: 2, current: ['c'], candidates: [c('a', 30, 1), c('b', 20, 2), c('c', 10, 3), c('d', 40, 4)], want: ['c', 'd'] },
    { name: 'fewer slaves than needed: all of them', needed: 2, current: [], candidates: [c('a', 1, 1)], want: ['a'] },
  ];
  for (const row of table) {
    const got = assignSyncDuty(row.needed, new Set(row.current), row.candidates);
    assert.deepEqual([...got].sort(), [...row.want].sort(), row.name);
  }
});
