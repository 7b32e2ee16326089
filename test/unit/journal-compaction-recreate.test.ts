import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JournalPersistence } from '../../src/config/types.js';
import type { Message } from '../../src/broker/message.js';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { StoreOp } from '../../src/store/message-store.js';
import { silentLogger } from '../../src/util/logger.js';

const TMP = 'queue://tmp';
const tmpDest = { kind: 'queue' as const, name: 'tmp' };

function config(directory: string): JournalPersistence {
  return { kind: 'journal', flavour: 'default', directory, journalMaxFileLengthBytes: 64 * 1024, checkpointIntervalMs: 0, enableJournalDiskSyncs: true };
}

function msg(id: string, body: string): Message {
  return {
    id,
    destination: tmpDest,
    headers: {},
    body: Buffer.from(body),
    bodyIsBytes: false,
    persistent: true,
    priority: 4,
    expires: 0,
    timestamp: 1_700_000_000_000,
    redeliveryCount: 0,
  };
}

const add = (queue: string, seq: number, m: Message): StoreOp => ({ type: 'add', queue, seq, message: m });

describe('JournalStore: compaction copy in flight while its queue is dropped and recreated with the same seqs', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('the recreated seq keeps pointing at the new message, live, after a restart and after an index rebuild', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-compact-recreate-'));
    dirs.push(dir);
    let store = new JournalStore(config(dir), silentLogger);
    await store.open();
    // The old tmp#1 sits in the front segment among fillers that are then acked, so compaction
    // copies it (and the destination record) to the head.
    await store.write([{ type: 'destination-add', destination: tmpDest }, add(TMP, 1, msg('ID:old', 'old body'))]);
    const filler = 'x'.repeat(1000);
    for (let i = 1; i <= 150; i++) await store.write([add('queue://fill', i, msg(`ID:f${i}`, filler))]);
    for (let i = 1; i <= 150; i++) await store.write([{ type: 'remove', queue: 'queue://fill', seq: i }]);
    assert.ok(store.segmentFiles.length >= 2);

    // Poll once per event-loop turn for the moment the copy is placed but not yet durable (the
    // writer runs a turn later), and drop and recreate the queue exactly then.
    let inFlightSeen = false;
    let ops: Promise<void>[] = [];
    let compactionDone = false;
    const compacted = store.compact().finally(() => (compactionDone = true));
    while (!inFlightSeen && !compactionDone) {
      await new Promise<void>((r) => setImmediate(r));
      if (store.appendPosition > store.lastPosition().position) {
        inFlightSeen = true;
        ops = [
          store.write([{ type: 'destination-remove', destination: tmpDest }]),
          store.write([{ type: 'destination-add', destination: tmpDest }, add(TMP, 1, msg('ID:new', 'new body'))]),
        ];
      }
    }
    const r = await compacted;
    await Promise.all(ops);
    assert.ok(inFlightSeen, 'the compaction copy was never seen placed but not yet durable');
    assert.ok(r.compactedSegments.length >= 1, JSON.stringify(r));

    const check = async (s: JournalStore, when: string) => {
      const got = await s.read(TMP, 0, 10);
      assert.deepEqual(
        got.map((m) => [m.seq, m.message.id, m.message.body.toString()]),
        [[1, 'ID:new', 'new body']],
        when,
      );
      assert.equal((await s.stats()).messages, 1, when);
    };
    await check(store, 'right after');
    // A second pass moves the new record's neighbours too; it must not bring the old one back.
    await store.compact();
    await check(store, 'after another compaction');
    await store.close();

    store = new JournalStore(config(dir), silentLogger);
    await store.open();
    await check(store, 'after a restart');
    await store.close();

    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    store = new JournalStore(config(dir), silentLogger);
    await store.open();
    assert.equal(store.recovery!.rebuiltIndex, true);
    await check(store, 'after rebuilding the index from the log');
    await store.close();
  });
});
