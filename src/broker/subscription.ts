import type { AckMode, DeliverySink, SubscribeRequest, Subscription } from './api.js';
import type { QueueEntry } from './queue-entry.js';
import type { MessageQueue, QueueConsumer } from './queue.js';
import { messageSelectorLookup, type Selector } from './selector/index.js';

/** A delivery the consumer has not acknowledged yet. */
export interface InflightDelivery {
  tag: number;
  queue: MessageQueue;
  entry: QueueEntry;
  /** Set while an ACK inside this transaction covers it (not yet committed). */
  txAckedIn?: string;
  /** Whether it still counts against the prefetch window. */
  holdsSlot: boolean;
}

export interface ConsumerHooks {
  nextTag(): number;
  /** Auto-ack: the entry was consumed on dispatch; the broker removes it from the store. */
  consumedOnDispatch(queue: MessageQueue, entry: QueueEntry): void;
  /** A delivery was handed to this consumer (the connection maps tag -> consumer). */
  delivered(tag: number, consumer: Consumer): void;
  onSinkError(err: unknown): void;
}

/**
 * One subscription's consumer state: its prefetch window and unacknowledged deliveries. A
 * composite destination attaches the same consumer to several queues, sharing one window.
 */
export class Consumer implements Subscription, QueueConsumer {
  readonly key: string;
  readonly ackMode: AckMode;
  readonly prefetch: number;
  readonly priority: number;
  readonly exclusive: boolean;
  readonly noLocal: boolean;
  /** Deliveries in tag order (Map keeps insertion order), which makes `client` acks cumulative. */
  readonly inflight = new Map<number, InflightDelivery>();
  /** In-flight deliveries that still hold a prefetch slot (not acked inside a transaction). */
  private held = 0;
  readonly queues: MessageQueue[] = [];
  private started: boolean;
  closed = false;
  /** Called once when a paused subscription starts (browsers begin their snapshot then). */
  onStart: (() => void) | undefined;

  constructor(
    readonly connectionId: string,
    readonly req: SubscribeRequest,
    readonly sink: DeliverySink,
    private readonly selector: Selector | undefined,
    private readonly hooks: ConsumerHooks,
  ) {
    this.key = `${connectionId}/${req.id}`;
    this.ackMode = req.ackMode;
    // ActiveMQ rejects prefetch 0 for STOMP; treat anything below 1 as 1 so dispatch still flows.
    this.prefetch = Math.max(1, Math.floor(req.prefetch));
    this.priority = req.consumerPriority ?? 0;
    this.exclusive = req.exclusive ?? false;
    this.noLocal = req.noLocal ?? false;
    this.started = !req.startPaused;
  }

  get id(): string {
    return this.req.id;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.wakeQueues();
    const run = this.onStart;
    this.onStart = undefined;
    run?.();
  }

  wakeQueues(): void {
    for (const q of this.queues) q.scheduleDispatch();
  }

  room(): number {
    if (!this.started || this.closed) return 0;
    // STOMP auto ack: consumed on dispatch, so the window never fills.
    if (this.ackMode === 'auto') return Number.POSITIVE_INFINITY;
    return this.prefetch - this.held;
  }

  accepts(entry: QueueEntry): boolean {
    // activemq.noLocal: skip what this same connection sent.
    if (this.noLocal && entry.senderConnectionId === this.connectionId) return false;
    return this.selector ? this.selector.matches(messageSelectorLookup(entry.message)) : true;
  }

  take(queue: MessageQueue, entry: QueueEntry): void {
    const tag = this.hooks.nextTag();
    if (this.ackMode === 'auto') {
      this.hooks.consumedOnDispatch(queue, entry);
    } else {
      this.inflight.set(tag, { tag, queue, entry, holdsSlot: true });
      this.held++;
      this.hooks.delivered(tag, this);
    }
    try {
      this.sink.deliver({ tag, subscriptionId: this.req.id, message: entry.message, redelivered: queue.isRedelivery(entry) });
    } catch (err) {
      this.hooks.onSinkError(err);
    }
  }

  /** Removes deliveries from the window (acked, nacked or returned). */
  release(deliveries: readonly InflightDelivery[]): void {
    for (const d of deliveries) {
      if (!this.inflight.delete(d.tag)) continue;
      if (d.holdsSlot) this.held--;
    }
    this.wakeQueues();
  }

  /** Delivered up to `tag` but not acknowledged (OpenWire's delivered-ack): the slots open, the deliveries stay. */
  releaseSlotsUpTo(tag: number): void {
    for (const d of this.inflight.values()) {
      if (d.tag > tag) break;
      if (!d.holdsSlot) continue;
      d.holdsSlot = false;
      this.held--;
    }
    this.wakeQueues();
  }

  /** An ACK inside a transaction frees the prefetch slot at once (ActiveMQ does the same). */
  markTxAcked(d: InflightDelivery, txId: string): void {
    if (d.txAckedIn !== undefined) return;
    d.txAckedIn = txId;
    if (d.holdsSlot) this.held--;
    d.holdsSlot = false;
    this.wakeQueues();
  }

  /**
   * The transaction was aborted. ActiveMQ's STOMP FAQ ("how do I unack the message"): aborting
   * a transaction that held ACKs does not redeliver those messages; they stay delivered to this
   * consumer (redelivered if it closes, and it may still ack them) and the window stays open.
   */
  clearTxAck(d: InflightDelivery): void {
    // holdsSlot stays false: the FAQ says abort only reopens the prefetch window.
    d.txAckedIn = undefined;
  }

  /** Deliveries covered by an ACK of `tag`: for `client`, every earlier one too. */
  coveredBy(tag: number): InflightDelivery[] {
    const target = this.inflight.get(tag);
    if (!target) return [];
    if (this.ackMode !== 'client') return [target];
    const out: InflightDelivery[] = [];
    for (const d of this.inflight.values()) {
      if (d.tag > tag) break;
      if (d.txAckedIn === undefined || d === target) out.push(d);
    }
    return out;
  }
}
