import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { percentile, ratePerSec, roundForReport, summarizeLatencies } from '../../bench/stats.js';

test('nearest-rank percentiles of 1..100', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile(xs, 0), 1);
  assert.equal(percentile(xs, 1), 1);
  assert.equal(percentile(xs, 1.5), 2);
});

test('percentiles of small samples pick an observed value', () => {
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2], 50), 1);
  assert.equal(percentile([1, 2], 51), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], Number.NaN), RangeError);
});

test('percentile is an observed sample, monotone in p, and bounded by min and max', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (xs, p, q) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const a = percentile(sorted, Math.min(p, q));
      const b = percentile(sorted, Math.max(p, q));
      assert.ok(sorted.includes(a));
      assert.ok(a <= b);
      assert.ok(sorted[0] <= a && b <= sorted[sorted.length - 1]);
      // At least p% of samples are at or below the p-th percentile.
      assert.ok(sorted.filter((x) => x <= a).length >= (Math.min(p, q) / 100) * sorted.length);
    }),
  );
});

test('summarizeLatencies sorts numerically, not as strings', () => {
  const s = summarizeLatencies([10, 9, 100, 2, 1]);
  assert.equal(s.p50Ms, 9);
  assert.equal(s.maxMs, 100);
  assert.equal(s.meanMs, 24.4);
  assert.equal(s.p99Ms, 100);
});

test('rates and rounding', () => {
  assert.equal(ratePerSec(500, 250), 2000);
  assert.ok(Number.isNaN(ratePerSec(5, 0)));
  assert.equal(roundForReport(1234.56), 1235);
  assert.equal(roundForReport(123.456), 123.5);
  assert.equal(roundForReport(12.3456), 12.35);
  assert.equal(roundForReport(1.23456), 1.235);
});
