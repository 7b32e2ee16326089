import type { DestinationRef, Message } from '../broker/message.js';

/**
 * The contract every store (memory, journal, jdbc, replicated) fulfils. The broker core talks
 * only to this. `test/conformance/message-store.conformance.ts` is the executable form of the
 * contract, and every implementation must pass it.
 *
 * Unit of storage: a *store queue*, named by a string key. A JMS queue `a` is `queue://a`; a
 * durable topic subscription keeps its own copy of each message under `dsub://<clientId>:<name>`.
 * Within a store queue, the broker assigns each message a `seq` that only rises.
 */
export interface StoredMessage {
  queue: string;
  seq: number;
  message: Message;
}

export interface DurableSubscriptionRecord {
  clientId: string;
  name: string;
  /** The topic pattern subscribed to, e.g. `topic://prices.>` (wildcards allowed). */
  destination: DestinationRef;
  selector?: string;
  noLocal?: boolean;
}

export type StoreOp =
  /** A new message in a store queue. */
  | { type: 'add'; queue: string; seq: number; message: Message }
  /** The message was consumed (acked), expired, or moved away. Removing an unknown one is a no-op. */
  | { type: 'remove'; queue: string; seq: number }
  /** A destination now exists (it is recreated on restart, even while empty). */
  | { type: 'destination-add'; destination: DestinationRef }
  /** A destination was deleted; its store queue and all its messages go too. */
  | { type: 'destination-remove'; destination: DestinationRef }
  | { type: 'subscription-add'; subscription: DurableSubscriptionRecord }
  /** Destroys the subscription and every message held for it (`dsub://clientId:name`). */
  | { type: 'subscription-remove'; clientId: string; name: string }
  /** Duplicate detection: the highest sequence stored for a producer. */
  | { type: 'producer-seq'; producerId: string; seq: number }
  /** A transaction committed (kept so a client can ask about an in-doubt commit). */
  | { type: 'tx-commit'; txId: string };

export interface RecoveredQueue {
  queue: string;
  /** Messages currently stored. */
  count: number;
  /** The highest seq ever written to this queue (0 if none), so new seqs continue above it. */
  lastSeq: number;
}

export interface RecoveredState {
  destinations: DestinationRef[];
  subscriptions: DurableSubscriptionRecord[];
  /**
   * Every store queue ever written (until its destination or subscription is removed), including
   * empty ones, so that seqs keep rising across restarts.
   */
  queues: RecoveredQueue[];
  /** The highest stored sequence per producer id (bounded: only the most recent producers). */
  producerSeqs: Map<string, number>;
}

export interface StoreStats {
  /** Bytes the store occupies on its medium (0 for memory). */
  sizeBytes: number;
  messages: number;
}

export interface MessageStore {
  /** `memory`, `journal`, `jdbc`, … (shown in status output). */
  readonly kind: string;
  /** Opens (and recovers) the store. Called once before anything else. */
  open(): Promise<RecoveredState>;
  /**
   * Applies the ops atomically: after a crash, either all of them are visible or none.
   * Calls are applied in the order they are made. The promise resolves once the batch is as
   * durable as the store is configured to make it; a send is acknowledged only after that.
   */
  write(ops: StoreOp[]): Promise<void>;
  /** Messages of one store queue with `seq >= fromSeq`, ascending, at most `maxCount` of them. */
  read(queue: string, fromSeq: number, maxCount: number): Promise<StoredMessage[]>;
  /** Whether a `tx-commit` for this id is stored. */
  isTransactionCommitted(txId: string): Promise<boolean>;
  stats(): Promise<StoreStats>;
  /** Flushes and releases every resource. The store cannot be used afterwards. */
  close(): Promise<void>;
}

/** The store queue key of a durable subscription. */
export function durableQueueKey(clientId: string, name: string): string {
  return `dsub://${clientId}:${name}`;
}
