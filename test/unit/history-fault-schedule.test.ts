import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeBody, encodeBody } from '../../src/chaos/body.js';
import { flipBitInOldSegment, truncateLastSegment, findJournalDirs } from '../../src/chaos/disk-faults.js';
import { parseFaultKinds, planFaults } from '../../src/chaos/faults.js';
import { seededRng } from '../../src/chaos/rng.js';

const ALL = new Set(['kill:master', 'kill:slave', 'pause:master', 'pause:slave', 'zk:one', 'zk:two', 'partition:isolate-master', 'partition:isolate-slave', 'partition:split', 'disk:truncate-last', 'disk:flip-old']);

test('the same seed gives the same schedule; another seed another one', () => {
  const opts = { durationMs: 60_000, kinds: parseFaultKinds('kill,pause,zk,partition,disk'), supported: ALL, pauseMs: 5000 };
  const a = planFaults(seededRng(9), opts);
  assert.deepEqual(planFaults(seededRng(9), opts), a);
  assert.notDeepEqual(planFaults(seededRng(10), opts), a);
  assert.ok(a.length >= 5);
  for (const f of a) {
    assert.ok(f.atMs + f.holdMs <= opts.durationMs, 'every fault heals before the run ends');
    if (f.kind === 'pause') assert.ok(f.holdMs >= opts.pauseMs, 'pauses outlast the session timeout');
  }
  for (let i = 1; i < a.length; i++) assert.ok(a[i]!.atMs >= a[i - 1]!.atMs + a[i - 1]!.holdMs, 'one fault at a time');
});

test('only faults the cluster supports are planned', () => {
  const s = planFaults(seededRng(1), { durationMs: 60_000, kinds: ['kill', 'pause', 'zk'], supported: new Set(['kill:master', 'pause:master']), pauseMs: 3000 });
  assert.ok(s.length > 0);
  assert.ok(s.every((f) => (f.kind === 'kill' || f.kind === 'pause') && f.variant === 'master'));
  assert.deepEqual(planFaults(seededRng(1), { durationMs: 60_000, kinds: ['zk'], supported: new Set(['kill:master']), pauseMs: 3000 }), []);
});

test('a cut of the master from its peers holds past the ~12.5 s after which the master stands aside; other partitions hold 1 s to 1 s + pauseMs', () => {
  const supported = new Set(['partition:isolate-master', 'partition:isolate-slave', 'partition:split', 'partition:cut-master']);
  let cuts = 0;
  for (let seed = 1; seed <= 30; seed++) {
    for (const f of planFaults(seededRng(seed), { durationMs: 60_000, kinds: ['partition'], supported, pauseMs: 4000 })) {
      if (f.variant === 'cut-master') {
        cuts++;
        assert.ok(f.holdMs >= 15_000 && f.holdMs < 19_000, `cut-master holds ${f.holdMs} ms`);
      } else assert.ok(f.holdMs >= 1000 && f.holdMs < 5000, `${f.variant} holds ${f.holdMs} ms`);
    }
  }
  assert.ok(cuts > 0, 'some seed plans a cut of the master');
});

test('unknown fault kinds are refused by name', () => {
  assert.throws(() => parseFaultKinds('kill,flood'), /unknown fault 'flood'/);
});

test('bodies carry their id and detect any damage', () => {
  const body = encodeBody('run-p1-7', 16);
  assert.deepEqual(decodeBody(body), { id: 'run-p1-7', corrupt: false });
  const damaged = Buffer.from(body);
  damaged[12] = damaged[12]! ^ 1;
  assert.deepEqual(decodeBody(damaged), { id: 'run-p1-7', corrupt: true });
  assert.equal(decodeBody('no id here').corrupt, true);
});

test('disk faults: truncate the newest segment inside its written part; flip one bit in an older one', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qmq-disk-fault-'));
  try {
    const store = path.join(dir, 'node', 'store');
    mkdirSync(path.join(store, 'log'), { recursive: true });
    const seg = (start: number) => path.join(store, 'log', `${String(start).padStart(20, '0')}.log`);
    const written = Buffer.alloc(1000, 0xab);
    writeFileSync(seg(0), Buffer.concat([written, Buffer.alloc(500)]));
    writeFileSync(seg(1500), Buffer.concat([written, Buffer.alloc(3000)]));
    assert.deepEqual(findJournalDirs(dir), [store]);

    const t = truncateLastSegment(store, seededRng(3));
    assert.equal(t.file, seg(1500));
    assert.ok(t.offset >= 500 && t.offset < 1000, `cut at ${t.offset}`);
    assert.equal(statSync(seg(1500)).size, t.offset);

    const f = flipBitInOldSegment(store, seededRng(4));
    assert.equal(f.file, seg(0));
    const after = readFileSync(seg(0));
    const changed = [...after].map((b, i) => (b !== (i < 1000 ? 0xab : 0) ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(changed, [f.offset]);
    const x = after[f.offset]! ^ 0xab;
    assert.ok(x !== 0 && (x & (x - 1)) === 0, 'exactly one bit differs');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
