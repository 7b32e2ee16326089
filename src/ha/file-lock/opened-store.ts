import { QmqError } from '../../util/errors.js';
import type { MessageStore, RecoveredState, StoredMessage, StoreOp, StoreStats } from '../../store/message-store.js';

/**
 * A store the mode has already opened (replayed, fenced, epoch marker written) before handing
 * it to the node: the core's `open()` gets the state recovered then, and every write is
 * refused at once with FENCED after the mode lost the lock. Closing twice closes once.
 */
export class OpenedStore implements MessageStore {
  private opened = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly inner: MessageStore,
    private readonly recovered: RecoveredState,
    /** The reason this node may no longer write, or null while it may. */
    private readonly fencedReason: () => string | null,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  async open(): Promise<RecoveredState> {
    if (this.opened) throw new QmqError('STORE_CLOSED', 'the store was already opened once; the HA mode hands over a new one per mastership');
    this.opened = true;
    return this.recovered;
  }

  write(ops: StoreOp[]): Promise<void> {
    const reason = this.fencedReason();
    if (reason !== null) return Promise.reject(new QmqError('FENCED', `this node is no longer master: ${reason}`));
    return this.inner.write(ops);
  }

  read(queue: string, fromSeq: number, maxCount: number): Promise<StoredMessage[]> {
    return this.inner.read(queue, fromSeq, maxCount);
  }

  isTransactionCommitted(txId: string): Promise<boolean> {
    return this.inner.isTransactionCommitted(txId);
  }

  stats(): Promise<StoreStats> {
    return this.inner.stats();
  }

  close(): Promise<void> {
    this.closing ??= this.inner.close();
    return this.closing;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }
}
