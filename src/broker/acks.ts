import type { BrokerConfig } from '../config/types.js';
import type { MessageStore, StoreOp } from '../store/message-store.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { destinationKey } from './message.js';
import { resolvePolicy } from './policy.js';
import type { QueueEntry } from './queue-entry.js';
import type { MessageQueue } from './queue.js';
import { deadLetterCopy, deadLetterTarget, decideRedelivery, type DeadLetterReason } from './redelivery.js';
import type { Router } from './routing.js';
import type { Consumer, InflightDelivery } from './subscription.js';

/**
 * Collects `remove` ops from many acks and writes them as one batch per turn of the event loop
 * (many acks -> one store write).
 */
export class RemoveBatcher {
  private ops: StoreOp[] = [];
  private batch: Promise<void> | undefined;

  constructor(private readonly store: MessageStore) {}

  remove(queue: string, seq: number): Promise<void> {
    this.ops.push({ type: 'remove', queue, seq });
    if (!this.batch) {
      this.batch = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {
        const ops = this.ops;
        this.ops = [];
        this.batch = undefined;
        return this.store.write(ops);
      });
    }
    return this.batch;
  }

  async flush(): Promise<void> {
    if (this.batch) await this.batch.catch(() => undefined);
  }
}

/**
 * What happens to a delivered message when it leaves its consumer: consumed (ack), redelivered
 * (NACK, or its consumer went away), or dead-lettered once the redelivery policy gives up.
 */
export class Settlement {
  private readonly timers = new Set<TimerHandle>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly remover: RemoveBatcher,
    private readonly router: Router,
  ) {}

  /** ACKed: the messages are consumed. Resolves once their removal is stored. */
  async ack(consumer: Consumer, deliveries: readonly InflightDelivery[]): Promise<void> {
    consumer.release(deliveries);
    const writes: Promise<void>[] = [];
    for (const d of deliveries) {
      d.queue.settle(d.entry, true, true);
      if (d.entry.stored) writes.push(this.remover.remove(d.queue.storeKey!, d.entry.seq));
    }
    await Promise.all(writes);
  }

  /** STOMP `ack:auto`: consumed when dispatched. */
  consumedOnDispatch(queue: MessageQueue, entry: QueueEntry): void {
    queue.settle(entry, true, true);
    if (entry.stored) {
      this.remover.remove(queue.storeKey!, entry.seq).catch((err: unknown) => {
        this.logger.error({ err, queue: queue.storeKey }, 'removing an auto-acked message from the store failed');
      });
    }
  }

  /** NACK: redeliver after the policy's delay, or dead-letter past `maximumRedeliveries`. */
  async nack(consumer: Consumer, d: InflightDelivery): Promise<void> {
    consumer.release([d]);
    await this.redeliverOrDeadLetter(d.queue, d.entry, true);
  }

  /** The client's own redelivery policy gave up on it: dead-letter without another try. */
  async poison(consumer: Consumer, d: InflightDelivery, cause?: string): Promise<void> {
    consumer.release([d]);
    await this.deadLetter(d.queue, d.entry, 'redelivery', true, cause);
  }

  /**
   * The consumer went away: its unacked deliveries go back to their queues in delivery order,
   * counted as redelivered, under the same limit as NACK. Those after `deliveredThroughTag`
   * never reached the application, so they go back as they were.
   */
  returnAll(consumer: Consumer, deliveredThroughTag = Number.POSITIVE_INFINITY): void {
    const deliveries = [...consumer.inflight.values()];
    consumer.release(deliveries);
    for (const d of deliveries) {
      if (d.queue.isClosed) {
        // A non-durable topic subscription's buffer: nothing to return to.
        d.queue.settle(d.entry, true, false);
        continue;
      }
      if (d.tag > deliveredThroughTag) {
        d.queue.returnEntry(d.entry);
        continue;
      }
      this.redeliverOrDeadLetter(d.queue, d.entry, false).catch((err: unknown) => {
        this.logger.error({ err }, 'returning an unacked message failed');
      });
    }
  }

  private async redeliverOrDeadLetter(queue: MessageQueue, entry: QueueEntry, useDelay: boolean): Promise<void> {
    const policy = resolvePolicy(this.config, queue.ref);
    const decision = decideRedelivery(entry.message, policy.redeliveryPolicy);
    if (decision.action === 'dead-letter') {
      await this.deadLetter(queue, entry, 'redelivery', true);
      return;
    }
    entry.message = decision.message;
    if (!useDelay || decision.delayMs === 0) {
      queue.returnEntry(entry);
      return;
    }
    const timer = this.clock.schedule(decision.delayMs, () => {
      this.timers.delete(timer);
      queue.returnEntry(entry);
    });
    this.timers.add(timer);
  }

  /**
   * Moves an entry out of its queue to the dead-letter destination its policy names, or drops
   * it when the strategy says so; the store sees the removal and the add in one batch.
   */
  async deadLetter(queue: MessageQueue, entry: QueueEntry, reason: DeadLetterReason, wasInflight: boolean, cause?: string): Promise<void> {
    queue.settle(entry, wasInflight, false);
    const removeOps: StoreOp[] = entry.stored ? [{ type: 'remove', queue: queue.storeKey!, seq: entry.seq }] : [];
    const policy = resolvePolicy(this.config, queue.ref);
    const source = entry.message.destination;
    const target = deadLetterTarget(entry.message, source, policy.deadLetterStrategy, reason);
    try {
      if (!target) {
        this.logger.debug({ messageId: entry.message.id, destination: destinationKey(source), reason }, 'message dropped');
        if (removeOps.length > 0) await this.router.storeAndOffer([], removeOps);
        return;
      }
      const copy = deadLetterCopy(entry.message, source, target, reason, cause);
      const targets = this.router.targetsFor(target, copy, undefined);
      await this.router.storeAndOffer(targets, removeOps);
      this.logger.debug({ messageId: copy.id, from: destinationKey(source), to: destinationKey(target), reason }, 'message dead-lettered');
    } catch (err) {
      this.logger.error({ err, messageId: entry.message.id }, 'dead-lettering a message failed');
    }
  }

  cancelTimers(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }
}
