import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failoverMs, firstLogTime, summarizeTrials, withMaxReconnectDelay, zkExpiryTime, type ClientEvent } from '../../bench/failover-stats.js';
import { median } from '../../bench/stats.js';

const OLD = 'tcp://127.0.0.1:1001';
const NEW = 'tcp://127.0.0.1:1002';

test('failover time runs from the kill to the first ack on another node', () => {
  const events: ClientEvent[] = [
    { kind: 'ack', atMs: 90, address: OLD },
    { kind: 'disconnected', atMs: 101, address: OLD },
    { kind: 'ack', atMs: 2600, address: NEW },
    { kind: 'ack', atMs: 2610, address: NEW },
  ];
  assert.equal(failoverMs(events, 100, OLD), 2500);
});

test('receipts from the dead master read after the kill do not count', () => {
  const events: ClientEvent[] = [
    { kind: 'ack', atMs: 105, address: OLD },
    { kind: 'ack', atMs: 106, address: OLD },
    { kind: 'disconnected', atMs: 107, address: OLD },
    { kind: 'ack', atMs: 3000, address: NEW },
  ];
  assert.equal(failoverMs(events, 100, OLD), 2900);
});

test('an ack while a reconnect is being restored counts only after the old connection dropped', () => {
  assert.equal(failoverMs([{ kind: 'ack', atMs: 150, address: undefined }], 100, OLD), undefined);
  const events: ClientEvent[] = [
    { kind: 'ack', atMs: 150, address: undefined },
    { kind: 'disconnected', atMs: 160, address: OLD },
    { kind: 'ack', atMs: 2200, address: undefined },
  ];
  assert.equal(failoverMs(events, 100, OLD), 2100);
  // A drop seen before the kill belongs to an earlier trial.
  assert.equal(failoverMs([{ kind: 'disconnected', atMs: 50, address: OLD }, { kind: 'ack', atMs: 150, address: undefined }], 100, OLD), undefined);
});

test('no ack on a new master yet: undefined', () => {
  assert.equal(failoverMs([], 0, OLD), undefined);
  assert.equal(failoverMs([{ kind: 'ack', atMs: 5, address: NEW }], 10, OLD), undefined);
});

test('trials are summed up by median, max and min; serving time only where it was seen', () => {
  const s = summarizeTrials([
    { failoverMs: 2900, servingMs: 2700 },
    { failoverMs: 2500, servingMs: undefined },
    { failoverMs: 4100, servingMs: 2300 },
    { failoverMs: 2600, servingMs: 2400 },
  ]);
  assert.equal(s.trials, 4);
  assert.equal(s.failoverMedianMs, 2750);
  assert.equal(s.failoverMaxMs, 4100);
  assert.equal(s.failoverMinMs, 2500);
  assert.equal(s.servingMedianMs, 2400);
  assert.deepEqual(s.failoverMsTrials, [2900, 2500, 4100, 2600]);
  assert.equal(summarizeTrials([{ failoverMs: 1, servingMs: undefined }]).servingMedianMs, null);
  assert.equal(s.electedMedianMs, null);
  const p = summarizeTrials([
    { failoverMs: 3000, servingMs: 2800, phases: { sessionExpiredMs: 2100, electedMs: 2400, portsOpenMs: 2700 } },
    { failoverMs: 3100, servingMs: 2900, phases: { sessionExpiredMs: 2300 } },
  ]);
  assert.equal(p.sessionExpiredMedianMs, 2200);
  assert.equal(p.electedMedianMs, 2400);
  assert.equal(p.portsOpenMedianMs, 2700);
  assert.throws(() => summarizeTrials([]), RangeError);
});

test('median: middle value, mean of the middle two for an even count, NaN for none', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('ZooKeeper session expiry lines are read in local time; other lines are not', () => {
  const line = '2026-11-25 14:42:29,132 [myid:3] - INFO  [SessionTracker:ZooKeeperServer@632] - Expiring session 0x10000a794860000, timeout of 2000ms exceeded';
  assert.equal(zkExpiryTime(line), new Date(2026, 10, 25, 14, 42, 29, 132).getTime());
  assert.equal(zkExpiryTime('2026-11-25 14:42:29,132 [myid:3] - INFO  [main] - Reading configuration'), undefined);
  assert.equal(zkExpiryTime(''), undefined);
});

test('the first matching JSON log line at or after a time gives its time', () => {
  const out = [
    JSON.stringify({ time: 100, msg: 'elected: epoch taken, replication server listening' }),
    'not json',
    '{"broken',
    JSON.stringify({ time: 500, msg: 'something else' }),
    JSON.stringify({ time: 900, msg: 'elected: epoch taken, replication server listening' }),
    JSON.stringify({ time: 950, msg: 'elected: epoch taken, replication server listening' }),
  ].join('\n');
  assert.equal(firstLogTime(out, /^elected: epoch taken/, 200), 900);
  assert.equal(firstLogTime(out, /^elected: epoch taken/, 0), 100);
  assert.equal(firstLogTime(out, /^never/, 0), undefined);
});

test('the bench failover URL caps the reconnect back-off and keeps every other option', () => {
  const url = 'failover:(tcp://h:1,tcp://h:2)?randomize=false&initialReconnectDelay=50&maxReconnectDelay=500&startupMaxReconnectAttempts=-1';
  assert.equal(
    withMaxReconnectDelay(url, 100),
    'failover:(tcp://h:1,tcp://h:2)?randomize=false&initialReconnectDelay=50&startupMaxReconnectAttempts=-1&maxReconnectDelay=100',
  );
  assert.equal(withMaxReconnectDelay('failover:(tcp://h:1)', 100), 'failover:(tcp://h:1)?maxReconnectDelay=100');
});
