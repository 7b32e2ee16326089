import type { JournalStore } from '../../store/journal/journal-store.js';
import { noteEpoch } from './catch-up-plan.js';
import type { LogShape } from './frames.js';

/**
 * The journal's held range and where each epoch starts in it. Reads every record header once;
 * a master does this when it starts (after that only its own epoch grows), a slave before it
 * logs in (its log does not move until the stream starts).
 */
export async function scanLogShape(journal: JournalStore): Promise<LogShape> {
  const first = journal.firstPosition;
  const end = journal.lastPosition().position;
  const epochs: LogShape['epochs'] = [];
  for await (const r of journal.readRecords(first)) {
    if (r.position >= end) break;
    noteEpoch(epochs, r.epoch, r.position);
  }
  return { first, end, epochs };
}

/** The length of the record at `position` (the epoch marker), or 0 if there is none. */
export async function recordLengthAt(journal: JournalStore, position: number): Promise<number> {
  for await (const r of journal.readRecords(position)) return r.bytes.length;
  return 0;
}
