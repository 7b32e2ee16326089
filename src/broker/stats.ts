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

export interface BrokerStats {
  destinations: DestinationStats[];
  durableSubscriptions: DurableSubscriptionStats[];
  connections: number;
  /** Messages waiting in the scheduler (`schedulerSupport`) for their delivery time. */
  scheduledMessages: number;
  memory: { usedBytes: number; limitBytes: number };
}
