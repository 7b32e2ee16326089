import type { JournalStore } from '../../store/journal/journal-store.js';
import type { MessageStore, RecoveredState, StoredMessage, StoreOp, StoreStats } from '../../store/message-store.js';
import { QmqError } from '../../util/errors.js';
import type { ReplicationServer } from './replication-server.js';

/**
 * The master's MessageStore (DESIGN §4 step 5): write() appends to the local journal and
 * resolves only once the sync level is met for that batch (ReplicationServer.waitForSync).
 * After `fence()` every write rejects with FENCED, including those already waiting.
 * close() does NOT close the journal (the node keeps it, as a slave).
 */
export class ReplicatedStore implements MessageStore {
  readonly kind = 'replicated';
  private fencedReason: string | null = null;
  private closed = false;

  constructor(
    private readonly journal: JournalStore,
    private readonly server: ReplicationServer,
  ) {
    server.onFenced((higher) => this.fence(`a slave has seen epoch ${higher}, newer than this master's ${server.epoch}`));
  }

  /** Every write, waiting or to come, fails with FENCED: a fenced master answers its waiting senders at once. */
  fence(reason: string): void {
    if (this.fencedReason !== null) return;
    this.fencedReason = reason;
    this.server.abortWaiters(this.fencedError());
  }

  get fenced(): boolean {
    return this.fencedReason !== null;
  }

  private fencedError(): QmqError {
    return new QmqError('FENCED', `this node is no longer master of epoch ${this.server.epoch}: ${this.fencedReason}`);
  }

  private check(): void {
    if (this.fencedReason !== null) throw this.fencedError();
    if (this.closed) throw new QmqError('STORE_CLOSED', 'the replicated store is closed');
  }

  /** The journal is already open (the node opened it before the election); the epoch marker must meet the sync level. */
  async open(): Promise<RecoveredState> {
    this.check();
    await this.server.waitForSync(this.journal.lastPosition().position);
    this.check();
    return this.journal.recoveredState();
  }

  async write(ops: StoreOp[]): Promise<void> {
    this.check();
    if (ops.length === 0) return;
    const local = this.journal.write(ops);
    // The writer placed the batch synchronously: this is where it ends. The commit position never
    // passes our own durable end, so the sync wait covers the local write too; the server fails
    // the wait at once if `local` fails.
    await this.server.waitForSync(this.journal.appendPosition, local);
    // Fenced between the commit and now: a deposed master must not confirm a send.
    this.check();
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
    this.closed = true;
  }
}
