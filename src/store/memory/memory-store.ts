import { QmqError } from '../../util/errors.js';
import { destinationKey, type DestinationRef } from '../../broker/message.js';
import {
  durableQueueKey,
  type DurableSubscriptionRecord,
  type MessageStore,
  type RecoveredState,
  type StoredMessage,
  type StoreOp,
  type StoreStats,
} from '../message-store.js';

/** Most recent producers whose sequence is remembered; older ones are forgotten first. */
const PRODUCER_WINDOW = 10_000;

/**
 * Keeps everything in process memory: nothing survives a restart. Used for
 * `persistent="false"` brokers and as the reference implementation in unit tests.
 */
export class MemoryStore implements MessageStore {
  readonly kind = 'memory';
  private queues = new Map<string, Map<number, StoredMessage>>();
  private lastSeq = new Map<string, number>();
  private destinations = new Map<string, DestinationRef>();
  private subscriptions = new Map<string, DurableSubscriptionRecord>();
  private producerSeqs = new Map<string, number>();
  private committedTx = new Set<string>();
  private closed = false;
  /** Queues that received a seq below their highest one since the last read. */
  private unsorted = new Set<string>();

  async open(): Promise<RecoveredState> {
    this.closed = false;
    return {
      destinations: [...this.destinations.values()],
      subscriptions: [...this.subscriptions.values()],
      // Every queue ever written, empty ones too: their seqs must keep rising after a restart.
      queues: [...this.queues.entries()].map(([queue, msgs]) => ({ queue, count: msgs.size, lastSeq: this.lastSeq.get(queue) ?? 0 })),
      producerSeqs: new Map(this.producerSeqs),
    };
  }

  async write(ops: StoreOp[]): Promise<void> {
    this.assertOpen();
    for (const op of ops) this.apply(op);
  }

  async read(queue: string, fromSeq: number, maxCount: number): Promise<StoredMessage[]> {
    this.assertOpen();
    const msgs = this.queues.get(queue);
    if (!msgs || maxCount <= 0) return [];
    if (this.unsorted.delete(queue)) this.queues.set(queue, new Map([...msgs.entries()].sort(([a], [b]) => a - b)));
    const out: StoredMessage[] = [];
    // Map iteration order is insertion order, kept ascending by the re-sort above.
    for (const m of this.queues.get(queue)!.values()) {
      if (m.seq < fromSeq) continue;
      out.push(m);
      if (out.length >= maxCount) break;
    }
    return out;
  }

  async isTransactionCommitted(txId: string): Promise<boolean> {
    return this.committedTx.has(txId);
  }

  async stats(): Promise<StoreStats> {
    let messages = 0;
    for (const q of this.queues.values()) messages += q.size;
    return { sizeBytes: 0, messages };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new QmqError('STORE_CLOSED', 'the memory store is closed');
  }

  private apply(op: StoreOp): void {
    switch (op.type) {
      case 'add': {
        let q = this.queues.get(op.queue);
        if (!q) this.queues.set(op.queue, (q = new Map()));
        // Seqs normally arrive rising; one that does not marks the queue for a re-sort on read.
        if (q.size > 0 && op.seq < (this.lastSeq.get(op.queue) ?? 0) && !q.has(op.seq)) this.unsorted.add(op.queue);
        q.set(op.seq, { queue: op.queue, seq: op.seq, message: op.message });
        if (op.seq > (this.lastSeq.get(op.queue) ?? 0)) this.lastSeq.set(op.queue, op.seq);
        return;
      }
      case 'remove':
        this.queues.get(op.queue)?.delete(op.seq);
        return;
      case 'destination-add':
        this.destinations.set(destinationKey(op.destination), op.destination);
        return;
      case 'destination-remove': {
        const key = destinationKey(op.destination);
        this.destinations.delete(key);
        this.queues.delete(key);
        return;
      }
      case 'subscription-add':
        this.subscriptions.set(durableQueueKey(op.subscription.clientId, op.subscription.name), op.subscription);
        return;
      case 'subscription-remove': {
        const key = durableQueueKey(op.clientId, op.name);
        this.subscriptions.delete(key);
        this.queues.delete(key);
        return;
      }
      case 'producer-seq':
        this.producerSeqs.delete(op.producerId);
        this.producerSeqs.set(op.producerId, op.seq);
        if (this.producerSeqs.size > PRODUCER_WINDOW) {
          const oldest = this.producerSeqs.keys().next().value;
          if (oldest !== undefined) this.producerSeqs.delete(oldest);
        }
        return;
      case 'tx-commit':
        this.committedTx.add(op.txId);
        return;
    }
  }
}
