import type { DurableSubscriptionRecord, MessageStore } from '../store/message-store.js';
import { durableQueueKey } from '../store/message-store.js';
import type { RecoveredQueue } from '../store/message-store.js';
import { QmqError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { DestinationRegistry } from './destinations.js';
import type { MessageQueue } from './queue.js';
import { compileSelector, type Selector } from './selector/index.js';
import type { Consumer } from './subscription.js';
import type { TopicRouter, TopicSubscriber } from './topic.js';

/** A durable topic subscription: its backlog queue survives its consumer and the broker. */
export class DurableSubscription implements TopicSubscriber {
  readonly durable = true;
  active: Consumer | undefined;

  constructor(
    readonly record: DurableSubscriptionRecord,
    readonly queue: MessageQueue,
    readonly selector: Selector | undefined,
  ) {}

  get pattern() {
    return this.record.destination;
  }

  get noLocal(): boolean {
    return this.record.noLocal ?? false;
  }

  connectionId(): string | undefined {
    return this.active?.connectionId;
  }
}

/** Every durable subscription by `clientId:name` (ActiveMQ keys them the same way). */
export class DurableSubscriptions {
  readonly byKey = new Map<string, DurableSubscription>();

  constructor(
    private readonly registry: DestinationRegistry,
    private readonly router: TopicRouter,
    private readonly store: MessageStore,
    private readonly logger: Logger,
  ) {}

  recover(record: DurableSubscriptionRecord, recovered: RecoveredQueue | undefined): void {
    const key = durableQueueKey(record.clientId, record.name);
    let selector: Selector | undefined;
    try {
      selector = record.selector ? compileSelector(record.selector) : undefined;
    } catch (err) {
      this.logger.error({ err, subscription: key }, 'a stored durable subscription has a selector that no longer compiles; it matches nothing');
      selector = { text: record.selector ?? '', matches: () => false };
    }
    const sub = new DurableSubscription(record, this.registry.newQueue(record.destination, key, recovered), selector);
    this.byKey.set(key, sub);
    this.router.add(sub);
  }

  /**
   * Attaches a consumer, creating the subscription on first use. A different topic, selector or
   * noLocal replaces the old subscription and its backlog (as ActiveMQ does when a durable
   * subscriber comes back with other settings).
   */
  attach(record: DurableSubscriptionRecord, selector: Selector | undefined, consumer: Consumer): DurableSubscription {
    const key = durableQueueKey(record.clientId, record.name);
    let sub = this.byKey.get(key);
    if (sub?.active) {
      throw new QmqError('SUBSCRIPTION_EXISTS', `durable subscription "${record.name}" of client "${record.clientId}" already has an active consumer`);
    }
    if (sub && !sameSubscription(sub.record, record)) {
      this.destroy(sub).catch((err: unknown) => this.logger.error({ err, subscription: key }, 'replacing a durable subscription failed'));
      sub = undefined;
    }
    if (!sub) {
      sub = new DurableSubscription(record, this.registry.newQueue(record.destination, key), selector);
      this.byKey.set(key, sub);
      this.router.add(sub);
      this.store.write([{ type: 'subscription-add', subscription: record }]).catch((err: unknown) => {
        this.logger.error({ err, subscription: key }, 'storing a durable subscription failed');
      });
    }
    sub.active = consumer;
    consumer.queues.push(sub.queue);
    sub.queue.attach(consumer);
    return sub;
  }

  detach(consumer: Consumer): void {
    for (const sub of this.byKey.values()) {
      if (sub.active !== consumer) continue;
      sub.active = undefined;
      sub.queue.detach(consumer);
    }
  }

  /** UNSUBSCRIBE with the subscription name: destroys it and its stored messages. */
  async remove(clientId: string, name: string): Promise<void> {
    const key = durableQueueKey(clientId, name);
    const sub = this.byKey.get(key);
    if (!sub) throw new QmqError('UNKNOWN_SUBSCRIPTION', `client "${clientId}" has no durable subscription named "${name}"`);
    // ActiveMQ refuses to remove a durable subscription while a consumer is attached to it.
    if (sub.active) throw new QmqError('DESTINATION_IN_USE', `durable subscription "${name}" has an active consumer; unsubscribe it first`);
    await this.destroy(sub);
  }

  private destroy(sub: DurableSubscription): Promise<void> {
    this.byKey.delete(durableQueueKey(sub.record.clientId, sub.record.name));
    this.router.remove(sub);
    sub.queue.close();
    return this.store.write([{ type: 'subscription-remove', clientId: sub.record.clientId, name: sub.record.name }]);
  }
}

function sameSubscription(a: DurableSubscriptionRecord, b: DurableSubscriptionRecord): boolean {
  return (
    a.destination.kind === b.destination.kind &&
    a.destination.name === b.destination.name &&
    (a.selector ?? '') === (b.selector ?? '') &&
    (a.noLocal ?? false) === (b.noLocal ?? false)
  );
}
