import { test } from 'node:test';
import assert from 'node:assert/strict';
import { standAsideReason, type StandAsideInput } from '../../src/ha/stand-aside.js';

const base: StandAsideInput = { leading: true, slavesNeeded: 1, slavesConnected: 0, shortSince: 0, now: 6000, graceMs: 6000, othersRegistered: 2, quorum: 2 };

const rows: Array<[string, Partial<StandAsideInput>, boolean]> = [
  ['no slave for the whole grace, both others registered: stand aside', {}, true],
  ['one slave short for longer than the grace', { now: 60_000 }, true],
  ['not yet a whole grace', { now: 5999 }, false],
  ['a slave is logged in', { slavesConnected: 1, shortSince: null }, false],
  ['enough slaves even if a stale shortSince is given', { slavesConnected: 1 }, false],
  ['a local_* level waits for no slave', { slavesNeeded: 0 }, false],
  ['not master or taking over', { leading: false }, false],
  ['only one other member registered: no quorum without us', { othersRegistered: 1 }, false],
  ['replicas=5: two slaves needed, one connected, three others registered', { slavesNeeded: 2, slavesConnected: 1, othersRegistered: 3, quorum: 3 }, true],
  ['replicas=5: only two others registered', { slavesNeeded: 2, slavesConnected: 1, othersRegistered: 2, quorum: 3 }, false],
];

for (const [name, change, expected] of rows) {
  test(`standAsideReason: ${name}`, () => {
    const why = standAsideReason({ ...base, ...change });
    assert.equal(why !== null, expected, String(why));
    if (why) assert.match(why, /of the \d+ slave\(s\) a send needs reached this node in \d+ s, while \d+ other members are registered/);
  });
}
