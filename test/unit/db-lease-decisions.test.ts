import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EXPIRY_MARGIN_MS,
  MIN_POLL_MS,
  leaseTimingError,
  masterDeadlineMs,
  reconnectBackoffMs,
  standbyReason,
  standbyWaitMs,
} from '../../src/ha/db-lease/lease-decisions.js';

const timing = { keepAliveMs: 1000, leaseMs: 3000 };

test('lease timing: a keep-alive not shorter than the lease, or zero, is refused with a suggestion', () => {
  assert.equal(leaseTimingError({ keepAliveMs: 1000, leaseMs: 3000 }), undefined);
  assert.equal(leaseTimingError({ keepAliveMs: 2999, leaseMs: 3000 }), undefined);
  assert.match(leaseTimingError({ keepAliveMs: 3000, leaseMs: 3000 })!, /lockKeepAlivePeriod \(3000 ms\) must be shorter than lockAcquireSleepInterval \(3000 ms.*e\.g\. lockKeepAlivePeriod="1000"/);
  assert.match(leaseTimingError({ keepAliveMs: 30000, leaseMs: 10000 })!, /lapses between renewals/);
  assert.match(leaseTimingError({ keepAliveMs: 0, leaseMs: 10000 })!, /lockKeepAlivePeriod must be above 0/);
  assert.match(leaseTimingError({ keepAliveMs: 10, leaseMs: 0 })!, /lockAcquireSleepInterval .* must be above 0/);
});

test('standby wait: retry right after the lease would expire, never more than a lease, never a busy loop', () => {
  const cases: Array<[holder: string | null, remainingMs: number, expected: number]> = [
    [null, 5000, MIN_POLL_MS], // free: take it now
    ['a', -10, MIN_POLL_MS], // expired: take it now
    ['a', 0, MIN_POLL_MS],
    ['a', 1, 1 + EXPIRY_MARGIN_MS],
    ['a', 1000, 1000 + EXPIRY_MARGIN_MS],
    ['a', 2900, 2900 + EXPIRY_MARGIN_MS],
    ['a', 2999, 3000], // capped at one lease (ActiveMQ polls every lockAcquireSleepInterval)
    ['a', 60_000, 3000], // a lease longer than ours (another broker's config) still gets polled
  ];
  for (const [holder, remainingMs, expected] of cases) {
    assert.equal(standbyWaitMs({ holder, epoch: 4, remainingMs }, timing), expected, `${holder} ${remainingMs}`);
  }
});

test('master deadline: one lease after the renewal was sent (before the database could have expired it)', () => {
  assert.equal(masterDeadlineMs(10_000, timing), 13_000);
});

test('reconnect backoff doubles and is capped by the lease length and 5 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => reconnectBackoffMs(n, timing)), [100, 200, 400, 800, 1600, 3000]);
  assert.equal(reconnectBackoffMs(50, { keepAliveMs: 1000, leaseMs: 60_000 }), 5000);
  assert.equal(reconnectBackoffMs(1000, timing), 3000);
});

test('standby reasons name the holder, epoch and expiry', () => {
  assert.equal(standbyReason({ holder: 'b1@h:1:ab', epoch: 3, remainingMs: 1500 }, 'me'), 'waiting for the lease held by b1@h:1:ab (epoch 3, expires in 1500 ms)');
  assert.match(standbyReason({ holder: 'b1', epoch: 3, remainingMs: -20 }, 'me'), /expired 20 ms ago; taking it/);
  assert.match(standbyReason({ holder: null, epoch: 0, remainingMs: 0 }, 'me'), /free/);
  assert.match(standbyReason({ holder: 'me', epoch: 9, remainingMs: 100 }, 'me'), /re-taking our own lease/);
});
