import fs from 'node:fs';
import path from 'node:path';
import { REPLICATION_MARKER_FILE } from '../../store/journal/log-repair.js';

/**
 * The highest epoch a node has seen from any master (Raft's currentTerm). A slave cannot write
 * it into its log as a marker record (its log must stay byte-identical to the master's), so it
 * lives in `<directory>/replication-epoch`, replaced atomically. DESIGN §4 step 4: with it, a
 * restarted slave still refuses a master older than one it already followed. Its presence also
 * tells the journal that this store can heal damage from the group (DESIGN §3).
 */
const FILE = REPLICATION_MARKER_FILE;

export function readPromisedEpoch(storeDir: string): number {
  try {
    const n = Number(fs.readFileSync(path.join(storeDir, FILE), 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** Records `epoch` unless the file already holds it or a higher one. */
export function promiseEpoch(storeDir: string, epoch: number): void {
  if (!fs.existsSync(path.join(storeDir, FILE)) || readPromisedEpoch(storeDir) < epoch) writePromisedEpoch(storeDir, epoch);
}

export function writePromisedEpoch(storeDir: string, epoch: number): void {
  const file = path.join(storeDir, FILE);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, `${epoch}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dfd = fs.openSync(storeDir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}
