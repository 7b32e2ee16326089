import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickMedianRound } from '../../bench/rounds.js';

test('throughput scenarios report the median round by perSec', () => {
  const rounds = [{ perSec: 900 }, { perSec: 1500 }, { perSec: 1100 }];
  assert.deepEqual(pickMedianRound('receipted-1p', rounds), { index: 2, metric: 'perSec' });
});

test('the latency scenario ranks rounds by p99', () => {
  const rounds = [{ perSec: 1000, p99Ms: 30 }, { perSec: 1000, p99Ms: 2 }, { perSec: 1000, p99Ms: 9 }];
  assert.deepEqual(pickMedianRound('latency', rounds), { index: 2, metric: 'p99Ms' });
});

test('an even count takes the lower median, a single round is itself, rounds without the metric rank last', () => {
  assert.equal(pickMedianRound('pipelined-1p', [{ perSec: 4 }, { perSec: 1 }, { perSec: 3 }, { perSec: 2 }]).index, 3);
  assert.equal(pickMedianRound('consume-ci', [{ perSec: 7 }]).index, 0);
  assert.equal(pickMedianRound('consume-ci', [{ perSec: null }, { perSec: 5 }, { perSec: 6 }]).index, 2);
  assert.throws(() => pickMedianRound('consume-ci', []), RangeError);
});
