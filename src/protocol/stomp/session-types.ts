import type { AckMode, BrokerCoreApi, Connection, DeliverySink } from '../../broker/api.js';
import type { DestinationRef } from '../../broker/message.js';
import type { StompFrame, StompVersion } from './frame.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { StompLimits } from '../../config/types.js';

/** What a STOMP connection runs over: a TCP socket or a WebSocket. */
export interface StompTransport {
  readonly remoteAddress: string;
  readonly kind: 'tcp' | 'ws';
  write(data: Buffer): void;
  /** Closes after everything written so far has been flushed. */
  end(): void;
  /** Stops reading (producer flow control) and starts again. */
  pause(): void;
  resume(): void;
}

export interface StompServerOptions {
  broker: BrokerCoreApi;
  limits: StompLimits;
  clock: Clock;
  logger: Logger;
  /** `server` header of CONNECTED. */
  serverName: string;
  /** Extra CONNECTED headers (cluster addresses, later). */
  connectedHeaders?: () => Record<string, string>;
  /** Multiplies the client's heart-beat interval before the connection counts as dead. */
  heartbeatGraceMultiplier?: number;
  /** Unanswered SENDs after which reading pauses until some complete. */
  maxPendingSends?: number;
}

export interface StompSubscriptionState {
  id: string;
  ackMode: AckMode;
  /** The durable name, when this is a durable topic subscription. */
  durableName?: string;
}

/** What a frame handler may use. */
export interface HandlerContext {
  readonly version: StompVersion;
  readonly core: Connection;
  readonly broker: BrokerCoreApi;
  readonly subscriptions: Map<string, StompSubscriptionState>;
  readonly options: StompServerOptions;
  /** Maps a local `/temp-*` name to its broker-wide destination (and remembers the pair). */
  resolveTemp(kind: 'temp-queue' | 'temp-topic', localName: string): { kind: 'temp-queue' | 'temp-topic'; name: string };
  /** Delivery tag for an ACK/NACK frame (STOMP 1.2 `id`; 1.0/1.1 `message-id` [+ `subscription`]). */
  tagForAck(frame: StompFrame): number;
  /** Forgets the ack ids of deliveries up to and including this tag (after they are acked). */
  forgetAcked(tag: number, cumulativeSubscription?: string): void;
  /**
   * Sends MESSAGE frames for a subscription. `idGiven`: the SUBSCRIBE named its id (STOMP 1.0 may
   * leave it out; the destination stands in, and the MESSAGE frames then carry no `subscription`).
   */
  sinkFor(subscriptionId: string, ackMode: AckMode, destination: DestinationRef, idGiven: boolean): DeliverySink;
  /** Called after a DISCONNECT's receipt is written. */
  requestClose(): void;
  /** Tracks a producer-side send for flow control. */
  trackSend<T>(p: Promise<T>): Promise<T>;
}

/**
 * A handler returns nothing, or a function to run right after the frame's RECEIPT has been
 * written (SUBSCRIBE uses this to start dispatch, so the receipt precedes the first MESSAGE).
 */
export type HandlerResult = void | (() => void) | { receiptHeaders: Record<string, string>; after?: () => void };
export type FrameHandler = (ctx: HandlerContext, frame: StompFrame, headers: Record<string, string>) => HandlerResult | Promise<HandlerResult>;
