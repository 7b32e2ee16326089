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
  private readonly waiting = new Set<(e: QmqError) => void>();

  constructor(
    private readonly journal: JournalStore,
    private readonly server: ReplicationServer,
  ) {
    server.onFenced((higher) => this.fence(`a slave has seen epoch ${higher}, newer than this master's ${server.epoch}`));
  }

  fence(reason: string): void {
    if (this.fencedReason !== null) return;
    this.fencedReason = reason;
    const err = this.fencedError();
    for (const reject of [...this.waiting]) reject(err);
    this.waiting.clear();
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

  /** Races `p` against fencing, so a fenced master answers its waiting senders at once. */
  private guard<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onFence = (e: QmqError) => reject(e);
      this.waiting.add(onFence);
      p.then(
        (v) => {
          this.waiting.delete(onFence);
          if (this.fencedReason !== null) reject(this.fencedError());
          else resolve(v);
        },
        (e: unknown) => {
          this.waiting.delete(onFence);
          reject(e);
        },
      );
    });
  }

  /** The journal is already open (the node opened it before the election); the epoch marker must meet the sync level. */
  async open(): Promise<RecoveredState> {
    this.check();
    await this.guard(this.server.waitForSync(this.journal.lastPosition().position));
    return this.journal.recoveredState();
  }

  async write(ops: StoreOp[]): Promise<void> {
    this.check();
    if (ops.length === 0) return;
    const local = this.journal.write(ops);
    // The writer placed the batch synchronously: this is where it ends. The commit position never
    // passes our own durable end, so the sync wait covers the local write too; `local` is awaited
    // as well so that a failed write rejects at once instead of after syncTimeout.
    const end = this.journal.appendPosition;
    await this.guard(Promise.all([local, this.server.waitForSync(end)]));
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
