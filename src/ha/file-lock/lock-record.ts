/**
 * What the holder of `<directory>/lock` writes into it: who holds it and the epoch of its
 * mastership. Waiting brokers read it to report the holder and to pick the next epoch; the
 * holder's keep-alive reads it back to notice that someone replaced or rewrote the file.
 * One JSON object on one line, so an operator can `cat` it.
 */
export interface LockRecord {
  /** The holder's node id: `<brokerName>@<host>:<pid>`. */
  nodeId: string;
  epoch: number;
  /** When the holder took the lock (ms since the Unix epoch), for operators. */
  acquiredAtMs: number;
}

export function encodeLockRecord(record: LockRecord): Buffer {
  return Buffer.from(JSON.stringify({ nodeId: record.nodeId, epoch: record.epoch, acquiredAtMs: record.acquiredAtMs }) + '\n', 'utf8');
}

export type DecodedLock = { kind: 'empty' } | { kind: 'record'; record: LockRecord } | { kind: 'unreadable'; text: string };

/**
 * Reads the lock file's content. An empty file is a fresh store (or one whose lock file an
 * operator recreated); anything else that is not a record is reported, not trusted.
 */
export function decodeLockRecord(bytes: Buffer): DecodedLock {
  const text = bytes.toString('utf8').trim();
  if (text === '') return { kind: 'empty' };
  try {
    const v = JSON.parse(text) as Partial<LockRecord>;
    if (typeof v.nodeId === 'string' && Number.isSafeInteger(v.epoch) && (v.epoch as number) >= 0) {
      return { kind: 'record', record: { nodeId: v.nodeId, epoch: v.epoch as number, acquiredAtMs: typeof v.acquiredAtMs === 'number' ? v.acquiredAtMs : 0 } };
    }
  } catch {
    // Not JSON: fall through (an older tool or a person may have written it).
  }
  return { kind: 'unreadable', text: text.slice(0, 200) };
}

/** The epoch the next holder takes: above the old holder's and above anything in the journal. */
export function nextEpoch(previous: DecodedLock, storeEpoch: number): number {
  const fromLock = previous.kind === 'record' ? previous.record.epoch : 0;
  return Math.max(fromLock, storeEpoch) + 1;
}
