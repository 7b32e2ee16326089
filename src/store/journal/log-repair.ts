import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../util/logger.js';
import { scanLog } from './log-scanner.js';
import { quarantineDirectory } from './recovery.js';
import { fsyncPath, listSegmentFiles, storeIoError } from './segment-log.js';

/**
 * A store directory holding this file belongs to a replication group (the replication layer
 * writes it: the highest epoch the node has promised to follow). Such a store can heal damage
 * from the group, so its default is to quarantine a damaged tail instead of refusing to open.
 */
export const REPLICATION_MARKER_FILE = 'replication-epoch';

export function belongsToReplicationGroup(storeDir: string): boolean {
  return fs.existsSync(path.join(storeDir, REPLICATION_MARKER_FILE));
}

/** What `quarantineDamagedTail` found and moved aside. */
export interface DamageRepair {
  /** The damaged segment file, the offset inside it and the log position of the damage. */
  segment: string;
  offset: number;
  position: number;
  reason: string;
  /** The log now ends here: the start of the batch holding the damaged record. */
  cutAt: number;
  /** Non-zero bytes the log gave up (the written parts of the segments set aside, after the cut). */
  bytes: number;
  /** A directory holding the set-aside segment files unchanged, damage included. */
  quarantine: string;
}

function lastNonZero(buf: Buffer): number {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

/**
 * For a replica (DESIGN §3, §4 "damaged replica"): verifies every record of the log, and if one
 * fails its check, cuts the log at the start of that record's batch. The segment files from the
 * cut on are moved unchanged into `<directory>/quarantine/damaged-<position>-<time>/` (the damaged
 * bytes are kept, never deleted), and the segment holding the cut is rewritten with only its
 * bytes before the cut. The node then holds a clean prefix and catches the rest up from the master.
 *
 * Damage with nothing valid after it (a torn tail) is left alone: ordinary recovery truncates it
 * to the last whole batch (the index checkpoint's last record is then missing or invalid, so
 * recovery rescans the whole log), which is the same cut with a smaller quarantine copy.
 * Runs before the segment log is opened; the caller rebuilds the index when the cut lies before
 * its checkpoint.
 */
export async function quarantineDamagedTail(storeDir: string, logger: Logger): Promise<DamageRepair | null> {
  const segments = listSegmentFiles(storeDir);
  if (segments.length === 0) return null;
  const it = scanLog(segments, segments[0].start);
  let batchStart = segments[0].start;
  let stop;
  for (;;) {
    const next = await it.next();
    if (next.done) {
      stop = next.value;
      break;
    }
    const r = next.value.record;
    if (!r.more) batchStart = r.position + r.length;
  }
  if (stop.kind !== 'damage') return null;
  if (stop.nextValid === null) return null;

  const cutAt = batchStart;
  let first = 0;
  while (first + 1 < segments.length && segments[first + 1].start <= cutAt) first++;
  const cutSegment = segments[first];
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const qdir = path.join(quarantineDirectory(storeDir), `damaged-${String(cutAt).padStart(20, '0')}-${stamp}`);
  let bytes = 0;
  try {
    fs.mkdirSync(qdir, { recursive: true });
    const moved: string[] = [];
    for (const s of segments.slice(first)) {
      const to = path.join(qdir, path.basename(s.file));
      fs.renameSync(s.file, to);
      moved.push(to);
    }
    fsyncPath(qdir);
    // The head segment comes back with its bytes before the cut; the writer appends after them.
    const keep = cutAt - cutSegment.start;
    const original = fs.readFileSync(moved[0]);
    const fd = fs.openSync(cutSegment.file, 'wx');
    try {
      if (keep > 0) fs.writeSync(fd, original, 0, keep, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    bytes = Math.max(0, lastNonZero(original) - keep);
    for (const f of moved.slice(1)) bytes += lastNonZero(fs.readFileSync(f));
    fsyncPath(path.dirname(cutSegment.file));
    fsyncPath(cutSegment.file);
  } catch (e) {
    throw storeIoError(`moving the damaged journal tail from position ${cutAt} to ${qdir}`, e);
  }
  const report: DamageRepair = { segment: stop.segment.file, offset: stop.offset, position: stop.position, reason: stop.reason, cutAt, bytes, quarantine: qdir };
  logger.error(
    report,
    `journal damaged at ${stop.segment.file} offset ${stop.offset} (log position ${stop.position}: ${stop.reason}); ` +
      `this node belongs to a replication group, so the log from position ${cutAt} on (${bytes} bytes) was moved to ${qdir} and will be caught up from the master`,
  );
  return report;
}
