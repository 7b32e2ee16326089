import type { JournalStore } from '../../store/journal/journal-store.js';
import type { MessageStore, RecoveredState, StoredMessage, StoreOp, StoreStats } from '../../store/message-store.js';
import type { ReplicationServer } from './replication-server.js';

/**
 * A MessageStore for the master: write() appends to the local journal and resolves only once
 * the sync level is met for that batch. After `fence()` every write rejects with FENCED.
 * close() does NOT close the journal (the node keeps it as a slave).
 */
export class ReplicatedStore implements MessageStore {
  readonly kind = 'replicated';
  constructor(
    private readonly journal: JournalStore,
    private readonly server: ReplicationServer,
  ) {}
  fence(_reason: string): void {}
  async open(): Promise<RecoveredState> {
    throw new Error('not implemented');
  }
  async write(_ops: StoreOp[]): Promise<void> {
    throw new Error('not implemented');
  }
  read(queue: string, fromSeq: number, maxCount: number): Promise<StoredMessage[]> {
    return this.journal.read(queue, fromSeq, maxCount);
  }
  isTransactionCommitted(txId: string): Promise<boolean> {
    return this.journal.isTransactionCommitted(txId);
  }
  stats(): Promise<StoreStats> {
    return this.journal.stats();
  }
  async close(): Promise<void> {
    void this.server;
  }
}
