import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateTargets, FAILOVER_GOAL_MS, ratio, ratioLines, takesPart, type ResultTable } from '../../bench/targets.js';

const allMet: ResultTable = {
  ceiling: { ceiling: { perSec: 2000 } },
  'receipted-1p': { subject: { perSec: 1900 }, peer: { perSec: 1400 }, replicated: { perSec: 950 } },
  'pipelined-1p': { subject: { perSec: 45_000 }, peer: { perSec: 15_000 } },
  'concurrent-16p': { subject: { perSec: 30_000 }, peer: { perSec: 9_000 }, replicated: { perSec: 21_000 } },
  'consume-ci': { subject: { perSec: 31_000 }, peer: { perSec: 10_000 } },
  latency: { subject: { p99Ms: 5 }, peer: { p99Ms: 5 } },
  'backlog-rss': { subject: { rssMB: 300, messages: 1_000_000 }, peer: { rssMB: 600 } },
  recovery: { subject: { recoveryMs: 10_000, messages: 1_000_000 }, peer: { recoveryMs: 4000 } },
  // The failover goal is strict: under zkSessionTimeout + 1 s.
  failover: { replicated: { failoverMedianMs: 2_999, failoverMaxMs: 4_000 } },
};

test('ratio is subject over peer, undefined when either side is missing or zero', () => {
  assert.equal(ratio(3, 2), 1.5);
  assert.equal(ratio(undefined, 2), undefined);
  assert.equal(ratio(3, undefined), undefined);
  assert.equal(ratio(3, 0), undefined);
  assert.equal(ratio(Number.NaN, 2), undefined);
});

test('every target is met exactly at its boundary', () => {
  const v = evaluateTargets(allMet);
  assert.equal(v.length, 11);
  for (const t of v) assert.equal(t.met, true, `${t.target}: ${t.value}`);
  assert.equal(v.find((t) => t.target === 'receipted sends vs ceiling probe')?.value, 0.95);
});

test('each target can be missed on its own', () => {
  const misses: Array<[string, (t: ResultTable) => void]> = [
    ['receipted sends vs ActiveMQ', (t) => (t['receipted-1p']!.peer!.perSec = 1500)],
    ['receipted sends vs ceiling probe', (t) => (t.ceiling!.ceiling!.perSec = 2200)],
    ['pipelined sends vs ActiveMQ', (t) => (t['pipelined-1p']!.peer!.perSec = 15_001)],
    ['16 producers vs ActiveMQ', (t) => (t['concurrent-16p']!.subject!.perSec = 26_999)],
    ['consume vs ActiveMQ', (t) => (t['consume-ci']!.subject!.perSec = 29_000)],
    ['p99 latency vs ActiveMQ', (t) => (t.latency!.subject!.p99Ms = 5.01)],
    ['RSS with the backlog', (t) => (t['backlog-rss']!.subject!.rssMB = 301)],
    ['recovery of the backlog', (t) => (t.recovery!.subject!.recoveryMs = 10_001)],
    ['receipted sends at quorum_disk vs single node', (t) => (t['receipted-1p']!.replicated!.perSec = 949)],
    ['16 producers at quorum_disk vs single node', (t) => (t['concurrent-16p']!.replicated!.perSec = 20_999)],
    ['failover, kill -9 to first acknowledged send (median)', (t) => (t.failover!.replicated!.failoverMedianMs = 3_000)],
  ];
  for (const [name, spoil] of misses) {
    const t = structuredClone(allMet);
    spoil(t);
    const v = evaluateTargets(t);
    assert.deepEqual(v.filter((x) => x.met === false).map((x) => x.target), [name]);
  }
});

test('targets not measured in this run are null, not missed', () => {
  const v = evaluateTargets({ 'receipted-1p': { subject: { perSec: 1000 } }, 'backlog-rss': { subject: { rssMB: 120, messages: 20_000 } } });
  assert.equal(v.find((t) => t.target === 'receipted sends vs ActiveMQ')?.met, null);
  assert.equal(v.find((t) => t.target === 'p99 latency vs ActiveMQ')?.met, null);
  const rss = v.find((t) => t.target === 'RSS with the backlog')!;
  assert.equal(rss.met, true);
  assert.match(rss.note ?? '', /20000 messages/);
});

test('ratio lines cover every compared scenario and say which way is better', () => {
  const lines = ratioLines(allMet);
  assert.deepEqual(lines.map((l) => l.scenario), ['receipted-1p', 'pipelined-1p', 'concurrent-16p', 'consume-ci', 'latency', 'backlog-rss', 'recovery']);
  const pipelined = lines.find((l) => l.scenario === 'pipelined-1p')!;
  assert.equal(pipelined.ratio, 3);
  assert.equal(pipelined.higherIsBetter, true);
  assert.equal(lines.find((l) => l.scenario === 'latency')!.higherIsBetter, false);
  assert.equal(lines.find((l) => l.scenario === 'recovery')!.ratio, 2.5);
  assert.deepEqual(ratioLines({ latency: { subject: { p99Ms: 3 } } }), []);
});

test('the replicated targets compare the group with the single node of the same run, not with ActiveMQ', () => {
  // A faster ActiveMQ must not change the verdict on the price of replication.
  const t = structuredClone(allMet);
  t['receipted-1p']!.peer!.perSec = 1_000_000;
  const v = evaluateTargets(t).find((x) => x.target === 'receipted sends at quorum_disk vs single node')!;
  assert.equal(v.value, 0.5);
  assert.equal(v.met, true);
  // Without the single-node figure there is nothing to compare with.
  const alone = evaluateTargets({ 'receipted-1p': { replicated: { perSec: 500 } }, failover: {} });
  assert.equal(alone.find((x) => x.target === 'receipted sends at quorum_disk vs single node')!.met, null);
  assert.equal(alone.find((x) => x.scenario === 'failover')!.met, null);
  assert.equal(FAILOVER_GOAL_MS, 3_000);
});

test('replicated ratio lines are group over single node for the scenarios both ran', () => {
  const lines = ratioLines(allMet, 'replicated', 'subject');
  assert.deepEqual(lines.map((l) => [l.scenario, l.ratio, l.subject, l.peer]), [
    ['receipted-1p', 0.5, 950, 1900],
    ['concurrent-16p', 0.7, 21_000, 30_000],
  ]);
});

test('only the replicated group runs failover, and it runs only the scenarios its targets need', () => {
  assert.equal(takesPart('replicated', 'failover'), true);
  assert.equal(takesPart('replicated', 'receipted-1p'), true);
  assert.equal(takesPart('replicated', 'concurrent-16p'), true);
  assert.equal(takesPart('replicated', 'pipelined-1p'), false);
  assert.equal(takesPart('replicated', 'recovery'), false);
  assert.equal(takesPart('subject', 'failover'), false);
  assert.equal(takesPart('peer', 'failover'), false);
  assert.equal(takesPart('subject', 'latency'), true);
});
