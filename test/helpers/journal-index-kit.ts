import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import { JournalIndex, type IndexOp, type IndexRecord } from '../../src/store/journal/leveldb-index.js';
import { recordTypeOf } from '../../src/store/journal/op-codec.js';

/** Gates still closed when a test ends (a failed assertion): opened so close() does not hang. */
const openGates: (() => void)[] = [];

function dbOf(index: JournalIndex): ClassicLevel<Buffer, Buffer> {
  return (index as unknown as { db: ClassicLevel<Buffer, Buffer> }).db;
}

type Batch = ReturnType<ClassicLevel<Buffer, Buffer>['batch']>;

/** Hands every LevelDB chained batch that `index` starts from now on to `fn`, which may wrap its methods. */
export function onEachBatch(index: JournalIndex, fn: (batch: Batch) => void): void {
  const db = dbOf(index);
  const realBatch = db.batch.bind(db) as () => Batch;
  (db as unknown as { batch: () => unknown }).batch = () => {
    const batch = realBatch();
    fn(batch);
    return batch;
  };
}

/** Replaces a batch's `write`, keeping the real one for the wrapper to call. */
export function wrapWrite(batch: Batch, wrap: (realWrite: () => Promise<void>) => Promise<void>): void {
  const realWrite = batch.write.bind(batch);
  (batch as unknown as { write: (o?: object) => Promise<void> }).write = (o?: object) => wrap(() => realWrite(o ?? {}));
}

/**
 * Holds each LevelDB batch write of `index` until the test releases it, so the test decides
 * exactly what happens while a flush is in progress instead of hoping the disk is slow enough.
 */
export function holdBatchWrites(index: JournalIndex): { started: () => number; waitStarted: (n: number) => Promise<void>; releaseAll: () => void } {
  let started = 0;
  let onStart: (() => void) | null = null;
  let releaseAll!: () => void;
  const released = new Promise<void>((r) => (releaseAll = r));
  openGates.push(releaseAll);
  onEachBatch(index, (batch) =>
    wrapWrite(batch, async (realWrite) => {
      started++;
      onStart?.();
      await released;
      await realWrite();
    }),
  );
  return {
    started: () => started,
    waitStarted: async (n) => {
      while (started < n) await new Promise<void>((r) => (onStart = r));
    },
    releaseAll,
  };
}

/** Builds index records the way the writer would: consecutive positions, 100 bytes each. */
export class Log {
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

export const add = (queue: string, seq: number): IndexOp => ({ type: 'add', queue, seq });

/** Counts the puts and deletes of message keys (prefix `m`) that `index` writes to LevelDB from now on. */
export function countMessageWrites(index: JournalIndex): { puts: number; dels: number } {
  const counts = { puts: 0, dels: 0 };
  const isMsg = (k: Buffer) => k[0] === 0x6d;
  onEachBatch(index, (batch) => {
    const put = batch.put.bind(batch);
    const del = batch.del.bind(batch);
    (batch as unknown as { put: (k: Buffer, v: Buffer) => unknown }).put = (k, v) => {
      if (isMsg(k)) counts.puts++;
      return put(k, v);
    };
    (batch as unknown as { del: (k: Buffer) => unknown }).del = (k) => {
      if (isMsg(k)) counts.dels++;
      return del(k);
    };
  });
  return counts;
}

/** Opens indexes in temporary directories and applies batches to them; `cleanup` after each test. */
export function indexKit(prefix: string) {
  const dirs: string[] = [];
  const opened: JournalIndex[] = [];
  return {
    async openIndex(dir?: string): Promise<{ index: JournalIndex; dir: string }> {
      const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      if (!dir) dirs.push(d);
      const index = await JournalIndex.open(path.join(d, 'index'), false);
      opened.push(index);
      return { index, dir: d };
    },
    applyBatch(index: JournalIndex, log: Log, ops: IndexOp[]): { records: IndexRecord[] } {
      const b = log.batch(ops);
      index.apply(b.records, b.end, 1);
      return b;
    },
    /** Forgets the last opened index (the test closed it itself). */
    forgetLast(): void {
      opened.pop();
    },
    async cleanup(): Promise<void> {
      for (const release of openGates.splice(0)) release();
      for (const i of opened.splice(0)) await i.close().catch(() => {});
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}
