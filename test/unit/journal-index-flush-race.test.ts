import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import { JournalIndex, type IndexOp, type IndexRecord } from '../../src/store/journal/leveldb-index.js';
import { RecordType } from '../../src/store/journal/record-codec.js';

const tmp = { kind: 'queue' as const, name: 'tmp' };
const TMP = 'queue://tmp';

/**
 * Holds each LevelDB batch write of `index` until the test releases it, so the test decides
 * exactly what happens while a flush is in progress instead of hoping the disk is slow enough.
 */
function holdBatchWrites(index: JournalIndex): { started: () => number; waitStarted: (n: number) => Promise<void>; releaseAll: () => void } {
  const db = (index as unknown as { db: ClassicLevel<Buffer, Buffer> }).db;
  const realBatch = db.batch.bind(db) as () => ReturnType<ClassicLevel<Buffer, Buffer>['batch']>;
  let started = 0;
  let onStart: (() => void) | null = null;
  let releaseAll!: () => void;
  const released = new Promise<void>((r) => (releaseAll = r));
  openGates.push(releaseAll);
  (db as unknown as { batch: () => unknown }).batch = () => {
    const batch = realBatch();
    const realWrite = batch.write.bind(batch);
    (batch as unknown as { write: (o?: object) => Promise<void> }).write = async (o?: object) => {
      started++;
      onStart?.();
      await released;
      await realWrite(o ?? {});
    };
    return batch;
  };
  return {
    started: () => started,
    waitStarted: async (n) => {
      while (started < n) await new Promise<void>((r) => (onStart = r));
    },
    releaseAll,
  };
}

/** Builds index records the way the writer would: consecutive positions, 100 bytes each. */
class Log {
  position = 0;
  batch(ops: IndexOp[]): { records: IndexRecord[]; end: number } {
    const records = ops.map((op) => {
      const r: IndexRecord = { type: recordTypeOf(op), rewrite: false, position: this.position, length: 100, crc: this.position, op };
      this.position += 100;
      return r;
    });
    return { records, end: this.position };
  }
}

function recordTypeOf(op: IndexOp): number {
  switch (op.type) {
    case 'add':
      return RecordType.ADD;
    case 'destination-add':
      return RecordType.DESTINATION_ADD;
    case 'destination-remove':
      return RecordType.DESTINATION_REMOVE;
    default:
      return RecordType.REMOVE;
  }
}

const add = (queue: string, seq: number): IndexOp => ({ type: 'add', queue, seq });

/** Gates still closed when a test ends (a failed assertion): opened so close() does not hang. */
const openGates: (() => void)[] = [];

describe('JournalIndex: a queue dropped and recreated while a flush is in progress', () => {
  const dirs: string[] = [];
  const opened: JournalIndex[] = [];
  afterEach(async () => {
    for (const release of openGates.splice(0)) release();
    for (const i of opened.splice(0)) await i.close().catch(() => {});
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function openIndex(dir?: string): Promise<{ index: JournalIndex; dir: string }> {
    const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-index-race-'));
    if (!dir) dirs.push(d);
    const index = await JournalIndex.open(path.join(d, 'index'), false);
    opened.push(index);
    return { index, dir: d };
  }

  function applyBatch(index: JournalIndex, log: Log, ops: IndexOp[]): { records: IndexRecord[] } {
    const b = log.batch(ops);
    index.apply(b.records, b.end, 1);
    return b;
  }

  it('counts a re-added seq as new when the old one is still in the flushing layer', async () => {
    const { index, dir } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [{ type: 'destination-add', destination: tmp }, add(TMP, 1), add(TMP, 2), add('queue://keep', 1)]);
    const gate = holdBatchWrites(index);
    const flushed = index.flush();
    await gate.waitStarted(1);
    // The flush has frozen tmp#1 and tmp#2 and is writing them; the queue goes and comes back.
    applyBatch(index, log, [{ type: 'destination-remove', destination: tmp }]);
    assert.equal(index.locate(TMP, 1), undefined);
    const readd = applyBatch(index, log, [{ type: 'destination-add', destination: tmp }, add(TMP, 1)]);
    assert.equal(index.locate(TMP, 1)?.position, readd.records[1].position);
    assert.equal(index.recoveredState().queues.find((q) => q.queue === TMP)?.count, 1, 'the new tmp#1 is counted');
    assert.equal(index.messageCount, 2);
    gate.releaseAll();
    await flushed;
    await index.flush();
    await index.close();
    opened.pop();

    const { index: again } = await openIndex(dir);
    assert.equal(again.messageCount, 2);
    assert.deepEqual((await again.range(TMP, 0, 10)).map((e) => [e.seq, e.loc.position]), [[1, readd.records[1].position]]);
    assert.equal(again.recoveredState().queues.find((q) => q.queue === TMP)?.count, 1);
  });

  it('counts a re-added seq as new when it was removed in the active layer over a flushing copy', async () => {
    const { index } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [add(TMP, 1)]);
    const gate = holdBatchWrites(index);
    const flushed = index.flush();
    await gate.waitStarted(1);
    applyBatch(index, log, [{ type: 'remove', queue: TMP, seq: 1 }]);
    assert.equal(index.messageCount, 0);
    applyBatch(index, log, [add(TMP, 1)]);
    assert.equal(index.messageCount, 1);
    gate.releaseAll();
    await flushed;
  });

  it('a second flush called while one is writing waits for it instead of running alongside', async () => {
    const { index } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [add(TMP, 1)]);
    const gate = holdBatchWrites(index);
    const first = index.flush();
    await gate.waitStarted(1);
    applyBatch(index, log, [{ type: 'destination-remove', destination: tmp }, add(TMP, 1)]);
    const second = index.flush();
    const third = index.flush();
    // Every write is held: however long we wait, only the first flush may have reached its write.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(gate.started(), 1);
    // The newest state stays visible the whole time (a second flush must not hide a frozen layer).
    assert.equal(index.locate(TMP, 1)?.position, 200);
    gate.releaseAll();
    await Promise.all([first, second, third]);
    assert.equal(index.checkpoint.position, log.position);
    assert.deepEqual((await index.range(TMP, 0, 10)).map((e) => e.loc.position), [200]);
    assert.equal(index.messageCount, 1);
  });

  it('flush calls that overlap never write two batches at once', async () => {
    const { index } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [add(TMP, 1)]);
    const gate = holdBatchWrites(index);
    const first = index.flush();
    await gate.waitStarted(1);
    applyBatch(index, log, [add(TMP, 2)]);
    const second = index.flush();
    applyBatch(index, log, [add(TMP, 3)]);
    const third = index.flush();
    const db = (index as unknown as { db: ClassicLevel<Buffer, Buffer> }).db;
    // From here on writes go through one at a time; count how many are in LevelDB's hands at once.
    let inWrite = 0;
    let maxInWrite = 0;
    const heldBatch = db.batch.bind(db) as () => ReturnType<ClassicLevel<Buffer, Buffer>['batch']>;
    (db as unknown as { batch: () => unknown }).batch = () => {
      const batch = heldBatch();
      const write = batch.write.bind(batch);
      (batch as unknown as { write: (o?: object) => Promise<void> }).write = async (o?: object) => {
        maxInWrite = Math.max(maxInWrite, ++inWrite);
        try {
          await write(o ?? {});
        } finally {
          inWrite--;
        }
      };
      return batch;
    };
    gate.releaseAll();
    await Promise.all([first, second, third]);
    assert.equal(maxInWrite, 1);
    assert.equal(index.checkpoint.position, log.position);
    assert.deepEqual((await index.range(TMP, 0, 10)).map((e) => e.seq), [1, 2, 3]);
  });
});
