import type { PersistenceConfig } from '../config/types.js';
import { QmqError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { MessageStore } from './message-store.js';
import { MemoryStore } from './memory/memory-store.js';
import { JournalStore } from './journal/journal-store.js';
import { JdbcStore } from './jdbc/jdbc-store.js';

/** The store a persistence config asks for. */
export function createStore(persistence: PersistenceConfig, logger: Logger): MessageStore {
  switch (persistence.kind) {
    case 'memory':
      return new MemoryStore();
    case 'journal':
      return new JournalStore(persistence, logger.child({ component: 'journal' }));
    case 'replicatedLevelDB':
      throw new QmqError(
        'INTERNAL',
        'a <replicatedLevelDB> store is opened by its HA mode (src/ha/replicated-mode.ts), never on its own',
      );
    case 'jdbc':
      // Unfenced: the JDBC HA mode builds its own store, fenced with the lease's epoch.
      return new JdbcStore({ ...persistence, logger: logger.child({ component: 'jdbc-store' }) });
  }
}
