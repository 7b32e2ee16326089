import type { MessageStore, StoreOp } from '../store/message-store.js';
import { QmqError } from '../util/errors.js';
import type { DestinationRegistry } from './destinations.js';
import { messageSizeBytes, type DestinationRef, type Message } from './message.js';
import type { QueueEntry } from './queue-entry.js';
import type { MessageQueue } from './queue.js';
import type { TopicRouter } from './topic.js';
import { isWildcard } from './wildcard.js';

/**
 * Whether a failed store write left its batch in the store all the same: OUTCOME_UNKNOWN means
 * the batch met its sync level but could not be acknowledged (DESIGN §4, step 6). The client
 * treats the frame as in doubt and resends it; the broker's memory must match the store, so
 * the batch counts as applied (messages visible, duplicate marks kept, acks settled).
 */
export function storeHoldsBatch(err: unknown): boolean {
  return err instanceof QmqError && err.codeName === 'OUTCOME_UNKNOWN';
}

/** One queue a message is about to land in. */
export interface Target {
  queue: MessageQueue;
  message: Message;
  senderConnectionId?: string;
}

/**
 * A composite destination (ActiveMQ "Composite Destinations": a comma-separated list) stands
 * for each of its names, all of the same kind. The adapter has already split mixed
 * `/queue/a,/topic/b` lists by prefix.
 */
export function expandComposite(ref: DestinationRef): DestinationRef[] {
  if (!ref.name.includes(',')) return [ref];
  const names = ref.name.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0) throw new QmqError('INVALID_DESTINATION', `the composite destination "${ref.name}" names nothing`);
  return names.map((name) => ({ kind: ref.kind, name }));
}

/**
 * The send path shared by producers, transactions and dead-lettering: find the queues a
 * message lands in, write what must be durable in one store batch, and only then make the
 * messages visible to consumers (so nobody sees a message a crash could still take away).
 */
export class Router {
  private readonly writesInFlight = new Set<Promise<void>>();

  constructor(
    private readonly registry: DestinationRegistry,
    private readonly topics: TopicRouter,
    private readonly store: MessageStore,
  ) {}

  /** Where a message sent to one (non-composite) destination lands; throws if it cannot be sent there. */
  targetsFor(dest: DestinationRef, message: Message, senderConnectionId: string | undefined): Target[] {
    // ActiveMQ: wildcards are for consuming; a producer must name a concrete destination.
    if (isWildcard(dest.name)) {
      throw new QmqError('INVALID_DESTINATION', `cannot send to a wildcard destination: ${dest.kind} ${dest.name}`);
    }
    const msg = message.destination.kind === dest.kind && message.destination.name === dest.name ? message : { ...message, destination: dest };
    if (dest.kind === 'queue' || dest.kind === 'temp-queue') {
      const q = this.registry.queue(dest, dest.kind === 'queue');
      if (!q) throw new QmqError('INVALID_DESTINATION', `the temporary queue ${dest.name} does not exist (its connection has closed)`);
      return [{ queue: q, message: msg, senderConnectionId }];
    }
    const topic = this.registry.topic(dest, dest.kind === 'topic');
    if (!topic) throw new QmqError('INVALID_DESTINATION', `the temporary topic ${dest.name} does not exist (its connection has closed)`);
    topic.enqueueCount++;
    const targets: Target[] = this.topics.match(dest, msg, senderConnectionId).map((s) => ({ queue: s.queue, message: msg, senderConnectionId }));
    if (dest.kind === 'topic') {
      // Virtual topics: each consumer queue gets its own copy, which names the topic it came from.
      for (const queue of this.registry.consumerQueuesOf(dest.name)) {
        targets.push({ queue, message: { ...msg, destination: queue.ref, originalDestination: dest }, senderConnectionId });
      }
    }
    return targets;
  }

  /**
   * Stores what must be durable (the given ops, plus an `add` for every persistent message
   * bound for a store-backed queue) in ONE atomic batch, then offers the messages to their
   * queues in arrival order. Returns the queues, for flow control.
   */
  async storeAndOffer(targets: readonly Target[], extraOps: readonly StoreOp[] = []): Promise<MessageQueue[]> {
    const prepared = targets.map((t) => {
      const stored = t.queue.storeKey !== undefined && t.message.persistent;
      const entry: QueueEntry = {
        seq: t.queue.allocSeq(),
        message: t.message,
        sizeBytes: messageSizeBytes(t.message),
        stored,
        senderConnectionId: t.senderConnectionId,
      };
      return { queue: t.queue, entry, slot: t.queue.reserve(entry) };
    });
    const ops: StoreOp[] = [...extraOps];
    for (const p of prepared) {
      if (p.entry.stored) ops.push({ type: 'add', queue: p.queue.storeKey!, seq: p.entry.seq, message: p.entry.message });
    }
    if (ops.length > 0) {
      const write = this.store.write(ops);
      this.writesInFlight.add(write);
      try {
        await write;
      } catch (err) {
        // In doubt, the batch is stored (a replicated master that cannot prove its session at
        // acknowledgement time): the messages exist and must be delivered like any other, or
        // only a later page-in or failover finds them, next to the copy the client resends.
        const stored = storeHoldsBatch(err);
        for (const p of prepared) {
          if (stored) p.slot.ready();
          else p.slot.cancel();
        }
        throw err;
      } finally {
        this.writesInFlight.delete(write);
      }
    }
    for (const p of prepared) p.slot.ready();
    return prepared.map((p) => p.queue);
  }

  /** Waits for store writes already started (used on close). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.writesInFlight]);
  }
}
