import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { StoreOp } from '../message-store.js';
import type { IndexOp, IndexRecord } from './leveldb-index.js';
import { encodeOpInto, maxRecordBytes, recordTypeOf, type EncodedOp } from './op-codec.js';
import { sealRecord, typeByte } from './record-codec.js';
import { storeIoError, type Segment, type SegmentLog } from './segment-log.js';

/** Upper bound of bytes one fsync group writes, so one group cannot stall the loop for long. */
const MAX_GROUP_BYTES = 16 * 1024 * 1024;
/** The write buffer's resting size; it grows for a big burst and shrinks back once idle. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

export interface DurableBatch {
  records: IndexRecord[];
  start: number;
  end: number;
  epoch: number;
}

interface PendingBatch extends DurableBatch {
  /** Written and applied without its own fdatasync; a later group or `syncDeferred` covers it. */
  deferSync: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Sees each group's bytes between its write and its fdatasync. The replication master hands
 * them to caught-up slaves from here, so their disks sync while ours does (DESIGN §4).
 */
export interface WrittenTap {
  /** `bytes` (whole batches, log positions from `start`) are written, not yet fsynced; valid only during the call. */
  written(start: number, bytes: Buffer): void;
  /**
   * A group given to `written` failed afterwards (its fdatasync). Its positions, from `start` on,
   * are never written again: the writer stops for good, because someone may hold those bytes.
   */
  lost(start: number, err: QmqError): void;
  /**
   * Whether the fdatasync of a group of `groupBatches` batches should block the event loop
   * instead of running on the thread pool (`syncOnLoop` in ha/replication/sync-placement.ts).
   */
  syncOnLoop(groupBatches: number): boolean;
}

export interface WriterStats {
  /** fdatasync rounds (one per synced group, plus one per sync of deferred groups alone). */
  syncs: number;
  groups: number;
  batches: number;
  /** Groups written without an fdatasync of their own (deferred-sync batches only). */
  deferredGroups: number;
  /** Of `syncs`, those run on libuv's thread pool (a replication master's, `WrittenTap.syncOnLoop`). */
  poolSyncs: number;
}

/**
 * The one writer of a journal. Each `append` is placed (given its log positions) at once, in
 * call order; a flush loop then writes every batch that queued up since the last group with
 * synchronous positional writes and ONE fdatasync, and acknowledges them all. Synchronous
 * fdatasync from this loop beats libuv's thread pool for a single node (issue 3's measurements),
 * and while the disk works, the producers' next batches queue up, so the fsync rate does not cap
 * the message rate. The loop yields with setImmediate between groups, which lets socket reads in.
 * A replication master may sync on the thread pool instead (`syncOnPool`, when its tap says so),
 * and a slave may defer a group's sync (`deferSync`, the sync duty of DESIGN §4).
 *
 * Records are serialised straight into one reusable write buffer that holds the not yet written
 * tail of the log, in log order, so a group goes to disk with one write per segment it touches
 * and no per-record buffers or concatenation (the profile's hot spots before).
 */
export class GroupCommitWriter {
  private pending: PendingBatch[] = [];
  private scheduled = false;
  /** A group's fdatasync runs on the thread pool (`syncOffLoop`); the next group waits for it. */
  private syncing = false;
  /** Set after a write error that leaves the page cache in doubt (EIO): no more writes. */
  private failed: QmqError | null = null;
  nextPosition: number;
  readonly stats: WriterStats = { syncs: 0, groups: 0, batches: 0, deferredGroups: 0, poolSyncs: 0 };
  /** End of the log covered by an fdatasync (or everything written, without syncs). */
  syncedEnd: number;
  /** End of the last group written to the files. */
  private writtenTo: number;
  /** Segments written by deferred groups since the last fdatasync. */
  private readonly unsynced = new Set<Segment>();
  private deferredTimer: NodeJS.Timeout | null = null;
  /** Called after an fdatasync that covered only deferred groups (the positions' durability moved). */
  onSynced: ((end: number) => void) | null = null;
  /**
   * Called once, the first time the writer stops for good for a reason other than a fence: its
   * owner must stop relying on it (a replication master gives up mastership and reopens the
   * journal). A fenced writer is the normal end of an ex-master, so it is not reported.
   */
  onFailed: ((err: QmqError) => void) | null = null;
  private failureReported = false;
  private idleWaiters: (() => void)[] = [];
  tap: WrittenTap | null = null;
  /** Bytes of log positions [bufStart, nextPosition), not yet written. */
  private buf = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private bufStart: number;

  constructor(
    private readonly log: SegmentLog,
    startPosition: number,
    private readonly syncEnabled: boolean,
    private readonly onDurable: (batch: DurableBatch) => void,
    private readonly logger: Logger,
    /** Throws when this node may no longer write (a fenced ex-master); checked before each group. */
    private readonly fence?: () => void,
    /** The longest a deferred-sync batch stays without an fdatasync. */
    private readonly deferredSyncMs = 20,
    /** With a tap (a replication master), fdatasync on the thread pool unless the tap asks for the loop. */
    private readonly syncOffLoop = true,
  ) {
    this.nextPosition = startPosition;
    this.bufStart = startPosition;
    this.syncedEnd = startPosition;
    this.writtenTo = startPosition;
  }

  /**
   * Places a batch of store ops and queues it. The promise resolves once the batch is on disk
   * (fdatasync) and applied to the index. Records after the first carry the "more" flag except
   * the last, so recovery applies a batch only when its final record is there: all of it or none.
   */
  appendOps(ops: StoreOp[], epoch: number): Promise<void> {
    return this.place(
      ops.length,
      epoch,
      false,
      false,
      ops,
      (i) => recordTypeOf(ops[i]),
      (i) => maxRecordBytes(ops[i]),
      (i, buf, offset) => encodeOpInto(ops[i], buf, offset),
    );
  }

  /**
   * Places records encoded elsewhere (compaction copies, epoch markers, a master's records on a
   * slave); see `appendOps`. With `deferSync` the promise resolves once the batch is written and
   * applied; its fdatasync comes with the next synced group, or within `deferredSyncMs`.
   */
  append(encoded: EncodedOp[], ops: (IndexOp | null)[], epoch: number, rewrite = false, deferSync = false): Promise<void> {
    return this.place(
      encoded.length,
      epoch,
      rewrite,
      deferSync,
      ops,
      (i) => encoded[i].type,
      (i) => encoded[i].buf.length,
      (i, buf, offset) => {
        buf.set(encoded[i].buf, offset);
        return encoded[i].buf.length;
      },
    );
  }

  /**
   * `encode(i, buf, offset)` writes record i's payload at `offset + HEADER_BYTES`, using at
   * most `bound(i)` bytes in all, and returns the record's length; `sealRecord` then frames it
   * at its log position.
   */
  private place(
    count: number,
    epoch: number,
    rewrite: boolean,
    deferSync: boolean,
    ops: readonly (IndexOp | null)[],
    typeOf: (i: number) => number,
    bound: (i: number) => number,
    encode: (i: number, buf: Buffer, offset: number) => number,
  ): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (count === 0) return Promise.resolve();
    const start = this.nextPosition;
    const records: IndexRecord[] = new Array(count);
    try {
      let pos = start;
      for (let i = 0; i < count; i++) {
        const offset = this.reserve(pos, bound(i));
        const length = encode(i, this.buf, offset);
        const type = typeOf(i);
        const head = this.log.head;
        if (!head || (pos > head.start && pos - head.start + length > this.log.maxSegmentBytes)) this.log.roll(pos);
        sealRecord(this.buf, offset, length, epoch, pos, typeByte(type, i < count - 1, rewrite));
        records[i] = { type, rewrite, position: pos, length, crc: this.buf.readUInt32LE(offset + 4), op: ops[i] };
        pos += length;
      }
      this.nextPosition = pos;
    } catch (e) {
      this.dropSegmentsAfter(start);
      return Promise.reject(e instanceof QmqError ? e : storeIoError('placing a batch', e));
    }
    const head = this.log.head;
    // Zero-fill the next segment once the head is half used, so it is ready before the roll.
    if (head && this.nextPosition - head.start > this.log.maxSegmentBytes / 2) this.log.prepareNext();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ records, start, end: this.nextPosition, epoch, deferSync, resolve, reject });
      this.schedule();
    });
  }

  /** Drops the written head of the buffer; what later batches placed moves to the front. */
  private consumeBuffered(writtenEnd: number): void {
    const rest = this.nextPosition - writtenEnd;
    if (rest > 0) this.buf.copy(this.buf, 0, writtenEnd - this.bufStart, this.nextPosition - this.bufStart);
    this.bufStart = writtenEnd;
    if (rest === 0 && this.buf.length > WRITE_BUFFER_BYTES * 4) this.buf = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  }

  /** Makes room for `bytes` more at log position `pos` and returns its offset in the buffer. */
  private reserve(pos: number, bytes: number): number {
    const used = pos - this.bufStart;
    if (used + bytes > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, used + bytes));
      this.buf.copy(next, 0, 0, used);
      this.buf = next;
    }
    return used;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.runGroup());
  }

  private runGroup(): void {
    this.scheduled = false;
    if (this.syncing) return;
    if (this.pending.length === 0) {
      if (this.idleWaiters.length > 0) {
        // Idle means durable: close and compaction must not leave deferred bytes unsynced.
        try {
          this.syncDeferred();
        } catch (e) {
          this.logger.error({ err: String(e) }, 'journal fdatasync of deferred groups failed');
        }
        for (const w of this.idleWaiters.splice(0)) w();
      }
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
    const groupEnd = group[group.length - 1].end;
    const progress = { bytes: 0 };
    let handedOut = false;
    try {
      this.fence?.();
      // The group is one contiguous stretch of the buffer; it is cut only where a segment ends.
      let touched: Segment | undefined;
      let touchedMore: Segment[] | undefined;
      for (let pos = groupStart; pos < groupEnd; ) {
        const seg = this.log.segmentFor(pos);
        if (!seg) throw new QmqError('INTERNAL', `no segment for journal position ${pos}`);
        const runEnd = Math.min(groupEnd, this.log.segmentEnd(seg, Infinity));
        progress.bytes = 0;
        try {
          this.log.writeSync(seg, pos, this.buf, pos - this.bufStart, runEnd - pos, progress);
        } finally {
          writtenEnd = pos + progress.bytes;
        }
        if (!touched) touched = seg;
        else (touchedMore ??= []).push(seg);
        pos = runEnd;
      }
      this.writtenTo = groupEnd;
      const tap = this.tap;
      const bytes = this.buf.subarray(groupStart - this.bufStart, groupEnd - this.bufStart);
      if (this.syncEnabled) {
        if (touched) this.unsynced.add(touched);
        if (touchedMore) for (const seg of touchedMore) this.unsynced.add(seg);
      }
      const needsSync = this.syncEnabled && !group.every((b) => b.deferSync);
      if (tap && needsSync && this.syncOffLoop && !this.askSyncOnLoop(tap, group.length)) {
        // The pool thread starts flushing while this thread writes to the slaves' sockets.
        this.syncOnPool(group, groupStart, groupEnd);
        handedOut = true;
        this.handOut(tap, groupStart, bytes);
        return;
      }
      if (tap) {
        handedOut = true;
        this.handOut(tap, groupStart, bytes);
      }
      if (needsSync) this.syncUnsynced();
      else if (this.syncEnabled) {
        this.stats.deferredGroups++;
        this.armDeferredSync();
      }
    } catch (e) {
      this.failGroup(group, groupStart, writtenEnd, e, handedOut);
      this.schedule();
      return;
    }
    this.finishGroup(group, groupEnd);
  }

  /**
   * The master's fdatasync, off the event loop: while the disk works, the loop reads the slaves'
   * acks and the producers' next sends, so receipts leave as soon as both disks are done.
   */
  private syncOnPool(group: PendingBatch[], groupStart: number, groupEnd: number): void {
    this.syncing = true;
    const segments = [...this.unsynced];
    this.unsynced.clear();
    void (async () => {
      for (const seg of segments) await this.log.datasync(seg);
    })().then(
      () => {
        this.syncing = false;
        this.stats.syncs++;
        this.stats.poolSyncs++;
        this.syncedEnd = groupEnd;
        this.finishGroup(group, groupEnd);
      },
      (e: unknown) => {
        this.syncing = false;
        this.failGroup(group, groupStart, groupEnd, e, true);
        this.schedule();
      },
    );
  }

  private finishGroup(group: PendingBatch[], groupEnd: number): void {
    this.consumeBuffered(groupEnd);
    if (!this.syncEnabled) this.syncedEnd = groupEnd;
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

  /** fdatasyncs every segment written since the last sync; all written bytes are then durable. */
  private syncUnsynced(): void {
    for (const seg of this.unsynced) if (!seg.deleted) this.log.datasyncSync(seg);
    this.unsynced.clear();
    this.stats.syncs++;
    this.syncedEnd = this.writtenTo;
  }

  private armDeferredSync(): void {
    if (this.deferredTimer) return;
    this.deferredTimer = setTimeout(() => {
      this.deferredTimer = null;
      try {
        this.syncDeferred();
      } catch (e) {
        this.logger.error({ err: String(e) }, 'journal fdatasync of deferred groups failed');
      }
    }, this.deferredSyncMs);
    this.deferredTimer.unref();
  }

  /**
   * fdatasyncs what deferred groups wrote, now. A failure stops the writer for good (the
   * fsyncgate rule in `failGroup`): the kernel may have dropped those pages.
   */
  syncDeferred(): void {
    if (this.deferredTimer) {
      clearTimeout(this.deferredTimer);
      this.deferredTimer = null;
    }
    if (this.unsynced.size === 0 || this.failed) return;
    try {
      this.syncUnsynced();
    } catch (e) {
      this.failed = e instanceof QmqError ? e : storeIoError('syncing deferred journal writes', e);
      this.reportFailure();
      throw this.failed;
    }
    this.onSynced?.(this.syncedEnd);
  }

  private askSyncOnLoop(tap: WrittenTap, groupBatches: number): boolean {
    try {
      return tap.syncOnLoop(groupBatches);
    } catch (e) {
      this.logger.error({ err: String(e) }, 'journal write tap failed');
      return false;
    }
  }

  private handOut(tap: WrittenTap, start: number, bytes: Buffer): void {
    try {
      tap.written(start, bytes);
    } catch (e) {
      // The tap is an optimisation: whoever missed the bytes reads them from the files later.
      this.logger.error({ err: String(e), position: start }, 'journal write tap failed');
    }
  }

  /**
   * A write or fsync failed: every queued batch fails (their positions were computed on top of
   * the failed one), the log is cut back to where the group began, and written bytes are zeroed
   * so recovery never mistakes them for data. Full disks are retried on the next write; any
   * other error stops writing, since the kernel may have dropped dirty pages (the fsyncgate
   * lesson) and only a store opened again, which re-reads the disk, can be trusted
   * (`onFailed` tells the owner).
   */
  private failGroup(group: PendingBatch[], groupStart: number, writtenEnd: number, e: unknown, handedOut: boolean): void {
    const err = e instanceof QmqError ? e : storeIoError('writing the journal', e);
    const all = [...group, ...this.pending.splice(0)];
    this.nextPosition = groupStart;
    this.writtenTo = Math.min(this.writtenTo, groupStart);
    this.bufStart = groupStart;
    // A fenced writer wrote nothing and must not touch the files (a new master owns them now).
    if (err.codeName === 'FENCED') {
      this.failed = err;
      this.logger.error({ err: err.message, position: groupStart, batches: all.length }, 'journal write fenced; the batches were rejected');
      for (const b of all) b.reject(err);
      return;
    }
    try {
      const seg = this.log.segmentFor(groupStart);
      if (seg && writtenEnd > groupStart) this.log.zeroRangeSync(seg, groupStart - seg.start, Math.min(writtenEnd, this.log.segmentEnd(seg, writtenEnd)) - seg.start);
      this.dropSegmentsAfter(groupStart);
    } catch (zeroErr) {
      this.failed = storeIoError('cleaning up after a failed write', zeroErr);
    }
    // Bytes handed out early may live on elsewhere (a slave's log): writing other bytes at the
    // same positions in the same epoch would make two logs that look alike and differ.
    if (err.codeName !== 'STORE_FULL' || handedOut) this.failed = err;
    this.logger.error({ err: err.message, position: groupStart, batches: all.length, handedOut }, 'journal write failed; the batches were rejected');
    for (const b of all) b.reject(err);
    if (handedOut && this.tap) {
      try {
        this.tap.lost(groupStart, err);
      } catch (tapErr) {
        this.logger.error({ err: String(tapErr), position: groupStart }, 'journal write tap failed');
      }
    }
    this.reportFailure();
  }

  private reportFailure(): void {
    const err = this.failed;
    if (!err || this.failureReported || err.codeName === 'FENCED') return;
    this.failureReported = true;
    try {
      this.onFailed?.(err);
    } catch (e) {
      this.logger.error({ err: String(e) }, 'journal write failure listener failed');
    }
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
    if (this.pending.length === 0 && !this.scheduled && !this.syncing) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.schedule();
    });
  }

  get writeFailure(): QmqError | null {
    return this.failed;
  }
}
