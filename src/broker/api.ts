import type { DestinationRef, Message } from './message.js';
import type { ScheduledJob } from './scheduler.js';
import type { ConnectionStats } from './stats.js';

/**
 * What protocol adapters (STOMP today, OpenWire/MQTT/AMQP later) may call on the broker core.
 * Adapters translate frames into these calls and deliveries back into frames; they hold no
 * messaging state of their own beyond the mapping of their wire ids to delivery tags.
 *
 * Errors are thrown (or rejected) as `QmqError` from `util/errors.ts`.
 */

export type AckMode = 'auto' | 'client' | 'client-individual';

export interface ConnectInfo {
  /** `client-id` from CONNECT; required for durable subscriptions. */
  clientId?: string;
  login?: string;
  /** Checked against `<simpleAuthenticationPlugin>` when it is configured; never stored. */
  passcode?: string;
  remoteAddress: string;
  protocol: string;
}

/** What a producer hands the core; the core fills in id, timestamp and redelivery count. */
export interface SendRequest {
  destination: DestinationRef;
  headers: Record<string, string>;
  body: Buffer;
  bodyIsBytes: boolean;
  persistent: boolean;
  priority?: number;
  expires?: number;
  /** `reply-to`, already resolved (temp destinations mapped to their broker-wide name). */
  replyTo?: DestinationRef;
  producerId?: string;
  producerSeq?: number;
  /**
   * The producer's own message id (OpenWire clients make their JMSMessageID, and request/reply
   * code correlates on it). Unique together with `producerId`/`producerSeq`, which the
   * duplicate filter keeps unique. Without it the core makes one.
   */
  messageId?: string;
}

export interface SubscribeRequest {
  /** The adapter's id for the subscription (STOMP `id`), unique within the connection. */
  id: string;
  destination: DestinationRef;
  ackMode: AckMode;
  selector?: string;
  /** Max unacknowledged deliveries outstanding (ActiveMQ `activemq.prefetchSize`). */
  prefetch: number;
  /** Durable topic subscription name (`activemq.subscriptionName`); needs a client id. */
  durableName?: string;
  /** `activemq.exclusive`: only this consumer receives while it is attached. */
  exclusive?: boolean;
  /** `activemq.noLocal`: do not deliver messages sent on this same connection. */
  noLocal?: boolean;
  /** `activemq.priority`: consumers with higher priority are preferred on a queue. */
  consumerPriority?: number;
  /** `browser:true`: a snapshot of the queue, then an end marker; nothing is consumed. */
  browser?: boolean;
  /**
   * Start paused: nothing is dispatched until `Subscription.start()`. STOMP uses this so the
   * RECEIPT of a SUBSCRIBE is written before its first MESSAGE.
   */
  startPaused?: boolean;
}

export interface Delivery {
  /** Connection-scoped tag the adapter hands back in `ack`/`nack`. */
  tag: number;
  subscriptionId: string;
  message: Message;
  /** True when the message was delivered before (`redeliveryCount > 0`). */
  redelivered: boolean;
}

/** Receives what the core dispatches to one subscription. */
export interface DeliverySink {
  deliver(d: Delivery): void;
  /** For browsers: the snapshot has been sent in full. */
  browseEnd?(): void;
}

export interface Subscription {
  readonly id: string;
  /** Begins dispatch of a subscription created with `startPaused`. */
  start(): void;
}

export interface Connection {
  readonly id: string;
  readonly clientId: string | undefined;

  /**
   * Accepts a message. Resolves once it is stored as the destination requires (persistent
   * messages: durable) and flow control lets the producer go on. With `txId`, the message is
   * held until COMMIT.
   */
  send(req: SendRequest, txId?: string): Promise<void>;

  subscribe(req: SubscribeRequest, sink: DeliverySink): Subscription;
  /**
   * Detaches a subscription; its unacknowledged messages are redelivered to others. With
   * `deliveredThroughTag`, deliveries after that tag never reached the application (OpenWire's
   * `lastDeliveredSequenceId`: prefetched, not consumed) and go back without counting as redelivered.
   */
  unsubscribe(subscriptionId: string, opts?: { deliveredThroughTag?: number }): void;
  /** This connection's client id's durable subscriptions (an MQTT session resumes them). */
  durableSubscriptions(): { name: string; destination: DestinationRef; selector?: string }[];
  /** Destroys a durable subscription and its stored messages (UNSUBSCRIBE with the name). */
  removeDurableSubscription(name: string): Promise<void>;

  /**
   * Acknowledges a delivery. For a `client` subscription this covers every earlier
   * unacknowledged delivery of the same subscription as well.
   */
  ack(tag: number, txId?: string): Promise<void>;
  /** Rejects a delivery: it is redelivered, or dead-lettered after the redelivery limit. */
  nack(tag: number, txId?: string): Promise<void>;
  /** The client gave up on a delivery (its own redelivery limit): dead-letter it now, with its reason as `dlqDeliveryFailureCause`. */
  poison(tag: number, cause?: string): Promise<void>;
  /**
   * The client has these deliveries (this tag and its subscription's earlier ones) but has not
   * acknowledged them yet: free their prefetch slots, as ActiveMQ's delivered-ack does.
   */
  releaseWindow(tag: number): void;

  begin(txId: string): void;
  commit(txId: string): Promise<void>;
  abort(txId: string): void;

  /**
   * A connection-scoped temporary destination; `name` is the client's local name. Returns the
   * broker-wide destination (unique, usable by other connections as a reply-to target). With
   * `nameIsGlobal` the client's name is already broker-wide (OpenWire's `ID:…` names) and is kept.
   */
  temporaryDestination(kind: 'temp-queue' | 'temp-topic', name: string, opts?: { nameIsGlobal?: boolean }): DestinationRef;

  /**
   * Deletes one of this connection's temporary destinations and what it holds (JMS
   * TemporaryQueue.delete()); refused while a subscription of this connection still reads it.
   */
  deleteTemporaryDestination(ref: DestinationRef): void;

  /** Deletes a queue or topic by name, with its messages (`BrokerCoreApi.deleteDestination`). */
  deleteDestination(ref: DestinationRef): Promise<void>;

  /** Aborts open transactions, returns unacked messages, deletes temporary destinations. */
  close(): Promise<void>;
}

/** A message in a queue, as an operator sees it when browsing (console, JSON API). */
export interface BrowsedMessage {
  seq: number;
  message: Message;
}

export interface BrokerCoreApi {
  /** Throws CLIENT_ID_IN_USE when another live connection holds the same client id. */
  connect(info: ConnectInfo): Connection;
  /**
   * Whether a transaction committed (for a client whose COMMIT receipt was lost). Waits for a
   * COMMIT of that id still being stored, so the answer is final.
   */
  transactionStatus(txId: string): Promise<'committed' | 'not-committed'>;
  /**
   * Deletes a queue or topic and its messages. UNKNOWN_DESTINATION when there is none;
   * DESTINATION_IN_USE while it has consumers or unacknowledged deliveries.
   */
  deleteDestination(ref: DestinationRef): Promise<void>;
  /** Removes a queue's waiting messages (delivered, unacknowledged ones stay); returns how many. */
  purgeQueue(ref: DestinationRef): Promise<number>;
  /** Up to `limit` messages of a queue (delivered, unacknowledged ones included), in queue order, nothing consumed. */
  browseQueue(ref: DestinationRef, limit: number): Promise<BrowsedMessage[]>;
  /**
   * Moves one waiting message to `to`, or back to its original destination when `to` is absent
   * (retrying a dead letter); returns where it went. UNKNOWN_MESSAGE when no waiting message
   * of the queue has that id.
   */
  moveMessage(from: DestinationRef, messageId: string, to?: DestinationRef): Promise<DestinationRef>;
  /** Removes one waiting message; UNKNOWN_MESSAGE when there is none with that id. */
  deleteMessage(from: DestinationRef, messageId: string): Promise<void>;
  /** Sends every waiting message that knows its original destination back there; returns how many. */
  retryMessages(from: DestinationRef): Promise<number>;
  /** Every open client connection with its consumers. */
  connectionStats(): ConnectionStats[];
  /** The next `limit` messages waiting in the scheduler (none without `schedulerSupport`). */
  scheduledMessages(limit: number): Promise<ScheduledJob[]>;
  /** Cancels a scheduled message and its repeats. UNKNOWN_MESSAGE when no job has that id. */
  removeScheduled(jobId: string): Promise<void>;
}
