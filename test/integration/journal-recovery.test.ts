import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JournalPersistence } from '../../src/config/types.js';
import { JournalStore, type JournalStoreOptions } from '../../src/store/journal/journal-store.js';
import { verifyStore, dumpStore } from '../../src/cli/store-command.js';
import type { Message } from '../../src/broker/message.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import { QmqError } from '../../src/util/errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-journal-rec-'));
  dirs.push(d);
  return d;
}

function config(directory: string, segmentBytes = 64 * 1024): JournalPersistence {
  return { kind: 'journal', flavour: 'default', directory, journalMaxFileLengthBytes: segmentBytes, checkpointIntervalMs: 0, enableJournalDiskSyncs: false };
}

function msg(i: number, bodyBytes = 200): Message {
  return {
    id: `ID:t:${i}`,
    destination: { kind: 'queue', name: 'a' },
    headers: { i: String(i) },
    body: Buffer.alloc(bodyBytes, i % 251),
    bodyIsBytes: true,
    persistent: true,
    priority: 4,
    expires: 0,
    timestamp: i,
    redeliveryCount: 0,
  };
}

/** A logger that keeps warnings, so a test can check what recovery reported. */
function recordingLogger(): Logger & { warnings: { obj: unknown; msg?: string }[] } {
  const warnings: { obj: unknown; msg?: string }[] = [];
  const l = {
    ...silentLogger,
    warnings,
    warn(obj: object | string, msg?: string) {
      warnings.push({ obj, msg });
    },
    child() {
      return l;
    },
  };
  return l;
}

async function openStore(dir: string, logger: Logger = silentLogger, opts: JournalStoreOptions = {}, segmentBytes?: number) {
  const store = new JournalStore(config(dir, segmentBytes), logger, opts);
  const state = await store.open();
  return { store, state };
}

/** Writes n single-add batches and returns, per seq, the log range of its record. */
async function fill(store: JournalStore, n: number, bodyBytes = 200): Promise<Map<number, { start: number; end: number }>> {
  for (let i = 1; i <= n; i++) await store.write([{ type: 'add', queue: 'queue://a', seq: i, message: msg(i, bodyBytes) }]);
  const where = new Map<number, { start: number; end: number }>();
  let seq = 0;
  for await (const r of store.readRecords(0)) where.set(++seq, { start: r.position, end: r.position + r.bytes.length });
  return where;
}

async function seqs(store: JournalStore): Promise<number[]> {
  return (await store.read('queue://a', 0, 1_000_000)).map((m) => m.seq);
}

describe('journal recovery', () => {
  it('truncates a torn tail at a random byte, reports it, and keeps every earlier record', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = tmpDir();
      let { store } = await openStore(dir);
      const where = await fill(store, 400);
      const files = store.segmentFiles;
      await store.close();
      const last = files[files.length - 1];
      const segStart = Number(path.basename(last, '.log'));
      const dataEnd = where.get(400)!.end - segStart;
      const cut = 1 + Math.floor(Math.random() * (dataEnd - 1));
      fs.truncateSync(last, cut);
      const logger = recordingLogger();
      ({ store } = await openStore(dir, logger));
      const expected = [...where].filter(([, w]) => w.end <= segStart + cut).map(([s]) => s);
      assert.deepEqual(await seqs(store), expected, `cut at ${cut} of ${dataEnd}`);
      const cutsRecord = ![...where.values()].some((w) => w.end === segStart + cut);
      if (cutsRecord) {
        assert.ok(store.recovery?.truncation, 'a truncation is reported');
        const t = store.recovery!.truncation!;
        assert.equal(t.segment, last);
        assert.ok(t.bytes > 0);
        const w = logger.warnings.find((x) => String(x.msg).includes('truncated'));
        assert.ok(w, 'logger.warn was called');
        assert.match(String(w.msg), new RegExp(`${t.bytes} bytes`));
      }
      // The store keeps working after the cut, and the next restart is clean.
      await store.write([{ type: 'add', queue: 'queue://a', seq: 1000, message: msg(1000) }]);
      await store.close();
      ({ store } = await openStore(dir));
      assert.deepEqual(await seqs(store), [...expected, 1000]);
      assert.equal(store.recovery?.truncation, undefined);
      await store.close();
    }
  });

  it('refuses damage in the middle with STORE_CORRUPT naming segment and offset; verify --repair keeps every valid record', async () => {
    const dir = tmpDir();
    let { store } = await openStore(dir);
    const where = await fill(store, 300);
    await store.close();
    // Flip a bit inside record 100's body.
    const w = where.get(100)!;
    const seg = fs.readdirSync(path.join(dir, 'log')).filter((f) => f.endsWith('.log')).map((f) => ({ f, start: Number(f.slice(0, 20)) })).filter((s) => s.start <= w.start).pop()!;
    const file = path.join(dir, 'log', seg.f);
    const fd = fs.openSync(file, 'r+');
    const at = w.start - seg.start + 100;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x10;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    // The index checkpoint is past the damage; drop it so startup must read through it.
    fs.rmSync(path.join(dir, 'index'), { recursive: true });

    const err = await new JournalStore(config(dir), silentLogger).open().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof QmqError, String(err));
    assert.equal(err.codeName, 'STORE_CORRUPT');
    assert.ok(err.message.includes(file), err.message);
    assert.ok(err.message.includes(`offset ${w.start - seg.start}`), err.message);
    assert.ok(err.message.includes('quorummq store verify --repair'), err.message);

    const report = await verifyStore(dir, { repair: false });
    assert.equal(report.ok, false);
    assert.equal(report.damage.length, 1);
    assert.equal(report.damage[0].position, w.start);
    assert.equal(report.records, 299);

    const repaired = await verifyStore(dir, { repair: true });
    assert.equal(repaired.repaired, true);
    assert.ok(fs.existsSync(repaired.damage[0].quarantineFile!));
    assert.equal(fs.statSync(repaired.damage[0].quarantineFile!).size, w.end - w.start);

    ({ store } = await openStore(dir));
    assert.deepEqual(await seqs(store), [...where.keys()].filter((s) => s !== 100));
    await store.close();
    assert.equal((await verifyStore(dir, { repair: false })).ok, true);
    const dump = await dumpStore(dir, { from: w.start, to: w.end });
    assert.equal(dump.records.length, 1);
    assert.equal(dump.records[0].type, 'PAD');
    assert.deepEqual(dump.depths, [{ queue: 'queue://a', count: 299, lastSeq: 300 }]);
  });

  it('replays only the records after the checkpoint', async () => {
    const dir = tmpDir();
    let { store } = await openStore(dir);
    await fill(store, 100);
    await store.checkpoint();
    for (let i = 101; i <= 130; i++) await store.write([{ type: 'add', queue: 'queue://a', seq: i, message: msg(i) }]);
    // Simulate a crash: no close, so no final checkpoint. Release the lock by hand first.
    const cp = (store as unknown as { index: { checkpoint: { position: number } } }).index.checkpoint.position;
    await (store as unknown as { index: { close(): Promise<void> } }).index.close();
    (store as unknown as { lock: { release(): void } }).lock.release();
    ({ store } = await openStore(dir));
    assert.equal(store.recovery!.fromPosition, cp);
    assert.equal(store.recovery!.replayedRecords, 30);
    assert.equal((await seqs(store)).length, 130);
    await store.close();
    ({ store } = await openStore(dir));
    assert.equal(store.recovery!.replayedRecords, 0);
    await store.close();
  });

  it('deletes dead segments and compacts a front segment pinned by a few live messages', async () => {
    const dir = tmpDir();
    let { store } = await openStore(dir);
    await fill(store, 600, 500); // about 10 segments of 64 KiB
    const before = store.segmentFiles.length;
    assert.ok(before >= 5, `${before} segments`);
    // Ack everything except seq 3 (in the first segment) and the last 10.
    for (let i = 1; i <= 590; i++) if (i !== 3) await store.write([{ type: 'remove', queue: 'queue://a', seq: i }]);
    const r = await store.compact();
    assert.ok(r.compactedSegments.length >= 1, JSON.stringify(r));
    assert.ok(r.deletedSegments.length >= before - 3, JSON.stringify(r));
    assert.ok(store.segmentFiles.length <= 3, `${store.segmentFiles.length} segments left`);
    const expected = [3, ...Array.from({ length: 10 }, (_, k) => 591 + k)];
    assert.deepEqual(await seqs(store), expected);
    const [m3] = await store.read('queue://a', 3, 1);
    assert.ok(m3.message.body.equals(msg(3, 500).body));
    await store.close();
    ({ store } = await openStore(dir));
    assert.deepEqual(await seqs(store), expected);
    await store.close();
    // The log alone (no index) still rebuilds the same state.
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    ({ store } = await openStore(dir));
    assert.equal(store.recovery!.rebuiltIndex, true);
    assert.deepEqual(await seqs(store), expected);
    await store.close();
  });

  it('concurrent writers share fsyncs', async () => {
    const dir = tmpDir();
    const store = new JournalStore({ ...config(dir, 4 * 1024 * 1024), enableJournalDiskSyncs: true }, silentLogger);
    await store.open();
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 400; i++) writes.push(store.write([{ type: 'add', queue: 'queue://a', seq: i, message: msg(i) }]));
    await Promise.all(writes);
    const s = store.writerStats;
    assert.equal(s.batches, 400);
    assert.ok(s.syncs < 400 / 4, `${s.syncs} fsyncs for 400 concurrent writes`);
    assert.equal((await seqs(store)).length, 400);
    await store.close();
  });

  it('refuses a second opener with STORE_LOCKED', async () => {
    const dir = tmpDir();
    const { store } = await openStore(dir);
    await assert.rejects(new JournalStore(config(dir), silentLogger).open(), (e: unknown) => e instanceof QmqError && e.codeName === 'STORE_LOCKED');
    await assert.rejects(verifyStore(dir, { repair: false }), (e: unknown) => e instanceof QmqError && e.codeName === 'STORE_LOCKED');
    await store.close();
    const again = await openStore(dir);
    await again.store.close();
  });

  it('keeps epochs in records and reports the last (epoch, position)', async () => {
    const dir = tmpDir();
    let { store } = await openStore(dir);
    await fill(store, 3);
    assert.equal(store.lastPosition().epoch, 1);
    await store.setEpoch(7);
    await store.write([{ type: 'add', queue: 'queue://a', seq: 4, message: msg(4) }]);
    const last = store.lastPosition();
    assert.equal(last.epoch, 7);
    const recs = [];
    for await (const r of store.readRecords(0)) recs.push(r);
    assert.deepEqual(recs.map((r) => r.epoch), [1, 1, 1, 7, 7]);
    assert.equal(recs[recs.length - 1].position + recs[recs.length - 1].bytes.length, last.position);
    await store.close();
    ({ store } = await openStore(dir));
    assert.deepEqual(store.lastPosition(), last);
    await assert.rejects(store.setEpoch(3), (e: unknown) => e instanceof QmqError && e.codeName === 'FENCED');
    await store.close();
    const dump = await dumpStore(dir, {});
    assert.deepEqual(dump.last, last);
    assert.equal(dump.records.length, 5);
  });
});
