import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { add, holdBatchWrites, indexKit, Log, onEachBatch, wrapWrite } from '../helpers/journal-index-kit.js';

const tmp = { kind: 'queue' as const, name: 'tmp' };
const TMP = 'queue://tmp';

describe('JournalIndex: a queue dropped and recreated while a flush is in progress', () => {
  const kit = indexKit('qmq-index-race-');
  afterEach(() => kit.cleanup());
  const { openIndex, applyBatch } = kit;

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
    kit.forgetLast();

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
    // From here on writes go through one at a time; count how many are in LevelDB's hands at once.
    let inWrite = 0;
    let maxInWrite = 0;
    onEachBatch(index, (batch) =>
      wrapWrite(batch, async (write) => {
        maxInWrite = Math.max(maxInWrite, ++inWrite);
        try {
          await write();
        } finally {
          inWrite--;
        }
      }),
    );
    gate.releaseAll();
    await Promise.all([first, second, third]);
    assert.equal(maxInWrite, 1);
    assert.equal(index.checkpoint.position, log.position);
    assert.deepEqual((await index.range(TMP, 0, 10)).map((e) => e.seq), [1, 2, 3]);
  });
});
