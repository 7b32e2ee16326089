import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Message } from '../../src/broker/message.js';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { silentLogger } from '../../src/util/logger.js';

const MiB = 1024 * 1024;

function message(i: number, bodyBytes: number): Message {
  // Same-length ids, so every record's overhead is the same.
  return { id: `ID:chunk:${String(i).padStart(8, '0')}`, destination: { kind: 'queue', name: 'q' }, headers: {}, body: Buffer.alloc(bodyBytes, 7), bodyIsBytes: true, persistent: true, priority: 4, expires: 0, timestamp: 1, redeliveryCount: 0 };
}

// Found by a chaos run: a node's replication server reads its whole log back in 1 MiB chunks,
// and a chunk ending exactly on a record boundary was reported as an empty record, so the
// elected node could never take over (and every node holding the same log failed the same way).
test('readRecords reads on when a read chunk ends exactly at a record boundary', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-chunks-'));
  const store = new JournalStore({ kind: 'journal', flavour: 'default', directory: dir, journalMaxFileLengthBytes: 4 * MiB, checkpointIntervalMs: 0, enableJournalDiskSyncs: false }, silentLogger);
  try {
    await store.open();
    let seq = 0;
    const append = (bodyBytes: number) => store.write([{ type: 'add', queue: 'queue://q', seq: ++seq, message: message(seq, bodyBytes) }]);
    await append(500);
    const overhead = store.lastPosition().position - 500;
    // Fill with 1000-byte records, then one record that ends exactly at 1 MiB, then some more.
    while (MiB - store.lastPosition().position >= 2000) await append(1000 - overhead);
    await append(MiB - store.lastPosition().position - overhead);
    assert.equal(store.lastPosition().position, MiB, 'a record ends exactly at the first chunk boundary');
    for (let i = 0; i < 50; i++) await append(300);

    const positions: number[] = [];
    for await (const r of store.readRecords(0)) positions.push(r.position);
    assert.equal(positions.length, seq);
    assert.ok(positions.includes(MiB), 'the record starting at the boundary is read');
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
