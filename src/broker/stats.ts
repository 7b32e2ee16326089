import type { DestinationKind } from './message.js';

/** What the status API shows per destination. */
export interface DestinationStats {
  name: string;
  kind: DestinationKind;
  /** Messages enqueued and not yet acknowledged (including in-flight ones). */
  depth: number;
  enqueueCount: number;
  dequeueCount: number;
  consumerCount: number;
  /** Delivered, not yet acknowledged. */
  inflight: number;
  memoryBytes: number;
}

export interface DurableSubscriptionStats {
  clientId: string;
  name: string;
  /** `topic://pattern` */
  destination: string;
  selector?: string;
  active: boolean;
  depth: number;
  enqueueCount: number;
  dequeueCount: number;
  inflight: number;
}

/** One client connection, as the console's Connections view shows it. */
export interface ConnectionStats {
  id: string;
  clientId?: string;
  /** The authenticated user (or the anonymous one); absent without authentication and login. */
  user?: string;
  protocol: string;
  remoteAddress: string;
  connectedAt: number;
  consumers: Array<{ id: string; destination: string; ackMode: string; prefetch: number; selector?: string; durableName?: string; inflight: number }>;
}

export interface BrokerStats {
  destinations: DestinationStats[];
  durableSubscriptions: DurableSubscriptionStats[];
  connections: number;
  /** Messages waiting in the scheduler (`schedulerSupport`) for their delivery time. */
  scheduledMessages: number;
  memory: { usedBytes: number; limitBytes: number };
}
