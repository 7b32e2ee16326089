import fs from 'node:fs';
import { anyNonZero, decodeRecordAt, looksLikeRecordAt, type DecodedRecord } from './record-codec.js';

export interface SegmentRef {
  start: number;
  file: string;
}

export interface ScannedRecord {
  record: DecodedRecord;
  segment: SegmentRef;
  /** Byte offset of the record inside its segment file. */
  offset: number;
}

/** Where scanning stopped. `clean`: zero-filled space or end of file with nothing after it. */
export type ScanStop =
  | { kind: 'clean'; position: number }
  | {
      kind: 'damage';
      segment: SegmentRef;
      offset: number;
      position: number;
      reason: string;
      /** The first valid record after the damage, if any: then the damage is in the middle. */
      nextValid: { segment: SegmentRef; offset: number; position: number } | null;
      /** Bytes from the damage to the last non-zero byte of its segment (what a truncation discards there). */
      damagedBytesInSegment: number;
    };

/**
 * Reads the log record by record from `fromPosition`, validating every frame (length, CRC,
 * position, type) and the joins between segments. It never skips anything: it stops at the
 * first record that is not valid and says whether valid records follow.
 *
 * A segment is read whole: segments are bounded by `journalMaxFileLengthBytes`, and this runs
 * only at startup and in the offline tools.
 */
export async function* scanLog(segments: SegmentRef[], fromPosition: number): AsyncGenerator<ScannedRecord, ScanStop> {
  let i = segments.findIndex((s, k) => s.start <= fromPosition && (k === segments.length - 1 || segments[k + 1].start > fromPosition));
  if (i < 0) return { kind: 'clean', position: fromPosition };
  let position = fromPosition;
  for (; i < segments.length; i++) {
    const seg = segments[i];
    const buf = await readSegment(seg);
    let off = position - seg.start;
    for (;;) {
      const r = decodeRecordAt(buf, off, seg.start + off);
      if (r.ok) {
        yield { record: r.record, segment: seg, offset: off };
        off += r.record.length;
        position = seg.start + off;
        continue;
      }
      if (r.reason === 'empty' && !anyNonZero(buf, off, buf.length)) break;
      return damage(segments, i, seg.start + off, r.reason === 'empty' ? 'non-zero bytes after the end of the data' : r.reason, buf);
    }
    position = seg.start + off;
    if (i < segments.length - 1 && segments[i + 1].start !== position) {
      return damage(segments, i, position, `the next segment starts at ${segments[i + 1].start}, not at ${position} where this one's data ends`, buf);
    }
  }
  return { kind: 'clean', position };
}

async function readSegment(seg: SegmentRef): Promise<Buffer> {
  return fs.promises.readFile(seg.file);
}

function lastNonZero(buf: Buffer, from: number): number {
  for (let i = buf.length - 1; i >= from; i--) if (buf[i] !== 0) return i;
  return from - 1;
}

async function damage(segments: SegmentRef[], i: number, position: number, reason: string, buf: Buffer): Promise<ScanStop> {
  const seg = segments[i];
  const offset = position - seg.start;
  return {
    kind: 'damage',
    segment: seg,
    offset,
    position,
    reason,
    nextValid: await findValidAfter(segments, i, offset, buf),
    damagedBytesInSegment: Math.max(0, lastNonZero(buf, offset) + 1 - offset),
  };
}

/**
 * The first valid record after a damaged offset. A record is valid only at the position it
 * names, so a cheap position check filters candidates before the CRC is computed.
 */
export async function findValidAfter(segments: SegmentRef[], i: number, offset: number, buf: Buffer): Promise<{ segment: SegmentRef; offset: number; position: number } | null> {
  const inSame = findValidInBuffer(segments[i], buf, offset + 1);
  if (inSame) return inSame;
  for (let k = i + 1; k < segments.length; k++) {
    const found = findValidInBuffer(segments[k], await readSegment(segments[k]), 0);
    if (found) return found;
  }
  return null;
}

function findValidInBuffer(seg: SegmentRef, buf: Buffer, fromOffset: number): { segment: SegmentRef; offset: number; position: number } | null {
  for (let off = fromOffset; off + 25 <= buf.length; off++) {
    if (!looksLikeRecordAt(buf, off, seg.start + off)) continue;
    if (decodeRecordAt(buf, off, seg.start + off).ok) return { segment: seg, offset: off, position: seg.start + off };
  }
  return null;
}
