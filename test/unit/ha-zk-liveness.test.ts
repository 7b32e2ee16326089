import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionLiveness } from '../../src/ha/zookeeper/liveness.js';

const T = 3000;

test('probe interval is T/6 and suspension comes at 2/3 of T', () => {
  const l = new SessionLiveness(T, 0);
  assert.equal(l.probeIntervalMs, 500);
  assert.equal(l.suspendAfterMs, 2000);
});

test('answers keep the session connected; silence suspends at 2/3 T, then loses it at T', () => {
  const l = new SessionLiveness(T, 0);
  for (let now = 500; now <= 10_000; now += 500) {
    assert.equal(l.check(now), null);
    l.onAnswer(now);
  }
  assert.equal(l.state, 'connected');
  // Last answer at 10_000; the server freezes.
  assert.equal(l.check(11_500), null);
  const s = l.check(12_000);
  assert.equal(s?.to, 'suspended');
  assert.equal(s?.silentMs, 2000);
  assert.equal(l.check(12_500), null, 'suspended is reported once');
  const lost = l.check(13_000);
  assert.equal(lost?.to, 'lost');
  assert.equal(l.state, 'lost');
  // Nothing revives a lost session: the owner must open a new one.
  assert.equal(l.onAnswer(13_100), null);
  assert.equal(l.check(20_000), null);
  assert.equal(l.state, 'lost');
});

test('an answer after suspension reports reconnected', () => {
  const l = new SessionLiveness(T, 0);
  assert.equal(l.check(2100)?.to, 'suspended');
  const r = l.onAnswer(2400);
  assert.deepEqual(r, { to: 'reconnected', silentMs: 2400 });
  assert.equal(l.state, 'connected');
});

test('a dropped connection suspends at once; reconnecting within the session resumes it', () => {
  const l = new SessionLiveness(T, 0);
  assert.equal(l.onDisconnected(100)?.to, 'suspended');
  // A stale answer while disconnected does not count as reconnection.
  assert.equal(l.onAnswer(150), null);
  assert.equal(l.state, 'suspended');
  assert.equal(l.onConnected(900)?.to, 'reconnected');
  assert.equal(l.state, 'connected');
});

test('expiry reported by the client loses the session at once', () => {
  const l = new SessionLiveness(T, 0);
  const e = l.onExpired(50);
  assert.equal(e?.to, 'lost');
  assert.match(e!.to === 'lost' ? e!.why : '', /expired/);
  assert.equal(l.onExpired(60), null);
});

test('an answer counts from when its request was sent: a reply read after a long pause does not refresh the session', () => {
  const l = new SessionLiveness(3000, 0);
  // A probe sent at t=500 whose answer is only read at t=9500 (the process was SIGSTOPped).
  l.onAnswer(9500, 500);
  assert.equal(l.silentMs(9500), 9000);
  assert.equal(l.isFresh(9500), false, 'the session may have expired meanwhile');
  // A fresh round trip proves it again.
  l.onAnswer(9520, 9510);
  assert.equal(l.isFresh(9520), true);
  assert.equal(l.isFresh(9510 + 2000), false, 'fresh only within 2/3 of the timeout');
});
