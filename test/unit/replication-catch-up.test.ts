import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planCatchUp, agreedEnd, noteEpoch } from '../../src/ha/replication/catch-up-plan.js';
import type { EpochStart, LogShape } from '../../src/ha/replication/frames.js';

interface Rec {
  epoch: number;
  len: number;
}

/** The shape a journal scan reports: epochs of the records at or after `first`. */
function shape(records: Rec[], first: number, startAt = 0): LogShape {
  const epochs: EpochStart[] = [];
  let p = startAt;
  for (const r of records) {
    if (p >= first) noteEpoch(epochs, r.epoch, p);
    p += r.len;
  }
  return { first, end: p, epochs };
}

function boundaries(records: Rec[]): number[] {
  const out = [0];
  for (const r of records) out.push(out[out.length - 1] + r.len);
  return out;
}

/**
 * A common history, then two branches written by different masters: every epoch is written by
 * one master only, so the branches use disjoint epochs, at most one of them continuing the last
 * common epoch.
 */
const histories = fc
  .record({
    common: fc.array(fc.record({ de: fc.integer({ min: 0, max: 2 }), len: fc.integer({ min: 25, max: 300 }) }), { maxLength: 12 }),
    slave: fc.array(fc.record({ de: fc.integer({ min: 0, max: 2 }), len: fc.integer({ min: 25, max: 300 }) }), { maxLength: 8 }),
    master: fc.array(fc.record({ de: fc.integer({ min: 0, max: 2 }), len: fc.integer({ min: 25, max: 300 }) }), { maxLength: 8 }),
    slaveContinues: fc.boolean(),
    retainIndex: fc.nat(),
  })
  .map(({ common, slave, master, slaveContinues, retainIndex }) => {
    let e = 1;
    const c: Rec[] = common.map((r) => ({ epoch: (e += r.de), len: r.len }));
    const lastCommon = e;
    // Above the common part the slave's epochs are odd offsets and the master's even ones, so
    // they are disjoint; one of the two may first continue the last common epoch (offset 0).
    const branch = (rs: { de: number; len: number }[], continues: boolean, parity: 1 | 2): Rec[] => {
      let o = continues ? 0 : parity;
      return rs.map((r, i) => {
        if (i > 0 && r.de > 0) o = o === 0 ? parity : o + 2 * r.de;
        return { epoch: lastCommon + o, len: r.len };
      });
    };
    const s = branch(slave, slaveContinues, 1);
    const m = branch(master, !slaveContinues, 2);
    const masterLog = [...c, ...m];
    const b = boundaries(masterLog);
    const first = b[retainIndex % b.length];
    return { c, s, m, first };
  });

test('planCatchUp: stream from the divergence point, truncating a divergent tail, or snapshot when the master no longer holds it', () => {
  fc.assert(
    fc.property(histories, ({ c, s, m, first }) => {
      const d = c.reduce((n, r) => n + r.len, 0);
      const master = shape([...c, ...m], first);
      const slave = shape([...c, ...s], 0);
      const plan = planCatchUp(master, slave);
            let expected: { kind: string; from: number; truncateTo?: number | null };
      // Records before the master's oldest retained position can be vouched for only by an
      // agreeing record at or after it.
      if (first > 0 && d <= first) expected = { kind: 'snapshot', from: first };
      else expected = { kind: 'stream', from: d, truncateTo: s.length > 0 ? d : null };
      if (expected.kind === 'snapshot') assert.deepEqual({ kind: plan.kind, from: plan.from }, expected, plan.reason);
      else assert.deepEqual({ kind: plan.kind, from: plan.from, truncateTo: plan.kind === 'stream' ? plan.truncateTo : undefined }, expected, plan.reason);
    }),
    { numRuns: 2000 },
  );
});

test('agreedEnd is symmetric when both logs start at 0', () => {
  fc.assert(
    fc.property(histories, ({ c, s, m }) => {
      const a = shape([...c, ...m], 0);
      const b = shape([...c, ...s], 0);
      assert.equal(agreedEnd(a, b), agreedEnd(b, a));
      assert.equal(agreedEnd(a, b), c.reduce((n, r) => n + r.len, 0));
    }),
  );
});

test('a slave whose log starts after a snapshot streams on from its end', () => {
  const master: LogShape = { first: 1000, end: 5000, epochs: [{ epoch: 3, start: 1000 }, { epoch: 4, start: 4000 }] };
  const slave: LogShape = { first: 2000, end: 4500, epochs: [{ epoch: 3, start: 2000 }, { epoch: 4, start: 4000 }] };
  assert.deepEqual(planCatchUp(master, slave), { kind: 'stream', from: 4500, truncateTo: null, reason: 'the slave log is a prefix of the master log' });
});

test('an empty slave far behind gets a snapshot; an empty slave at a held position streams', () => {
  const master: LogShape = { first: 1000, end: 5000, epochs: [{ epoch: 3, start: 1000 }] };
  assert.equal(planCatchUp(master, { first: 0, end: 0, epochs: [] }).kind, 'snapshot');
  assert.deepEqual(planCatchUp({ first: 0, end: 5000, epochs: [{ epoch: 3, start: 0 }] }, { first: 0, end: 0, epochs: [] }), {
    kind: 'stream',
    from: 0,
    truncateTo: null,
    reason: 'the slave log is empty at a position the master holds',
  });
});

test('the ex-master case: the slave wrote a tail in its own epoch that the new master never had', () => {
  // Both logs hold epoch 2 up to 300; the old master (now slave) went on in epoch 2 to 500,
  // the new master started epoch 3 at 300.
  const master: LogShape = { first: 0, end: 800, epochs: [{ epoch: 2, start: 0 }, { epoch: 3, start: 300 }] };
  const slave: LogShape = { first: 0, end: 500, epochs: [{ epoch: 2, start: 0 }] };
  const plan = planCatchUp(master, slave);
  assert.equal(plan.kind, 'stream');
  assert.equal(plan.from, 300);
  assert.equal(plan.kind === 'stream' && plan.truncateTo, 300);
});
