import fs from 'node:fs';
import path from 'node:path';
import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { quarantineDirectory } from './recovery.js';
import { fsyncPath, storeIoError, type SegmentLog } from './segment-log.js';

/**
 * How a replica gives up log bytes it must not keep (DESIGN §4: a divergent tail is truncated
 * and moved to quarantine, never silently dropped). Both functions expect a quiet log: no write
 * in flight, no compaction running.
 */
export interface ReplicaTruncation {
  fromPosition: number;
  toPosition: number;
  bytes: number;
  reason: string;
  /** Where the bytes went: a file (a cut tail) or a directory of whole segments (a replaced log). */
  quarantine: string | null;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/**
 * Cuts the log at `position` (a record boundary <= `end`): the bytes [position, end) are copied
 * into one quarantine file, byte for byte, then zeroed in their segment; later segments go.
 */
export async function cutTail(storeDir: string, log: SegmentLog, position: number, end: number, reason: string, logger: Logger): Promise<ReplicaTruncation> {
  if (position >= end) return { fromPosition: position, toPosition: end, bytes: 0, reason, quarantine: null };
  const seg = log.segmentFor(position);
  if (!seg) throw new QmqError('STORE_CORRUPT', `no journal segment holds position ${position}, where the log must be cut`);
  const qdir = quarantineDirectory(storeDir);
  fs.mkdirSync(qdir, { recursive: true });
  const file = path.join(qdir, `divergent-${String(position).padStart(20, '0')}-${String(end).padStart(20, '0')}-${stamp()}.log`);
  try {
    const out = fs.openSync(file, 'wx');
    try {
      for (let p = position; p < end; ) {
        const s = log.segmentFor(p)!;
        const chunkEnd = Math.min(end, log.segmentEnd(s, end), p + 4 * 1024 * 1024);
        const bytes = await log.read(p, chunkEnd - p);
        fs.writeSync(out, bytes);
        p = chunkEnd;
      }
      fs.fsyncSync(out);
    } finally {
      fs.closeSync(out);
    }
    fsyncPath(qdir);
    // The copy is safe on disk before the log loses anything.
    const segEnd = Math.min(end, log.segmentEnd(seg, end));
    log.zeroRangeSync(seg, position - seg.start, segEnd - seg.start);
    while (log.head && log.head !== seg) log.deleteSegment(log.head);
    fsyncPath(log.dir);
  } catch (e) {
    throw e instanceof QmqError ? e : storeIoError(`moving the log tail from ${position} to quarantine`, e);
  }
  const report: ReplicaTruncation = { fromPosition: position, toPosition: end, bytes: end - position, reason, quarantine: file };
  logger.warn(report, `replica log truncated: ${end - position} bytes from position ${position} to ${end} moved to ${file} (${reason})`);
  return report;
}

/**
 * Sets the whole log aside (its segment files are moved, not copied, into a quarantine
 * directory) and starts an empty one at `position`, where a snapshot's records will land.
 */
export function replaceLog(storeDir: string, log: SegmentLog, position: number, end: number, reason: string, logger: Logger): ReplicaTruncation {
  const first = log.segments[0]?.start ?? end;
  const qdir = path.join(quarantineDirectory(storeDir), `replaced-${String(first).padStart(20, '0')}-${String(end).padStart(20, '0')}-${stamp()}`);
  try {
    fs.mkdirSync(qdir, { recursive: true });
    for (const s of log.segments.splice(0)) {
      if (s.fd !== null) fs.closeSync(s.fd);
      s.fd = null;
      s.deleted = true;
      fs.renameSync(s.file, path.join(qdir, path.basename(s.file)));
    }
    fsyncPath(qdir);
    fsyncPath(log.dir);
    log.roll(position);
  } catch (e) {
    throw e instanceof QmqError ? e : storeIoError(`setting the log aside into ${qdir}`, e);
  }
  fsyncPath(path.join(log.dir, fs.readdirSync(log.dir).find((n) => n.startsWith(String(position).padStart(20, '0')))!));
  const report: ReplicaTruncation = { fromPosition: first, toPosition: end, bytes: end - first, reason, quarantine: qdir };
  logger.warn(report, `replica log replaced by a snapshot: the old log (${first}..${end}, ${end - first} bytes) moved to ${qdir}; the new one starts at ${position} (${reason})`);
  return report;
}
