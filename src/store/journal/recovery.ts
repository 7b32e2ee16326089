import fs from 'node:fs';
import path from 'node:path';
import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { IndexRecord, JournalIndex } from './leveldb-index.js';
import { scanLog, type ScanStop } from './log-scanner.js';
import { decodeIndexOp } from './op-codec.js';
import { decodeRecordAt, RecordType } from './record-codec.js';
import type { SegmentLog } from './segment-log.js';

export interface TruncationReport {
  segment: string;
  offset: number;
  position: number;
  /** Non-zero bytes discarded (moved to the quarantine file). */
  bytes: number;
  reason: string;
  quarantineFile?: string;
}

export interface RecoveryReport {
  /** Where replay started: the index checkpoint, or the first segment when the index was rebuilt. */
  fromPosition: number;
  endPosition: number;
  replayedRecords: number;
  replayedBatches: number;
  rebuiltIndex: boolean;
  truncation?: TruncationReport;
  /** Epoch of the last record in the log (0 when the log is empty). */
  lastEpoch: number;
}

/** Replay flushes the index every so many entries, so a long tail never fills memory. */
const REPLAY_FLUSH_ENTRIES = 50_000;

export function quarantineDirectory(storeDir: string): string {
  return path.join(storeDir, 'quarantine');
}

/** Saves bytes taken out of the log, so nothing is ever dropped without a copy. */
export function writeQuarantine(storeDir: string, segmentFile: string, offset: number, bytes: Buffer, suffix: 'bad' | 'torn'): string {
  const dir = quarantineDirectory(storeDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${path.basename(segmentFile)}.${offset}.${suffix}`);
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/**
 * Brings the index up to the end of the log: replays complete batches after the checkpoint,
 * truncates a torn tail (reporting it) and refuses to open a log with damage in the middle.
 */
export async function recoverJournal(storeDir: string, log: SegmentLog, index: JournalIndex, logger: Logger): Promise<RecoveryReport> {
  let rebuiltIndex = false;
  const first = log.segments[0];
  if (!first) {
    if (index.hasCheckpoint && index.checkpoint.position > 0) {
      logger.warn({ checkpoint: index.checkpoint.position }, 'the journal has no segments but the index has a checkpoint; rebuilding the index');
      await index.wipe();
      rebuiltIndex = true;
    }
    // A new store starts on a zero-filled segment too, not a sparse one whose every write
    // would also allocate blocks (and make each fdatasync commit file-system metadata).
    log.prepareNext();
    await log.whenPrepared();
    log.roll(0);
    return { fromPosition: 0, endPosition: 0, replayedRecords: 0, replayedBatches: 0, rebuiltIndex, lastEpoch: 0 };
  }
  let from = index.hasCheckpoint ? index.checkpoint.position : first.start;
  if (index.hasCheckpoint && from < first.start) {
    logger.warn({ checkpoint: from, firstSegment: first.file }, 'the index checkpoint lies before the first segment; rebuilding the index from the log');
    await index.wipe();
    rebuiltIndex = true;
    from = first.start;
  }
  if (!index.hasCheckpoint && first.start > 0) rebuiltIndex = true;
  if (index.hasCheckpoint && !rebuiltIndex && !checkpointStillInLog(log, index)) {
    // The log lost bytes the index had seen (a disk that lied about fsync, or a hand-cut
    // file): the index cannot be trusted, the log can. Rebuild, and the scan reports the cut.
    logger.warn({ checkpoint: index.checkpoint.position }, 'the journal no longer holds the record the index checkpoint ends with; rebuilding the index from the log');
    await index.wipe();
    rebuiltIndex = true;
    from = first.start;
  }

  const report: RecoveryReport = { fromPosition: from, endPosition: from, replayedRecords: 0, replayedBatches: 0, rebuiltIndex, lastEpoch: index.checkpoint.epoch };
  let batch: IndexRecord[] = [];
  let batchStart = from;
  let batchEpoch = 0;
  const it = scanLog(log.segments, from);
  let stop: ScanStop;
  for (;;) {
    const next = await it.next();
    if (next.done) {
      stop = next.value;
      break;
    }
    const { record } = next.value;
    if (batch.length === 0) batchStart = record.position;
    report.lastEpoch = record.epoch;
    if (record.type === RecordType.PAD) {
      // Repair left padding where damage was: whatever survived of a batch around it is kept.
      if (batch.length > 0) index.apply(batch, record.position, batchEpoch);
      index.apply([{ type: record.type, rewrite: false, position: record.position, length: record.length, crc: record.crc, op: null }], record.position + record.length, record.epoch);
      batch = [];
      report.replayedRecords++;
      continue;
    }
    batch.push({ type: record.type, rewrite: record.rewrite, position: record.position, length: record.length, crc: record.crc, op: decodeIndexOp(record.type, record.payload) });
    batchEpoch = record.epoch;
    report.replayedRecords++;
    if (record.more) continue;
    index.apply(batch, record.position + record.length, record.epoch);
    report.replayedBatches++;
    batch = [];
    if (index.pendingEntries >= REPLAY_FLUSH_ENTRIES) await index.flush();
  }

  let cutAt: number | null = null;
  let reason = '';
  if (stop.kind === 'damage') {
    if (stop.nextValid) {
      const nv = stop.nextValid;
      throw new QmqError(
        'STORE_CORRUPT',
        `journal segment ${stop.segment.file} is damaged at offset ${stop.offset} (log position ${stop.position}: ${stop.reason}), ` +
          `and valid records follow (${nv.segment.file} offset ${nv.offset}). Nothing was changed. ` +
          `Run \`quorummq store verify --repair ${storeDir}\` to move the damaged bytes to ${quarantineDirectory(storeDir)} and keep every valid record.`,
        { detail: JSON.stringify({ segment: stop.segment.file, offset: stop.offset, position: stop.position, reason: stop.reason }) },
      );
    }
    cutAt = stop.position;
    reason = stop.reason;
  }
  if (batch.length > 0) {
    // The batch's final record never made it: the batch was not acknowledged, so none of it counts.
    cutAt = batchStart;
    reason = cutAt === stop.position ? reason : `incomplete batch (${batch.length} records without their final record)${reason ? `, then ${reason}` : ''}`;
  }
  report.endPosition = cutAt ?? stop.position;
  if (cutAt !== null) report.truncation = truncateTail(storeDir, log, cutAt, reason, logger);
  return report;
}

/** Cuts the log at `position`: zeroes the rest of that segment, removes later segments, keeps copies. */
function truncateTail(storeDir: string, log: SegmentLog, position: number, reason: string, logger: Logger): TruncationReport {
  const seg = log.segmentFor(position);
  if (!seg) throw new QmqError('INTERNAL', `no segment holds log position ${position}`);
  const offset = position - seg.start;
  const buf = fs.readFileSync(seg.file);
  let end = buf.length;
  while (end > offset && buf[end - 1] === 0) end--;
  let bytes = Math.max(0, end - offset);
  let quarantineFile: string | undefined;
  if (bytes > 0) {
    quarantineFile = writeQuarantine(storeDir, seg.file, offset, buf.subarray(offset, end), 'torn');
    log.zeroRangeSync(seg, offset, end);
  }
  for (let s = log.head; s && s !== seg; s = log.head) {
    const b = fs.readFileSync(s.file);
    let e = b.length;
    while (e > 0 && b[e - 1] === 0) e--;
    if (e > 0) {
      writeQuarantine(storeDir, s.file, 0, b.subarray(0, e), 'torn');
      bytes += e;
    }
    log.deleteSegment(s);
  }
  const report: TruncationReport = { segment: seg.file, offset, position, bytes, reason, quarantineFile };
  logger.warn(report, `journal tail truncated: ${bytes} bytes at ${seg.file} offset ${offset} (${reason})`);
  return report;
}

function checkpointStillInLog(log: SegmentLog, index: JournalIndex): boolean {
  const cp = index.checkpoint;
  if (!cp.lastRecord) return true;
  const seg = log.segmentFor(cp.lastRecord.position);
  if (!seg) return false;
  const length = cp.position - cp.lastRecord.position;
  const buf = Buffer.alloc(length);
  let fd: number;
  try {
    fd = fs.openSync(seg.file, 'r');
  } catch {
    return false;
  }
  try {
    if (fs.readSync(fd, buf, 0, length, cp.lastRecord.position - seg.start) !== length) return false;
  } finally {
    fs.closeSync(fd);
  }
  const r = decodeRecordAt(buf, 0, cp.lastRecord.position);
  return r.ok && r.record.crc === cp.lastRecord.crc && r.record.length === length;
}
