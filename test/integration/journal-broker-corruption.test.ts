import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cleanupTemp, runCli, startBroker } from '../helpers/broker-process.js';
import { connect } from '../../src/client/index.js';
import { dumpStore } from '../../src/cli/store-command.js';

after(() => cleanupTemp());

const body = (i: number) => `m-${i}-${'x'.repeat(400)}`;

test('a bit flipped in the middle of a segment: the damaged message is held back, the rest flow, verify --repair quarantines it', async () => {
  const first = await startBroker();
  const c = await connect(`tcp://127.0.0.1:${first.stompPort}`);
  for (let i = 0; i < 200; i++) await c.send('/queue/damaged', body(i), { persistent: 'true' });
  await c.close();
  assert.equal(await first.stop(), 0);

  // Flip one bit inside the 101st record's payload (the broker is stopped).
  const journal = path.join(first.dataDir, 'journal');
  const dump = await dumpStore(journal, {});
  const victim = dump.records.filter((r) => r.type === 'ADD')[100];
  const seg = dump.segments.find((s) => s.startPosition <= victim.position && victim.position < s.startPosition + s.sizeBytes) ?? dump.segments[0];
  const fd = fs.openSync(seg.file, 'r+');
  const at = victim.position - seg.startPosition + 40;
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] ^= 0x10;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);

  const second = await startBroker({ dataDir: first.dataDir });
  try {
    const c2 = await connect(`tcp://127.0.0.1:${second.stompPort}`);
    const sub = await c2.subscribe('/queue/damaged', { ack: 'client-individual' });
    const got: string[] = [];
    for (;;) {
      const m = await sub.next(3000);
      if (!m) break;
      got.push(m.text());
      await m.ack();
    }
    await c2.close();
    const expected = Array.from({ length: 200 }, (_, i) => body(i)).filter((_, i) => i !== 100);
    assert.deepEqual(got, expected, 'every undamaged message, in order; the damaged one never reaches a consumer');
    assert.match(second.output(), new RegExp(`position ${victim.position} failed its check on read.*store verify --repair`));
  } finally {
    await second.stop();
  }

  const verify = await runCli(['store', 'verify', journal, '--json']);
  assert.equal(verify.code, 2, 'verify reports damage with exit code 2');
  const report = JSON.parse(verify.stdout);
  assert.equal(report.ok, false);
  assert.ok(report.damage.some((d: { position: number }) => d.position === victim.position), JSON.stringify(report.damage));

  const repair = await runCli(['store', 'verify', journal, '--repair', '--json']);
  assert.equal(repair.code, 0, repair.stderr);
  const quarantined = fs.readdirSync(path.join(journal, 'quarantine'));
  assert.equal(quarantined.length, 1, `one quarantine file: ${quarantined}`);
  const again = await runCli(['store', 'verify', journal, '--json']);
  assert.equal(JSON.parse(again.stdout).ok, true);
});
