import path from 'node:path';
import type { JournalPersistence } from '../../config/types.js';
import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { durableQueueKey, type MessageStore, type RecoveredState, type StoredMessage, type StoreOp, type StoreStats } from '../message-store.js';
import { destinationKey } from '../../broker/message.js';
import { Compactor, type CompactionResult } from './compaction.js';
import { GroupCommitWriter, type DurableBatch, type WriterStats, type WrittenTap } from './group-commit.js';
import { JournalIndex, type IndexOp, type Loc } from './leveldb-index.js';
import { decodeIndexOp, decodeOp, encodeEmpty, type EncodedOp } from './op-codec.js';
import { decodeRecordAt, looksLikeRecordAt, HEADER_BYTES, RecordType, type DecodedRecord } from './record-codec.js';
import { belongsToReplicationGroup, quarantineDamagedTail, type DamageRepair } from './log-repair.js';
import { recoverJournal, type RecoveryReport } from './recovery.js';
import { cutTail, replaceLog, type ReplicaTruncation } from './replica-truncation.js';
import { SegmentLog } from './segment-log.js';
import { StoreLock } from './store-lock.js';

export type { ReplicaTruncation } from './replica-truncation.js';

export interface JournalStoreOptions {
  /** Zero-fill segments ahead of use (default true). */
  preallocate?: boolean;
  /** Flush the index to LevelDB once this many changes are pending (default 20,000). */
  flushEntries?: number;
  /** Compact the oldest segment when its live records are below this share of it (default 0.5). */
  compactLiveRatio?: number;
  /**
   * Free disk kept for acks, index checkpoints and LevelDB (which must write to open at all):
   * below it new messages are refused with STORE_FULL (default 4 MiB, LevelDB's write buffer).
   */
  diskReserveBytes?: number;
  /**
   * The caller already holds the OFD lock on `<directory>/lock` (the shared file system mode
   * does, DESIGN §5), so the store takes none of its own: a second description would conflict.
   */
  lockHeld?: boolean;
  /**
   * Throws (FENCED) once this node may no longer write the store. Checked before every write
   * group, checkpoint and the index flush on close, so a paused ex-master that resumes writes
   * nothing (DESIGN §5).
   */
  fence?: () => void;
  /**
   * What opening does with a record that fails its check anywhere in the log (DESIGN §3, §4):
   * `refuse` (a single node: STORE_CORRUPT, the operator runs `store verify --repair`) or
   * `quarantine` (a replica: the log from the damaged batch on is moved into quarantine and the
   * master fills it in again). Default: `quarantine` when the directory belongs to a replication
   * group (it holds `replication-epoch`), else `refuse`.
   */
  damagedLog?: 'refuse' | 'quarantine';
}

/** How long a free-space reading is trusted (statfs is cheap, but not per message). */
const FREE_SPACE_CHECK_MS = 100;

/** A record as replication ships it: the exact bytes in the log plus its decoded header. */
export interface RawRecord {
  epoch: number;
  position: number;
  type: number;
  more: boolean;
  rewrite: boolean;
  /** The whole record, header included, as it is on disk. */
  bytes: Buffer;
}

const READ_COALESCE_BYTES = 1024 * 1024;

/** The key of the live record an op cancels or supersedes, if any. */
function cancellingKey(op: StoreOp): string | null {
  switch (op.type) {
    case 'remove':
      return `m:${op.seq}:${op.queue}`;
    case 'destination-remove':
      return `q:${destinationKey(op.destination)}`;
    case 'subscription-remove':
      return `q:${durableQueueKey(op.clientId, op.name)}`;
    case 'producer-seq':
      return `p:${op.producerId}`;
    default:
      return null;
  }
}

/** The in-flight keys that would make a live record stale (matches `cancellingKey`). */
function inFlightKeys(op: IndexOp): string[] {
  switch (op.type) {
    case 'add':
      return [`m:${op.seq}:${op.queue}`, `q:${op.queue}`];
    case 'destination-add':
      return [`q:${destinationKey(op.destination)}`];
    case 'subscription-add':
      return [`q:${durableQueueKey(op.subscription.clientId, op.subscription.name)}`];
    case 'producer-seq':
      return [`p:${op.producerId}`];
    default:
      return [];
  }
}

/**
 * The durable store (DESIGN §3): a segmented append-only log of CRC-framed records, a LevelDB
 * index of where each live message is, group commit, checkpointed recovery and compaction.
 * Bodies stay on disk; `read` pages them in.
 */
export class JournalStore implements MessageStore {
  readonly kind = 'journal';
  private lock: StoreLock | null = null;
  private log!: SegmentLog;
  private index!: JournalIndex;
  private writer!: GroupCommitWriter;
  private compactor!: Compactor;
  private state: 'new' | 'open' | 'closed' = 'new';
  private epoch = 1;
  private lastEpoch = 0;
  private durableEnd = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly flushEntries: number;
  private readonly options: Required<Omit<JournalStoreOptions, 'fence' | 'damagedLog'>> & Pick<JournalStoreOptions, 'fence' | 'damagedLog'>;
  /** Ops queued for the log that would cancel a live record, by the key they cancel (see compaction). */
  private readonly inFlight = new Map<string, number>();
  /** What the last `open()` found and did. */
  recovery: RecoveryReport | null = null;
  /** Damage that `open()` moved into quarantine (a replica only), if any. */
  damageRepair: DamageRepair | null = null;

  constructor(
    readonly config: JournalPersistence,
    private readonly logger: Logger,
    options: JournalStoreOptions = {},
  ) {
    this.options = { preallocate: options.preallocate ?? true, flushEntries: options.flushEntries ?? 20_000, compactLiveRatio: options.compactLiveRatio ?? 0.5, diskReserveBytes: options.diskReserveBytes ?? 4 * 1024 * 1024, lockHeld: options.lockHeld ?? false, fence: options.fence, damagedLog: options.damagedLog };
    this.flushEntries = this.options.flushEntries;
  }

  async open(): Promise<RecoveredState> {
    if (this.state !== 'new') throw new QmqError('STORE_CLOSED', 'a journal store is opened once; create a new one to reopen');
    const dir = this.config.directory;
    if (!this.options.lockHeld) this.lock = StoreLock.acquire(dir);
    try {
      // The index first: LevelDB's own lock keeps this open out while a paused ex-master still
      // has the store open, before the segment log touches any file.
      this.index = await JournalIndex.open(path.join(dir, 'index'), this.config.enableJournalDiskSyncs);
      try {
        if ((this.options.damagedLog ?? (belongsToReplicationGroup(dir) ? 'quarantine' : 'refuse')) === 'quarantine') {
          this.damageRepair = await quarantineDamagedTail(dir, this.logger);
          // The index may name records that are gone now: rebuild it from the clean prefix.
          if (this.damageRepair && this.index.hasCheckpoint && this.index.checkpoint.position > this.damageRepair.cutAt) await this.index.wipe();
        }
        this.log = new SegmentLog(dir, this.config.journalMaxFileLengthBytes, this.logger, this.options.preallocate);
      } catch (e) {
        await this.index.close();
        throw e;
      }
      try {
        this.recovery = await recoverJournal(dir, this.log, this.index, this.logger);
      } catch (e) {
        await this.index.close();
        await this.log.close();
        throw e;
      }
    } catch (e) {
      this.lock?.release();
      this.lock = null;
      throw e;
    }
    this.durableEnd = this.recovery.endPosition;
    this.lastEpoch = this.recovery.lastEpoch;
    this.epoch = Math.max(1, this.lastEpoch);
    this.startWriter();
    await this.index.flush();
    this.state = 'open';
    if (this.config.checkpointIntervalMs > 0) {
      this.timer = setInterval(() => void this.checkpoint().catch((e) => this.logger.error({ err: String(e) }, 'journal checkpoint failed')), this.config.checkpointIntervalMs);
      this.timer.unref();
    }
    this.logger.info(
      {
        directory: dir,
        replayedRecords: this.recovery.replayedRecords,
        fromPosition: this.recovery.fromPosition,
        endPosition: this.recovery.endPosition,
        rebuiltIndex: this.recovery.rebuiltIndex,
      },
      'journal store opened',
    );
    return this.index.recoveredState();
  }

  /** A writer and compactor over the current log and index, from the durable end on. */
  private startWriter(): void {
    this.writer = new GroupCommitWriter(this.log, this.durableEnd, this.config.enableJournalDiskSyncs, (b) => this.onDurable(b), this.logger, this.options.fence);
    this.writer.tap = this.tap;
    this.writer.onSynced = () => {
      for (const fn of this.durableListeners) fn(this.durableEnd);
    };
    this.writer.onFailed = (err) => {
      for (const fn of this.writeFailureListeners) fn(err);
    };
    this.compactor = new Compactor(
      this.log,
      this.index,
      (encoded, ops) => this.writer.append(encoded, ops, this.epoch, true),
      (type, op, position) => this.index.isLive(type, op, position) && !inFlightKeys(op).some((k) => this.inFlight.has(k)),
      this.logger,
      this.options.compactLiveRatio,
      10_000,
    );
  }

  private onDurable(b: DurableBatch): void {
    this.index.apply(b.records, b.end, b.epoch);
    this.durableEnd = b.end;
    this.lastEpoch = b.epoch;
    for (const fn of this.durableListeners) fn(b.end);
    if (this.index.pendingEntries >= this.flushEntries && !this.flushing) void this.checkpoint().catch((e) => this.logger.error({ err: String(e) }, 'journal checkpoint failed'));
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new QmqError('STORE_CLOSED', `the journal store ${this.config.directory} is ${this.state === 'new' ? 'not open yet' : 'closed'}`);
  }

  private roomCheckedAtMs = 0;
  private roomLeft = true;

  async write(ops: StoreOp[]): Promise<void> {
    this.assertOpen();
    if (this.replica) throw new QmqError('NOT_MASTER', `the journal ${this.config.directory} is a replica: only records from the master are written to it`);
    if (ops.length === 0) return;
    if (ops.some((op) => op.type === 'add') && !this.hasRoomForMessages()) {
      throw new QmqError(
        'STORE_FULL',
        `the journal disk is full: less than ${this.options.diskReserveBytes} bytes free under ${this.config.directory}, which are kept for acknowledgements and the index; free disk space or consume messages`,
      );
    }
    const keys: string[] = [];
    for (const op of ops) {
      const k = cancellingKey(op);
      if (k) {
        keys.push(k);
        this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
      }
    }
    const done = this.writer.appendOps(ops, this.epoch);
    if (keys.length === 0) return done;
    return done.finally(() => {
      for (const k of keys) {
        const n = (this.inFlight.get(k) ?? 1) - 1;
        if (n === 0) this.inFlight.delete(k);
        else this.inFlight.set(k, n);
      }
    });
  }

  private hasRoomForMessages(): boolean {
    const now = Date.now();
    if (now - this.roomCheckedAtMs >= FREE_SPACE_CHECK_MS) {
      this.roomCheckedAtMs = now;
      this.roomLeft = this.log.hasRoomFor(this.options.diskReserveBytes);
    }
    return this.roomLeft;
  }

  async read(queue: string, fromSeq: number, maxCount: number): Promise<StoredMessage[]> {
    this.assertOpen();
    for (let attempt = 0; ; attempt++) {
      const entries = await this.index.range(queue, fromSeq, maxCount);
      try {
        const records = await this.readLocs(entries.map((e) => e.loc));
        const out: StoredMessage[] = [];
        entries.forEach((e, i) => {
          const r = records[i];
          const op = r instanceof QmqError ? undefined : decodeOp(r.type, r.payload);
          if (!op || op.type !== 'add' || op.queue !== queue || op.seq !== e.seq) {
            const err = r instanceof QmqError ? r : new QmqError('STORE_CORRUPT', `the index points ${queue}#${e.seq} at log position ${e.loc.position}, which holds something else; run \`quorummq store verify ${this.config.directory}\``);
            this.reportDamagedRead(queue, e.seq, e.loc.position, err);
            return;
          }
          out.push({ queue, seq: e.seq, message: op.message });
        });
        // The broker reads "fewer than asked" as "no more": when damaged records were held
        // back from a full page, read on past them.
        if (out.length < entries.length && entries.length === maxCount) {
          const more = await this.read(queue, entries[entries.length - 1].seq + 1, maxCount - out.length);
          out.push(...more);
        }
        return out;
      } catch (e) {
        // Compaction may have moved the records between the lookup and the read: look again.
        if (attempt < 2 && e instanceof QmqError && e.codeName === 'STORE_CORRUPT' && /no journal segment/.test(e.message)) continue;
        throw e;
      }
    }
  }

  /**
   * A record that fails its check on read is never handed out. It stays on disk for
   * `store verify --repair`; the rest of the queue keeps flowing, and the damage is logged as an
   * error (once per record) instead of stalling every consumer of the queue behind it.
   */
  private reportDamagedRead(queue: string, seq: number, position: number, err: QmqError): void {
    this.damagedReads ??= new Set();
    if (this.damagedReads.has(position)) return;
    this.damagedReads.add(position);
    this.logger.error({ code: err.code, queue, seq, position, directory: this.config.directory }, `${err.message}; the message is held back`);
  }

  private damagedReads: Set<number> | undefined;

  /** Reads and CRC-checks records; neighbours in the log are fetched with one read. A damaged record comes back as its error. */
  private async readLocs(locs: Loc[]): Promise<Array<DecodedRecord | QmqError>> {
    const order = locs.map((_, i) => i).sort((a, b) => locs[a].position - locs[b].position);
    const out: Array<DecodedRecord | QmqError> = new Array(locs.length);
    let i = 0;
    while (i < order.length) {
      const first = locs[order[i]];
      const seg = this.log.segmentFor(first.position);
      const segEnd = seg ? this.log.segmentEnd(seg, this.durableEnd) : Infinity;
      let j = i + 1;
      let end = first.position + first.length;
      while (j < order.length) {
        const l = locs[order[j]];
        if (l.position < end || l.position - end > 4096 || l.position + l.length - first.position > READ_COALESCE_BYTES || l.position + l.length > segEnd) break;
        end = l.position + l.length;
        j++;
      }
      const buf = await this.log.read(first.position, end - first.position);
      for (let k = i; k < j; k++) {
        const l = locs[order[k]];
        const r = decodeRecordAt(buf, l.position - first.position, l.position);
        if (!r.ok || r.record.length !== l.length) {
          out[order[k]] = new QmqError('STORE_CORRUPT', `the journal record at position ${l.position} failed its check on read (${r.ok ? 'length mismatch' : r.reason}); run \`quorummq store verify --repair ${this.config.directory}\` with the broker stopped`);
          continue;
        }
        out[order[k]] = r.record;
      }
      i = j;
    }
    return out;
  }

  async isTransactionCommitted(txId: string): Promise<boolean> {
    this.assertOpen();
    return this.index.txLocation(txId) !== undefined;
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    return { sizeBytes: this.log.fileSizeBytes(), messages: this.index.messageCount };
  }

  /**
   * Writes the index to LevelDB with a new checkpoint, then frees segments that are no longer
   * needed. Runs on a timer (`checkpointIntervalMs`) and when enough changes are pending.
   */
  async checkpoint(): Promise<CompactionResult | null> {
    if (this.state === 'open' && this.replica) {
      // A replica's log stays byte-identical to the master's: the master compacts and ships the
      // copies; the replica checkpoints its index and drops the segments the master has dropped.
      await this.flushIndexAt();
      const deleted = this.dropReleasedSegments();
      return deleted.length > 0 ? { deletedSegments: deleted, compactedSegments: [], rewrittenRecords: 0 } : null;
    }
    if (this.state !== 'open' || this.isFenced()) return null;
    await this.flushIndexAt();
    if (this.state !== 'open') return null;
    return this.compactor.run();
  }

  /** A checkpoint followed by a compaction pass that re-examines the oldest segment now. */
  async compact(): Promise<CompactionResult> {
    this.assertOpen();
    const total: CompactionResult = { deletedSegments: [], compactedSegments: [], rewrittenRecords: 0 };
    const add = (r: CompactionResult | null) => {
      if (!r) return;
      total.deletedSegments.push(...r.deletedSegments);
      total.compactedSegments.push(...r.compactedSegments);
      total.rewrittenRecords += r.rewrittenRecords;
    };
    add(await this.checkpoint());
    add(await this.compactor.run(true));
    // Compaction copies land after the checkpoint; a second round frees what they unpinned.
    add(await this.checkpoint());
    add(await this.compactor.run(true));
    return total;
  }

  /**
   * The log must reach disk before an index checkpoint names it: without per-batch fsync, and
   * for a replica's deferred-sync batches.
   */
  private syncLogForCheckpoint(): void {
    if (!this.config.enableJournalDiskSyncs) for (const s of this.log.segments.slice(-2)) this.log.datasyncSync(s);
    else this.writer.syncDeferred();
  }

  private isFenced(): boolean {
    try {
      this.options.fence?.();
      return false;
    } catch {
      return true;
    }
  }

  /** The epoch new records carry (replication sets it when this node becomes master). */
  get currentEpoch(): number {
    return this.epoch;
  }

  /** Starts a new epoch and writes its marker record; resolves when the marker is durable. */
  async setEpoch(epoch: number): Promise<void> {
    this.assertOpen();
    if (!Number.isSafeInteger(epoch) || epoch < this.epoch) throw new QmqError('FENCED', `epoch ${epoch} is below the store's current epoch ${this.epoch}`);
    this.epoch = epoch;
    await this.writer.append([encodeEmpty(RecordType.EPOCH)], [null], epoch);
  }

  /**
   * The epoch of the last durable record and the log position just past it. On a replica,
   * deferred-sync batches count once written (a kill -9 keeps them in the page cache);
   * `syncedPosition` is what an fdatasync covers.
   */
  lastPosition(): { epoch: number; position: number } {
    return { epoch: this.lastEpoch, position: this.durableEnd };
  }

  /** End of the log covered by an fdatasync: what a slave acknowledges as on disk. */
  get syncedPosition(): number {
    return Math.min(this.writer.syncedEnd, this.durableEnd);
  }

  /** fdatasyncs deferred-sync batches now (a slave given the sync duty). */
  syncDeferred(): void {
    this.assertOpen();
    this.writer.syncDeferred();
  }

  /** Durable records from `fromPosition` (a record boundary) up to the current end of the log. */
  async *readRecords(fromPosition: number): AsyncGenerator<RawRecord> {
    this.assertOpen();
    let pos = fromPosition;
    const end = this.durableEnd;
    while (pos < end) {
      const seg = this.log.segmentFor(pos);
      if (!seg) throw new QmqError('STORE_CORRUPT', `no journal segment holds position ${pos} (it may have been compacted away)`);
      const segEnd = Math.min(this.log.segmentEnd(seg, end), end);
      let want = Math.min(READ_COALESCE_BYTES, segEnd - pos);
      let buf = await this.log.read(pos, want);
      let off = 0;
      // A chunk may end exactly at a record boundary: that is the end of the chunk, not an empty record.
      while (pos + off < segEnd && off < buf.length) {
        const r = decodeRecordAt(buf, off, pos + off);
        if (!r.ok) {
          if ((r.reason === 'truncated' || r.reason === 'short-header') && off > 0) break;
          if (r.reason === 'truncated' && r.needBytes && want < segEnd - pos) {
            want = Math.min(segEnd - pos, Math.max(r.needBytes, want * 2));
            buf = await this.log.read(pos, want);
            continue;
          }
          throw new QmqError('STORE_CORRUPT', `journal record at position ${pos + off} is invalid (${r.reason})`);
        }
        const rec = r.record;
        yield { epoch: rec.epoch, position: rec.position, type: rec.type, more: rec.more, rewrite: rec.rewrite, bytes: Buffer.from(buf.subarray(off, off + rec.length)) };
        off += rec.length;
      }
      pos += off;
    }
  }

  // ---- replication (DESIGN §4): what a slave needs of its journal --------------------------------

  private replica = false;
  private readonly durableListeners = new Set<(end: number) => void>();

  /** The master's oldest retained position, and its log end when it said so (see `noteMasterRetained`). */
  private released: { first: number; asOf: number } | null = null;
  /** A truncation or snapshot is rearranging the log: no segment is dropped meanwhile. */
  private reshaping = false;

  /** A replica accepts only `appendReplicated`; `write` refuses with NOT_MASTER and nothing is compacted. */
  setReplica(on: boolean): void {
    this.replica = on;
    this.released = null;
  }

  /**
   * For a replica: the master holds nothing before `first` any more, as of its log end `asOf`.
   * Every record before `first` is dead there, and once this replica's index checkpoint reaches
   * `asOf` it has applied whatever made them dead here too (the compaction copies and removes the
   * master wrote before it dropped them), so whole segments before `first` may go: recovery from
   * that checkpoint never reads them. Dropped at the next checkpoint (DESIGN §4).
   */
  noteMasterRetained(first: number, asOf: number): void {
    if (!this.replica || first <= this.firstPosition) return;
    if (this.released && this.released.first >= first) return;
    this.released = { first, asOf };
  }

  private dropReleasedSegments(): string[] {
    const r = this.released;
    if (!r || !this.replica || this.reshaping || this.state !== 'open' || !this.index.hasCheckpoint || this.index.checkpoint.position < r.asOf) return [];
    const deleted: string[] = [];
    while (this.log.segments.length >= 2 && this.log.segments[1].start <= r.first) {
      const s = this.log.segments[0];
      this.log.deleteSegment(s);
      deleted.push(s.file);
    }
    if (deleted.length > 0) this.logger.info({ deleted, masterFirst: r.first, firstPosition: this.firstPosition }, `replica dropped ${deleted.length} segment(s) the master no longer holds`);
    if (this.log.segments.length < 2 || this.log.segments[1].start > r.first) this.released = null;
    return deleted;
  }

  get isReplica(): boolean {
    return this.replica;
  }

  private tap: WrittenTap | null = null;

  /**
   * Shows each group's bytes to `tap` after the write and before the fdatasync (the replication
   * master's early send, DESIGN §4); null removes it. One tap at a time.
   */
  setWrittenTap(tap: WrittenTap | null): void {
    this.tap = tap;
    if (this.writer) this.writer.tap = tap;
  }

  /** Calls `fn(end)` whenever more of the log becomes durable; returns the unsubscribe function. */
  onDurableAdvance(fn: (end: number) => void): () => void {
    this.durableListeners.add(fn);
    return () => this.durableListeners.delete(fn);
  }

  private readonly writeFailureListeners = new Set<(err: QmqError) => void>();

  /**
   * Calls `fn(err)` once the writer has stopped for good (an I/O error that leaves the page cache
   * in doubt, or a group sent early that failed; not a fence): this store accepts no more writes,
   * and only a new store opened on the directory, which re-reads the files, can. Returns the
   * unsubscribe function.
   */
  onWriteFailure(fn: (err: QmqError) => void): () => void {
    this.writeFailureListeners.add(fn);
    return () => this.writeFailureListeners.delete(fn);
  }

  /** Where the next record goes: the end of everything placed, durable or not yet. */
  get appendPosition(): number {
    this.assertOpen();
    return this.writer.nextPosition;
  }

  /** The position of the oldest record still held (earlier segments were compacted away). */
  get firstPosition(): number {
    this.assertOpen();
    return this.log.segments[0]?.start ?? this.durableEnd;
  }

  /** The state the index holds now (what `open()` returned, brought up to date). */
  recoveredState(): RecoveredState {
    this.assertOpen();
    return this.index.recoveredState();
  }

  /**
   * Appends records exactly as the master wrote them: `data` holds whole records back to back,
   * starting at `appendPosition` and ending on a batch boundary. They land byte for byte at the
   * same positions (the header is recomputed from the same epoch, position and flags, so the CRC
   * comes out the same) and are applied to the index once durable, batch by batch. With
   * `deferSync` they count once written, and reach `syncedPosition` with the next fdatasync.
   */
  appendReplicated(data: Buffer, deferSync = false): Promise<void> {
    this.assertOpen();
    const batches: { encoded: EncodedOp[]; ops: (IndexOp | null)[]; epoch: number; rewrite: boolean }[] = [];
    let cur: (typeof batches)[number] | null = null;
    let pos = this.writer.nextPosition;
    for (let off = 0; off < data.length; ) {
      const r = decodeRecordAt(data, off, pos);
      if (!r.ok) throw new QmqError('STORE_CORRUPT', `a replicated record for log position ${pos} is invalid (${r.reason})`);
      const rec = r.record;
      if (cur && (cur.epoch !== rec.epoch || cur.rewrite !== rec.rewrite)) {
        throw new QmqError('STORE_CORRUPT', `a replicated batch changes epoch or kind at log position ${pos}`);
      }
      cur ??= { encoded: [], ops: [], epoch: rec.epoch, rewrite: rec.rewrite };
      cur.encoded.push({ type: rec.type, buf: data.subarray(off, off + rec.length) });
      cur.ops.push(decodeIndexOp(rec.type, rec.payload));
      off += rec.length;
      pos += rec.length;
      if (!rec.more) {
        batches.push(cur);
        cur = null;
      }
    }
    if (cur) throw new QmqError('STORE_CORRUPT', `replicated records end inside a batch at log position ${pos}`);
    const done: Promise<void>[] = [];
    for (const b of batches) {
      if (b.epoch > this.epoch) this.epoch = b.epoch;
      done.push(this.writer.append(b.encoded, b.ops, b.epoch, b.rewrite, deferSync));
    }
    return Promise.all(done).then(() => undefined);
  }

  /**
   * Cuts the log at `position` (a record boundary): the bytes after it go, byte for byte, into a
   * file under `<directory>/quarantine/`, and the index is rebuilt to match.
   */
  async truncateTo(position: number, reason: string): Promise<ReplicaTruncation> {
    this.released = null;
    this.reshaping = true;
    try {
      return await this.truncateQuietly(position, reason);
    } finally {
      this.reshaping = false;
    }
  }

  private async truncateQuietly(position: number, reason: string): Promise<ReplicaTruncation> {
    await this.quiesce();
    const end = this.durableEnd;
    if (position > end || position < this.firstPosition) throw new QmqError('INTERNAL', `cannot truncate the log to ${position}: it holds ${this.firstPosition}..${end}`);
    if (position < end) {
      const head = await this.log.read(position, Math.min(HEADER_BYTES, end - position));
      if (!looksLikeRecordAt(head, 0, position)) throw new QmqError('STORE_CORRUPT', `log position ${position} is not a record boundary; refusing to truncate there`);
    }
    const report = await cutTail(this.config.directory, this.log, position, end, reason, this.logger);
    await this.reopenIndex();
    return report;
  }

  /**
   * Sets the whole log aside into `<directory>/quarantine/replaced-…/` (a rename, not a copy)
   * and restarts it empty at `position`: a snapshot's records follow from there.
   */
  async resetTo(position: number, reason: string): Promise<ReplicaTruncation> {
    this.released = null;
    this.reshaping = true;
    try {
      await this.quiesce();
      const report = replaceLog(this.config.directory, this.log, position, this.durableEnd, reason, this.logger);
      await this.index.wipe();
      await this.reopenIndex();
      return report;
    } finally {
      this.reshaping = false;
    }
  }

  /** Waits until nothing writes the log or the index. */
  private async quiesce(): Promise<void> {
    this.assertOpen();
    await this.writer.idle();
    await this.flushing;
    await this.compactor.idle();
    await this.writer.idle();
  }

  private async flushIndexAt(): Promise<void> {
    if (!this.flushing) {
      this.flushing = (async () => {
        this.syncLogForCheckpoint();
        await this.index.flush();
      })().finally(() => {
        this.flushing = null;
      });
    }
    await this.flushing;
  }

  /** Drops the in-memory index, reopens it at its checkpoint and replays the log after it. */
  private async reopenIndex(): Promise<void> {
    await this.index.close();
    this.index = await JournalIndex.open(path.join(this.config.directory, 'index'), this.config.enableJournalDiskSyncs);
    this.recovery = await recoverJournal(this.config.directory, this.log, this.index, this.logger);
    this.durableEnd = this.recovery.endPosition;
    this.lastEpoch = this.recovery.lastEpoch;
    this.startWriter();
    await this.index.flush();
    for (const fn of this.durableListeners) fn(this.durableEnd);
  }

  /** Group-commit counters (fsyncs, groups, batches), for tests and metrics. */
  get writerStats(): WriterStats {
    return { ...this.writer.stats };
  }

  get segmentFiles(): string[] {
    return this.log.segments.map((s) => s.file);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    if (this.timer) clearInterval(this.timer);
    await this.writer.idle();
    await this.flushing;
    await this.compactor.idle();
    await this.writer.idle();
    this.state = 'closed';
    try {
      if (!this.writer.writeFailure && !this.isFenced()) {
        this.syncLogForCheckpoint();
        await this.index.flush();
      }
    } finally {
      await this.index.close();
      await this.log.close();
      this.lock?.release();
      this.lock = null;
    }
  }
}
