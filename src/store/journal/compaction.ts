import fs from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '../../util/logger.js';
import type { IndexOp, JournalIndex } from './leveldb-index.js';
import { decodeIndexOp, encodeRawPayload, type EncodedOp } from './op-codec.js';
import { decodeRecordAt } from './record-codec.js';
import type { SegmentLog } from './segment-log.js';

/** Bytes of live records copied per write batch, so compaction never hogs the writer. */
const REWRITE_BATCH_BYTES = 1024 * 1024;
/**
 * Records checked (CRC, decode, index lookup, which may hit LevelDB) between yields to the event
 * loop: a whole 32 MiB segment in one go stalled every socket for hundreds of milliseconds.
 */
const RECORDS_PER_SLICE = 512;

export interface CompactionResult {
  deletedSegments: string[];
  compactedSegments: string[];
  rewrittenRecords: number;
}

/**
 * Frees disk from the front of the log. Segments go strictly oldest first: a remove record
 * must outlive the add it cancels, or rebuilding the index from the log would bring the message
 * back, and deleting only the oldest segment guarantees that. A front segment with no live
 * record is deleted; one pinned by a few live records (below `liveRatio` of its bytes) has
 * them copied to the head, and is deleted on the next pass. Only segments wholly before the index
 * checkpoint are touched, so recovery never needs them.
 */
export class Compactor {
  private running: Promise<CompactionResult> | null = null;
  private lastKeptFront = -1;
  private lastKeptAtMs = 0;

  constructor(
    private readonly log: SegmentLog,
    private readonly index: JournalIndex,
    private readonly rewrite: (encoded: EncodedOp[], ops: IndexOp[]) => Promise<void>,
    /** Whether the record is live now, counting ops already queued for the log but not applied. */
    private readonly stillLive: (type: number, op: IndexOp, position: number) => boolean,
    private readonly logger: Logger,
    private readonly liveRatio: number,
    private readonly recheckMs: number,
  ) {}

  /** Runs one pass unless one is running (then waits for it). */
  run(force = false): Promise<CompactionResult> {
    if (!this.running) {
      this.running = this.pass(force).finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  idle(): Promise<unknown> {
    return this.running ?? Promise.resolve();
  }

  private async pass(force: boolean): Promise<CompactionResult> {
    const result: CompactionResult = { deletedSegments: [], compactedSegments: [], rewrittenRecords: 0 };
    for (let rounds = 0; rounds < 10_000; rounds++) {
      if (this.log.segments.length < 2) break;
      const front = this.log.segments[0];
      const end = this.log.segments[1].start;
      if (end > this.index.checkpoint.position) break;
      // A mostly-live front segment is not re-read on every checkpoint.
      if (!force && front.start === this.lastKeptFront && Date.now() - this.lastKeptAtMs < this.recheckMs) break;
      const live = await this.liveRecords(front.file, front.start, end);
      if (live === null) break;
      if (live.records.length === 0) {
        this.log.deleteSegment(front);
        result.deletedSegments.push(front.file);
        continue;
      }
      if (live.bytes > this.liveRatio * (end - front.start)) {
        this.lastKeptFront = front.start;
        this.lastKeptAtMs = Date.now();
        break;
      }
      // Liveness is checked again right before each copy is placed, with no await between the
      // check and the placement: the copy then comes after every op that could cancel it.
      for (let i = 0; i < live.records.length; ) {
        const encoded: EncodedOp[] = [];
        const ops: IndexOp[] = [];
        let bytes = 0;
        for (; i < live.records.length && bytes < REWRITE_BATCH_BYTES; i++) {
          const r = live.records[i];
          if (!this.stillLive(r.type, r.op, r.position)) continue;
          encoded.push(encodeRawPayload(r.type, r.payload));
          ops.push(r.op);
          bytes += r.payload.length;
        }
        if (encoded.length > 0) await this.rewrite(encoded, ops);
      }
      result.rewrittenRecords += live.records.length;
      result.compactedSegments.push(front.file);
      this.logger.info({ segment: front.file, liveRecords: live.records.length, liveBytes: live.bytes }, 'journal segment compacted');
      // The copies are applied, so the next round finds the segment dead and deletes it.
    }
    if (result.deletedSegments.length > 0) this.logger.debug({ deleted: result.deletedSegments }, 'journal segments deleted');
    return result;
  }

  private async liveRecords(file: string, start: number, end: number): Promise<{ records: { type: number; payload: Buffer; op: IndexOp; position: number }[]; bytes: number } | null> {
    const buf = await fs.promises.readFile(file);
    const records: { type: number; payload: Buffer; op: IndexOp; position: number }[] = [];
    let bytes = 0;
    // Yielding is safe: every record here was applied before the checkpoint, so one found dead
    // stays dead, and one found live is checked again right before it is copied.
    for (let off = 0, n = 0; start + off < end; n++) {
      if (n > 0 && n % RECORDS_PER_SLICE === 0) await yieldToLoop();
      const r = decodeRecordAt(buf, off, start + off);
      if (!r.ok) {
        this.logger.error({ segment: file, offset: off, reason: r.reason }, 'journal segment unreadable during compaction; it is kept (run `quorummq store verify`)');
        return null;
      }
      const op = decodeIndexOp(r.record.type, r.record.payload);
      if (op && this.index.isLive(r.record.type, op, r.record.position)) {
        records.push({ type: r.record.type, payload: r.record.payload, op, position: r.record.position });
        bytes += r.record.length;
      }
      off += r.record.length;
    }
    return { records, bytes };
  }
}
