import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryUsage } from '../../src/broker/flow-control.js';
import { DuplicateFilter } from '../../src/broker/duplicate-filter.js';

test('memory usage: waiters resolve only when this usage and its parent are under their limits', async () => {
  const broker = new MemoryUsage('broker', 100);
  const dest = new MemoryUsage('dest', 50, broker);
  const other = new MemoryUsage('other', undefined, broker);
  dest.add(60);
  let destFree = false;
  const w = dest.waitForSpace().then(() => (destFree = true));
  other.add(50);
  assert.equal(broker.used, 110);
  assert.equal(other.isFull(), true, 'the broker limit applies to every destination');
  let otherFree = false;
  const w2 = other.waitForSpace().then(() => (otherFree = true));
  await Promise.resolve();
  assert.equal(destFree, false);
  dest.release(20); // dest 40 < 50, broker 90 < 100
  await w;
  await w2;
  assert.equal(destFree && otherFree, true);
});

test('memory usage: dispose pays the parent back once, later releases do not double count', () => {
  const broker = new MemoryUsage('broker', undefined);
  const q = new MemoryUsage('q', undefined, broker);
  q.add(30);
  q.dispose();
  assert.equal(broker.used, 0);
  broker.add(10);
  q.release(30);
  assert.equal(broker.used, 10);
});

test('duplicate filter: marks rise, undo restores, and the oldest producers are forgotten first', () => {
  const f = new DuplicateFilter(new Map([['P', 5]]), 2);
  assert.equal(f.isDuplicate('P', 5), true);
  assert.equal(f.isDuplicate('P', 6), false);
  assert.equal(f.isDuplicate(undefined, 1), false);
  const undo = f.accept('P', 6);
  assert.equal(f.isDuplicate('P', 6), true);
  undo();
  assert.equal(f.isDuplicate('P', 6), false);
  f.accept('Q', 1);
  f.accept('R', 1); // evicts P, the least recently used
  assert.equal(f.isDuplicate('P', 5), false);
  assert.equal(f.isDuplicate('R', 1), true);
});
