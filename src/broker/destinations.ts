import type { BrokerConfig } from '../config/types.js';
import type { MessageStore, RecoveredQueue } from '../store/message-store.js';
import type { Logger } from '../util/logger.js';
import { QmqError } from '../util/errors.js';
import { MemoryUsage } from './flow-control.js';
import { destinationKey, type DestinationRef } from './message.js';
import { resolvePolicy } from './policy.js';
import { MessageQueue, type QueueConsumer, type QueueContext } from './queue.js';
import { consumerQueuePatterns } from './virtual-topics.js';
import { isWildcard, matchesWildcard } from './wildcard.js';

/** A consumer of every queue matching a wildcard pattern, present and future. */
export interface WildcardQueueConsumer extends QueueConsumer {
  readonly queues: MessageQueue[];
}

/** A topic as a named thing, for stats; its subscribers live in the TopicRouter. */
export interface TopicInfo {
  ref: DestinationRef;
  enqueueCount: number;
  dequeueCount: number;
}

export interface RegistryDeps {
  config: BrokerConfig;
  store: MessageStore;
  logger: Logger;
  brokerUsage: MemoryUsage;
  queueContext: QueueContext;
}

/**
 * Every destination the broker knows: queues (each a MessageQueue), topics (stats only), and
 * which connection owns each temporary destination. Queues and topics are created on first use
 * (ActiveMQ auto-creation) and recorded in the store with `destination-add` so they come back
 * after a restart, even while empty. Temporary destinations are memory only.
 */
export class DestinationRegistry {
  readonly queues = new Map<string, MessageQueue>();
  readonly topics = new Map<string, TopicInfo>();
  /** Temporary destination key -> the id of the connection that owns it. */
  readonly tempOwners = new Map<string, string>();
  private readonly wildcardConsumers: Array<{ pattern: string; consumer: WildcardQueueConsumer }> = [];
  /**
   * The last seq of each queue deleted since start: a queue made again under the same name
   * continues above it, so a remove of an old message still on its way to the store can never
   * hit a new one.
   */
  private readonly deletedLastSeq = new Map<string, number>();

  constructor(private readonly deps: RegistryDeps) {}

  /** Throws for names nothing can be sent to or created under. */
  static validateName(ref: DestinationRef): void {
    if (ref.name.trim() === '') throw new QmqError('INVALID_DESTINATION', `the ${ref.kind} name is empty`);
  }

  newQueue(ref: DestinationRef, storeKey: string | undefined, recovered?: RecoveredQueue): MessageQueue {
    const policy = resolvePolicy(this.deps.config, ref);
    const usage = new MemoryUsage(storeKey ?? destinationKey(ref), policy.memoryLimitBytes, this.deps.brokerUsage);
    return new MessageQueue(ref, storeKey, usage, policy.prioritizedMessages, this.deps.queueContext, recovered);
  }

  /** The queue for `ref` (queue or temp-queue), created on first use when `create` is set. */
  queue(ref: DestinationRef, create: boolean): MessageQueue | undefined {
    const key = destinationKey(ref);
    const existing = this.queues.get(key);
    if (existing || !create) return existing;
    if (ref.kind === 'temp-queue') return undefined; // temp queues exist only through createTemp
    DestinationRegistry.validateName(ref);
    if (isWildcard(ref.name)) throw new QmqError('INVALID_DESTINATION', `a queue name cannot contain wildcards: ${ref.name}`);
    const lastSeq = this.deletedLastSeq.get(key);
    const q = this.newQueue(ref, key, lastSeq === undefined ? undefined : { queue: key, lastSeq, count: 0 });
    this.queues.set(key, q);
    this.persistDestination(ref);
    this.attachWildcardConsumers(q);
    return q;
  }

  /**
   * ActiveMQ lets a consumer subscribe to `queue://a.>`: it consumes from every matching queue,
   * including those created later.
   */
  addWildcardConsumer(pattern: string, consumer: WildcardQueueConsumer): void {
    this.wildcardConsumers.push({ pattern, consumer });
    for (const q of this.queues.values()) {
      if (q.ref.kind === 'queue' && matchesWildcard(pattern, q.ref.name)) {
        consumer.queues.push(q);
        q.attach(consumer);
      }
    }
  }

  removeWildcardConsumer(consumer: WildcardQueueConsumer): void {
    for (let i = this.wildcardConsumers.length - 1; i >= 0; i--) {
      if (this.wildcardConsumers[i].consumer === consumer) this.wildcardConsumers.splice(i, 1);
    }
  }

  private attachWildcardConsumers(q: MessageQueue): void {
    for (const w of this.wildcardConsumers) {
      if (!matchesWildcard(w.pattern, q.ref.name) || w.consumer.queues.includes(q)) continue;
      w.consumer.queues.push(q);
      q.attach(w.consumer);
    }
  }

  /** The existing queues that a send to topic `topicName` is copied to (virtual-topics.ts). */
  consumerQueuesOf(topicName: string): MessageQueue[] {
    const patterns = consumerQueuePatterns(this.deps.config.virtualTopics, topicName);
    if (patterns.length === 0) return [];
    const out: MessageQueue[] = [];
    for (const q of this.queues.values()) {
      if (q.ref.kind === 'queue' && patterns.some((p) => matchesWildcard(p, q.ref.name))) out.push(q);
    }
    return out;
  }

  topic(ref: DestinationRef, create: boolean): TopicInfo | undefined {
    const key = destinationKey(ref);
    const existing = this.topics.get(key);
    if (existing || !create) return existing;
    if (ref.kind === 'temp-topic') return undefined;
    DestinationRegistry.validateName(ref);
    const t: TopicInfo = { ref, enqueueCount: 0, dequeueCount: 0 };
    this.topics.set(key, t);
    // Wildcard names are subscription patterns, not topics of their own.
    if (!isWildcard(ref.name)) this.persistDestination(ref);
    return t;
  }

  recover(ref: DestinationRef, recovered: RecoveredQueue | undefined): void {
    const key = destinationKey(ref);
    if (ref.kind === 'queue' && !this.queues.has(key)) {
      const q = this.newQueue(ref, key, recovered);
      this.queues.set(key, q);
      this.attachWildcardConsumers(q);
    }
    if (ref.kind === 'topic' && !this.topics.has(key)) this.topics.set(key, { ref, enqueueCount: 0, dequeueCount: 0 });
  }

  createTemp(ref: DestinationRef, ownerConnectionId: string): void {
    const key = destinationKey(ref);
    if (this.tempOwners.has(key)) return;
    this.tempOwners.set(key, ownerConnectionId);
    if (ref.kind === 'temp-queue') this.queues.set(key, this.newQueue(ref, undefined));
    else this.topics.set(key, { ref, enqueueCount: 0, dequeueCount: 0 });
  }

  /** Deletes a temporary destination and the messages it holds. */
  deleteTemp(ref: DestinationRef): void {
    const key = destinationKey(ref);
    this.tempOwners.delete(key);
    this.topics.delete(key);
    const q = this.queues.get(key);
    if (q) {
      q.close();
      this.queues.delete(key);
    }
  }

  /**
   * Forgets a queue or topic and has the store delete it with all it holds. The store op is
   * issued in this same call, before anyone can make the destination again, so it lands before
   * any later send to the same name (the store applies writes in call order).
   */
  deleteDestination(ref: DestinationRef): Promise<void> {
    const key = destinationKey(ref);
    const q = this.queues.get(key);
    if (q) {
      this.queues.delete(key);
      this.deletedLastSeq.set(key, q.allocSeq());
      q.close();
    }
    this.topics.delete(key);
    return this.deps.store.write([{ type: 'destination-remove', destination: ref }]);
  }

  private persistDestination(ref: DestinationRef): void {
    // Not awaited: the store applies writes in call order, so any later message add lands after it.
    this.deps.store.write([{ type: 'destination-add', destination: ref }]).catch((err: unknown) => {
      this.deps.logger.error({ err, destination: destinationKey(ref) }, 'recording a new destination failed');
    });
  }
}
