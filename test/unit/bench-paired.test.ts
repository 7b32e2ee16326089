import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockOrder, cpuMsFromStat, summarizeBlocks } from '../../bench/paired-stats.js';

test('cpuMsFromStat reads utime and stime after the command name, even one with spaces and parentheses', () => {
  const fields = ['S', '1', '2', '3', '0', '-1', '4194560', '100', '0', '0', '0', '250', '50', '0', '0'];
  assert.deepEqual(cpuMsFromStat(`1234 (node) ${fields.join(' ')}`), { user: 2500, sys: 500 });
  assert.deepEqual(cpuMsFromStat(`1234 (my (odd) name) ${fields.join(' ')}`), { user: 2500, sys: 500 });
  assert.deepEqual(cpuMsFromStat(`1234 (node) ${fields.join(' ')}`, 1000), { user: 250, sys: 50 });
  assert.throws(() => cpuMsFromStat('garbage'), /not a \/proc/);
});

test('blockOrder rotates, so each broker goes first in turn', () => {
  assert.deepEqual([0, 1, 2, 3].map((b) => blockOrder(['s', 'g'], b)), [['s', 'g'], ['g', 's'], ['s', 'g'], ['g', 's']]);
  assert.deepEqual(blockOrder(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
  assert.deepEqual(blockOrder([], 3), []);
});

test('summarizeBlocks weighs blocks by their time and divides CPU by all messages', () => {
  const rows = summarizeBlocks(
    [
      { broker: 'single', messages: 100, perSec: 1000, cpuMs: { broker: 10 } },
      { broker: 'group', messages: 100, perSec: 500, cpuMs: { master: 20, slave1: 5 } },
      // A slow spell: 100 messages at 250/s take 0.4 s, so the single node's rate is 200/0.5 s.
      { broker: 'single', messages: 100, perSec: 250, cpuMs: { broker: 30 } },
      { broker: 'group', messages: 100, perSec: 250, cpuMs: { master: 40, slave1: 5 } },
    ],
    'single',
  );
  const single = rows.find((r) => r.broker === 'single')!;
  const group = rows.find((r) => r.broker === 'group')!;
  assert.equal(single.perSec, 400);
  assert.equal(group.perSec, 333);
  assert.equal(single.ratio, 1);
  assert.equal(group.ratio, 0.833);
  assert.deepEqual(single.cpuUsPerMessage, { broker: 200 });
  assert.deepEqual(group.cpuUsPerMessage, { master: 300, slave1: 50 });
  assert.throws(() => summarizeBlocks([{ broker: 'x', messages: 1, perSec: 0, cpuMs: {} }], 'x'), /positive rate/);
});
