/**
 * An epoch marker this node wrote when it was elected but that no quorum has confirmed yet
 * (the takeover failed or was overtaken before the marker met the sync level). The marker is
 * in the log, and its epoch is higher than any record the other nodes hold, so by the election
 * rule (highest epoch first) it would outrank them, although it carries no data and nobody else
 * has it. A chaos run showed the cost: a node overtaken during its takeover later won with that
 * lone marker against the two nodes holding an acknowledged transaction of the epoch between,
 * and made them cut it as a divergent tail. So for the election a node reports its log as it was
 * before its unconfirmed markers, for as long as they are the end of its log. The record is kept
 * in `<directory>/unconfirmed-epoch` so that a restart reports the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LogPosition } from './election.js';

const FILE = 'unconfirmed-epoch';

export interface UnconfirmedEpoch {
  /** The newest epoch this node took without its marker being confirmed. */
  epoch: number;
  /** The log's end before the first of the unconfirmed markers at its end. */
  before: LogPosition;
}

/** The position a node reports for the election: its log without unconfirmed trailing markers. */
export function electionPosition(own: LogPosition, unconfirmed: UnconfirmedEpoch | null): LogPosition {
  // Once anything of another epoch follows (a master's records, after our markers were cut), they are not the end any more.
  return unconfirmed && own.epoch === unconfirmed.epoch ? unconfirmed.before : own;
}

export function readUnconfirmedEpoch(storeDir: string): UnconfirmedEpoch | null {
  const file = path.join(storeDir, FILE);
  if (!fs.existsSync(file)) return null;
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as UnconfirmedEpoch;
    if (Number.isSafeInteger(v.epoch) && Number.isSafeInteger(v.before?.epoch) && Number.isSafeInteger(v.before?.position)) return v;
  } catch {
    // A torn write: fall through (reporting the full log is the behaviour without the file).
  }
  return null;
}

/** Records, durably, that this node is about to write the marker of `epoch` on a log ending at `own`. */
export function noteUnconfirmedEpoch(storeDir: string, epoch: number, own: LogPosition, current: UnconfirmedEpoch | null): UnconfirmedEpoch {
  const next: UnconfirmedEpoch = { epoch, before: electionPosition(own, current) };
  const file = path.join(storeDir, FILE);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(next) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return next;
}

/** The marker met the sync level: it is as good as any record now. */
export function clearUnconfirmedEpoch(storeDir: string): void {
  fs.rmSync(path.join(storeDir, FILE), { force: true });
}
