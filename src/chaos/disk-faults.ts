/**
 * Disk faults on a stopped node's journal: a torn tail (the last segment cut short) and bit
 * rot (one bit flipped in an old segment). The node must notice either on restart, repair
 * itself from the master, and never hand the damaged record to a consumer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listSegmentFiles } from '../store/journal/segment-log.js';
import type { Rng } from './rng.js';

export interface DiskDamage {
  file: string;
  offset: number;
  detail: string;
}

/** Store directories (holding `log/<20 digits>.log`) anywhere under `root`. */
export function findJournalDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (listSegmentFiles(dir).length > 0) found.push(dir);
    for (const e of entries) if (e.isDirectory() && e.name !== 'log') walk(path.join(dir, e.name), depth + 1);
  };
  walk(root, 0);
  return found;
}

/** Segments are preallocated with zeros: the written part ends at the last non-zero byte. */
function writtenBytes(file: string): number {
  const buf = fs.readFileSync(file);
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

/** Cuts the newest segment somewhere in its written part, like a crash mid-write with no fsync. */
export function truncateLastSegment(storeDir: string, rng: Rng): DiskDamage {
  const segments = listSegmentFiles(storeDir);
  const last = segments[segments.length - 1];
  if (!last) throw new Error(`no journal segment in ${storeDir}`);
  const written = writtenBytes(last.file);
  if (written === 0) throw new Error(`the last segment ${last.file} is empty: nothing to truncate`);
  const offset = Math.floor(written / 2) + rng.int(Math.max(1, Math.ceil(written / 2)));
  fs.truncateSync(last.file, offset);
  return { file: last.file, offset, detail: `truncated from ${written} written bytes to ${offset}` };
}

/** Flips one bit in an old segment's written part (the oldest whole segment, else the first half of the only one). */
export function flipBitInOldSegment(storeDir: string, rng: Rng): DiskDamage {
  const segments = listSegmentFiles(storeDir);
  if (segments.length === 0) throw new Error(`no journal segment in ${storeDir}`);
  const target = segments.length > 1 ? segments[rng.int(segments.length - 1)]! : segments[0]!;
  const written = writtenBytes(target.file);
  const span = segments.length > 1 ? written : Math.floor(written / 2);
  if (span <= 0) throw new Error(`segment ${target.file} has no written bytes to damage`);
  const offset = rng.int(span);
  const bit = rng.int(8);
  const fd = fs.openSync(target.file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, offset);
    b[0] = b[0]! ^ (1 << bit);
    fs.writeSync(fd, b, 0, 1, offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { file: target.file, offset, detail: `flipped bit ${bit} at offset ${offset}` };
}
