import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dumpStore, quarantinedSegments } from '../../src/cli/store-command.js';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { runCli } from '../helpers/broker-process.js';

/** A stopped journal with `n` single-message batches; returns its one segment and the records' positions. */
async function journalWith(n: number): Promise<{ dir: string; segment: { file: string; start: number }; positions: number[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-dump-q-'));
  const store = new JournalStore({ kind: 'journal', flavour: 'default', directory: dir, journalMaxFileLengthBytes: 1024 * 1024, checkpointIntervalMs: 0, enableJournalDiskSyncs: false }, silentLogger);
  await store.open();
  for (let i = 1; i <= n; i++) {
    await store.write([{ type: 'add', queue: 'queue://q', seq: i, message: { id: `ID:dq:${i}`, destination: { kind: 'queue', name: 'q' }, headers: {}, body: Buffer.from(`m${i}`), bodyIsBytes: false, persistent: true, priority: 4, expires: 0, timestamp: i, redeliveryCount: 0 } }]);
  }
  const positions: number[] = [];
  for await (const r of store.readRecords(0)) positions.push(r.position);
  await store.close();
  const dump = await dumpStore(dir, {});
  const seg = dump.segments[0]!;
  return { dir, segment: { file: seg.file, start: seg.startPosition }, positions };
}

function pad(n: number): string {
  return String(n).padStart(20, '0');
}

test('store dump reads every shape of quarantined log: a divergent tail, damaged bytes and a replaced log', async () => {
  const { dir, segment, positions } = await journalWith(10);
  try {
    const q = path.join(dir, 'quarantine');
    fs.mkdirSync(q);
    const bytes = fs.readFileSync(segment.file);
    const sixth = positions[5]! - segment.start;
    // The end of the data (segments are preallocated with zeros).
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;

    // What replica truncation writes: the records from a position on, named by that position.
    const tail = path.join(q, `divergent-${pad(positions[5]!)}-${pad(segment.start + end)}-20261125T000000.log`);
    fs.writeFileSync(tail, bytes.subarray(sixth, end));
    const tailDump = await dumpStore(tail, {});
    assert.deepEqual(tailDump.records.map((r) => r.position), positions.slice(5));
    assert.deepEqual(tailDump.records.map((r) => r.summary.messageId), ['ID:dq:6', 'ID:dq:7', 'ID:dq:8', 'ID:dq:9', 'ID:dq:10']);
    assert.equal(tailDump.last.position, segment.start + end);

    // What recovery writes for damaged bytes: `<segment>.<offset>.bad`.
    const bad = path.join(q, `${path.basename(segment.file)}.${sixth}.bad`);
    fs.writeFileSync(bad, bytes.subarray(sixth, positions[6]! - segment.start));
    assert.deepEqual((await dumpStore(bad, {})).records.map((r) => r.position), [positions[5]]);

    // What a snapshot leaves: the old segment files, moved whole.
    const replaced = path.join(q, `replaced-${pad(segment.start)}-${pad(segment.start + end)}-20261125T000000`);
    fs.mkdirSync(replaced);
    fs.copyFileSync(segment.file, path.join(replaced, path.basename(segment.file)));
    assert.deepEqual((await dumpStore(replaced, {})).records.map((r) => r.position), positions);

    // Through the CLI, as the README shows it.
    const cli = await runCli(['store', 'dump', tail, '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).records.length, 5);

    // Anything else is not taken for quarantine; the store itself still dumps with its index.
    assert.equal(quarantinedSegments(path.join(q, 'nope.txt')), undefined);
    assert.equal(quarantinedSegments(dir), undefined);
    assert.equal((await dumpStore(dir, {})).depths[0]?.count, 10);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
