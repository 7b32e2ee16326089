import type { Message } from './message.js';

/** One message held by a message queue (a JMS queue, or the private queue of a topic subscription). */
export interface QueueEntry {
  /** Position in its queue; rises with arrival, and is the store seq for stored entries. */
  seq: number;
  /** Treated as immutable: redelivery replaces it with a copy carrying the new count. */
  message: Message;
  sizeBytes: number;
  /** Held in the store under the queue's store key (a persistent message in a store-backed queue). */
  stored: boolean;
  /** The connection that sent it, for `noLocal`; unknown after a restart. */
  senderConnectionId?: string;
}
