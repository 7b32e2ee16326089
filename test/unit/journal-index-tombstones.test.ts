import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { add, countMessageWrites, holdBatchWrites, indexKit, Log, onEachBatch, wrapWrite } from '../helpers/journal-index-kit.js';
import type { IndexOp, JournalIndex } from '../../src/store/journal/leveldb-index.js';

const Q = 'queue://orders';
const remove = (queue: string, seq: number): IndexOp => ({ type: 'remove', queue, seq });

/** The message keys LevelDB holds for `Q`, by seq. */
async function storedSeqs(index: JournalIndex): Promise<number[]> {
  const out: number[] = [];
  for await (const m of index.allMessages()) if (m.queue === Q) out.push(m.seq);
  return out;
}

describe('JournalIndex: a message added and removed between two flushes never reaches LevelDB', () => {
  const kit = indexKit('qmq-index-tomb-');
  afterEach(() => kit.cleanup());
  const { openIndex, applyBatch } = kit;

  it('writes neither a put nor a delete for it, and keeps no entry in memory', async () => {
    const { index } = await openIndex();
    const log = new Log();
    const writes = countMessageWrites(index);
    applyBatch(index, log, [add(Q, 1), add(Q, 2)]);
    applyBatch(index, log, [remove(Q, 1)]);
    assert.equal(index.pendingEntries, 1, 'only seq 2 waits for the flush');
    await index.flush();
    assert.deepEqual(writes, { puts: 1, dels: 0 });
    assert.deepEqual(await storedSeqs(index), [2]);
    assert.equal(index.recoveredState().queues.find((q) => q.queue === Q)?.count, 1);
  });

  it('deletes a message that an earlier flush wrote', async () => {
    const { index } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [add(Q, 1)]);
    await index.flush();
    const writes = countMessageWrites(index);
    applyBatch(index, log, [remove(Q, 1)]);
    await index.flush();
    assert.deepEqual(writes, { puts: 0, dels: 1 });
    assert.deepEqual(await storedSeqs(index), []);
  });

  it('deletes a message whose add is in the layer being flushed when the removal comes', async () => {
    const { index } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [add(Q, 1)]);
    const gate = holdBatchWrites(index);
    const flushing = index.flush();
    await gate.waitStarted(1);
    applyBatch(index, log, [remove(Q, 1)]);
    gate.releaseAll();
    await flushing;
    await index.flush();
    assert.deepEqual(await storedSeqs(index), []);
    assert.equal(index.locate(Q, 1), undefined);
  });

  it('a compaction copy of a stored message is no fresh add: its removal still deletes the stored key', async () => {
    const { index } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [add(Q, 1)]);
    await index.flush();
    const copy = log.batch([add(Q, 1)]);
    copy.records[0].rewrite = true;
    index.apply(copy.records, copy.end, 1);
    applyBatch(index, log, [remove(Q, 1)]);
    await index.flush();
    assert.deepEqual(await storedSeqs(index), []);
  });

  it('after a failed flush puts its layer back, a removal of one of its adds leaves nothing in LevelDB', async () => {
    const { index } = await openIndex();
    const log = new Log();
    applyBatch(index, log, [add(Q, 1), add(Q, 2)]);
    let failures = 1;
    onEachBatch(index, (batch) =>
      wrapWrite(batch, async (write) => {
        if (failures-- > 0) throw new Error('injected LevelDB write failure');
        await write();
      }),
    );
    await assert.rejects(index.flush(), /injected/);
    applyBatch(index, log, [remove(Q, 1)]);
    await index.flush();
    assert.deepEqual(await storedSeqs(index), [2]);
    assert.equal(index.recoveredState().queues.find((q) => q.queue === Q)?.count, 1);
  });
});
