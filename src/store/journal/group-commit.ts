import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { IndexOp, IndexRecord } from './leveldb-index.js';
import type { EncodedOp } from './op-codec.js';
import { sealRecord, typeByte } from './record-codec.js';
import { storeIoError, type Segment, type SegmentLog } from './segment-log.js';

/** Upper bound of bytes one fsync group writes, so one group cannot stall the loop for long. */
const MAX_GROUP_BYTES = 16 * 1024 * 1024;

export interface DurableBatch {
  records: IndexRecord[];
  start: number;
  end: number;
  epoch: number;
}

interface PendingBatch extends DurableBatch {
  bufs: Buffer[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface WriterStats {
  /** fdatasync calls made (one per group). */
  syncs: number;
  groups: number;
  batches: number;
}

/**
 * The one writer of a journal. Each `append` is placed (given its log positions) at once, in
 * call order; a flush loop then writes every batch that queued up since the last group with
 * synchronous positional writes and ONE fdatasync, and acknowledges them all. Synchronous
 * fdatasync from this loop beats libuv's thread pool (issue 3's measurements), and while the
 * disk works, the producers' next batches queue up, so the fsync rate does not cap the message
 * rate. The loop yields with setImmediate between groups, which lets socket reads in.
 */
export class GroupCommitWriter {
  private pending: PendingBatch[] = [];
  private scheduled = false;
  /** Set after a write error that leaves the page cache in doubt (EIO): no more writes. */
  private failed: QmqError | null = null;
  nextPosition: number;
  readonly stats: WriterStats = { syncs: 0, groups: 0, batches: 0 };
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly log: SegmentLog,
    startPosition: number,
    private readonly syncEnabled: boolean,
    private readonly onDurable: (batch: DurableBatch) => void,
    private readonly logger: Logger,
  ) {
    this.nextPosition = startPosition;
  }

  /**
   * Places a batch and queues it. The promise resolves once the batch is on disk (fdatasync)
   * and applied to the index. Records after the first carry the "more" flag except the last, so
   * recovery applies a batch only when its final record is there: all of it or none.
   */
  append(encoded: EncodedOp[], ops: (IndexOp | null)[], epoch: number, rewrite = false): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (encoded.length === 0) return Promise.resolve();
    const start = this.nextPosition;
    const records: IndexRecord[] = [];
    const bufs: Buffer[] = [];
    try {
      let pos = start;
      for (let i = 0; i < encoded.length; i++) {
        const e = encoded[i];
        const length = e.buf.length;
        const head = this.log.head;
        if (!head || (pos > head.start && pos - head.start + length > this.log.maxSegmentBytes)) this.log.roll(pos);
        sealRecord(e.buf, 0, length, epoch, pos, typeByte(e.type, i < encoded.length - 1, rewrite));
        records.push({ type: e.type, rewrite, position: pos, length, crc: e.buf.readUInt32LE(4), op: ops[i] });
        bufs.push(e.buf);
        pos += length;
      }
      this.nextPosition = pos;
    } catch (e) {
      this.dropSegmentsAfter(start);
      return Promise.reject(e instanceof QmqError ? e : storeIoError('placing a batch', e));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ records, bufs, start, end: this.nextPosition, epoch, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.runGroup());
  }

  private runGroup(): void {
    this.scheduled = false;
    if (this.pending.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || bytes < MAX_GROUP_BYTES)) {
      bytes += this.pending[n].end - this.pending[n].start;
      n++;
    }
    const group = this.pending.splice(0, n);
    const groupStart = group[0].start;
    let writtenEnd = groupStart;
    try {
      const touched = new Set<Segment>();
      // Consecutive records in the same segment go out in one write.
      let runSeg: Segment | undefined;
      let runStart = 0;
      let runBufs: Buffer[] = [];
      const flushRun = () => {
        if (!runSeg || runBufs.length === 0) return;
        const data = runBufs.length === 1 ? runBufs[0] : Buffer.concat(runBufs);
        this.log.writeSync(runSeg, runStart, data);
        writtenEnd = runStart + data.length;
        touched.add(runSeg);
        runBufs = [];
      };
      for (const b of group) {
        for (let i = 0; i < b.bufs.length; i++) {
          const pos = b.records[i].position;
          const seg = this.log.segmentFor(pos);
          if (!seg) throw new QmqError('INTERNAL', `no segment for journal position ${pos}`);
          if (seg !== runSeg) {
            flushRun();
            runSeg = seg;
            runStart = pos;
          }
          runBufs.push(b.bufs[i]);
        }
      }
      flushRun();
      if (this.syncEnabled) {
        for (const s of touched) this.log.datasyncSync(s);
        this.stats.syncs++;
      }
    } catch (e) {
      this.failGroup(group, groupStart, writtenEnd, e);
      this.schedule();
      return;
    }
    this.stats.groups++;
    for (const b of group) {
      this.stats.batches++;
      try {
        this.onDurable(b);
        b.resolve();
      } catch (e) {
        b.reject(e);
      }
    }
    this.schedule();
  }

  /**
   * A write or fsync failed: every queued batch fails (their positions were computed on top of
   * the failed one), the log is cut back to where the group began, and written bytes are zeroed
   * so recovery never mistakes them for data. Full disks are retried on the next write; any
   * other error stops writing, since the kernel may have dropped dirty pages (the fsyncgate
   * lesson) and only a restart, which re-reads the disk, can be trusted.
   */
  private failGroup(group: PendingBatch[], groupStart: number, writtenEnd: number, e: unknown): void {
    const err = e instanceof QmqError ? e : storeIoError('writing the journal', e);
    const all = [...group, ...this.pending.splice(0)];
    this.nextPosition = groupStart;
    try {
      const seg = this.log.segmentFor(groupStart);
      if (seg && writtenEnd > groupStart) this.log.zeroRangeSync(seg, groupStart - seg.start, Math.min(writtenEnd, this.log.segmentEnd(seg, writtenEnd)) - seg.start);
      this.dropSegmentsAfter(groupStart);
    } catch (zeroErr) {
      this.failed = storeIoError('cleaning up after a failed write', zeroErr);
    }
    if (err.codeName !== 'STORE_FULL') this.failed = err;
    this.logger.error({ err: err.message, position: groupStart, batches: all.length }, 'journal write failed; the batches were rejected');
    for (const b of all) b.reject(err);
  }

  /** Removes segments created for positions that are being given back. */
  private dropSegmentsAfter(position: number): void {
    for (;;) {
      const head = this.log.head;
      if (!head || head.start <= position || this.log.segments.length <= 1) break;
      this.log.deleteSegment(head);
    }
  }

  /** Resolves when nothing is queued (for close and for compaction). */
  idle(): Promise<void> {
    if (this.pending.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.schedule();
    });
  }

  get writeFailure(): QmqError | null {
    return this.failed;
  }
}
