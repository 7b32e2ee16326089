import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearUnconfirmedEpoch, electionPosition, noteUnconfirmedEpoch, readUnconfirmedEpoch } from '../../src/ha/unconfirmed-epoch.js';

test('electionPosition: unconfirmed trailing markers do not count; anything after them ends the exception', () => {
  const before = { epoch: 18, position: 3726459 };
  const cases = [
    { name: 'no unconfirmed marker', own: { epoch: 19, position: 500 }, u: null, want: { epoch: 19, position: 500 } },
    { name: 'our marker ends the log', own: { epoch: 20, position: 3726484 }, u: { epoch: 20, before }, want: before },
    { name: 'several failed takeovers: the newest marker ends the log', own: { epoch: 23, position: 3726534 }, u: { epoch: 23, before }, want: before },
    { name: 'the markers were cut and a master of a newer epoch streamed records', own: { epoch: 21, position: 3740019 }, u: { epoch: 20, before }, want: { epoch: 21, position: 3740019 } },
    { name: 'the markers were cut back to an older epoch', own: { epoch: 18, position: 3726459 }, u: { epoch: 20, before }, want: { epoch: 18, position: 3726459 } },
  ];
  for (const c of cases) assert.deepEqual(electionPosition(c.own, c.u), c.want, c.name);
});

test('the unconfirmed epoch survives a restart, keeps the first position of a run of markers, and is cleared on confirmation', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-unconfirmed-'));
  try {
    assert.equal(readUnconfirmedEpoch(dir), null);
    const first = noteUnconfirmedEpoch(dir, 20, { epoch: 18, position: 100 }, null);
    assert.deepEqual(first, { epoch: 20, before: { epoch: 18, position: 100 } });
    // A second failed takeover on top of the first marker keeps the position before both.
    const second = noteUnconfirmedEpoch(dir, 22, { epoch: 20, position: 125 }, first);
    assert.deepEqual(second, { epoch: 22, before: { epoch: 18, position: 100 } });
    assert.deepEqual(readUnconfirmedEpoch(dir), second);
    fs.writeFileSync(path.join(dir, 'unconfirmed-epoch'), '{"epoch":2');
    assert.equal(readUnconfirmedEpoch(dir), null, 'a torn file reads as none');
    clearUnconfirmedEpoch(dir);
    assert.equal(readUnconfirmedEpoch(dir), null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
