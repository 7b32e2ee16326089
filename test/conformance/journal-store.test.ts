import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JournalPersistence } from '../../src/config/types.js';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { MessageStore } from '../../src/store/message-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { runStoreConformance } from './message-store.conformance.js';

function config(directory: string, over: Partial<JournalPersistence> = {}): JournalPersistence {
  return { kind: 'journal', flavour: 'default', directory, journalMaxFileLengthBytes: 256 * 1024, checkpointIntervalMs: 0, enableJournalDiskSyncs: true, ...over };
}

for (const variant of ['small segments', 'tiny index flushes'] as const) {
  runStoreConformance(`journal (${variant})`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-journal-conf-'));
    const make = () => new JournalStore(config(dir), silentLogger, variant === 'tiny index flushes' ? { flushEntries: 3 } : {});
    let current: MessageStore = make();
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = make();
        return current;
      },
      cleanup: async () => {
        await current.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
