import type { MessageStore } from '../store/message-store.js';

/**
 * How a node finds out whether it may be master: a single node always may; the shared file
 * system mode holds a kernel lock; JDBC holds a lease row; the replicated mode is elected
 * through ZooKeeper. The node (`node/broker.ts`) owns the client-facing lifecycle and asks the
 * mode nothing else. DESIGN §2: `standby -> (elected) -> master(epoch) -> (demoted) -> standby`.
 */
export type NodeRole = 'standby' | 'master' | 'slave';

export interface HaStatus {
  mode: string;
  role: NodeRole;
  /** The epoch of the current mastership (ours if master, the master's if known otherwise). */
  epoch?: number;
  /** When not master: why, in words for an operator ("waiting for the lock held by node-2"). */
  reason?: string;
  /** Mode-specific facts: lock holder, lease expiry, members and their positions, … */
  details?: Record<string, unknown>;
}

export interface HaEvents {
  /**
   * This node is now master of `epoch`. `store` is fenced with that epoch (a write after
   * demotion fails). The node opens the core on it and its client ports; the promise resolves
   * once it serves. If it rejects, the mode must give the mastership up.
   */
  elected(epoch: number, store: MessageStore): Promise<void>;
  /**
   * Mastership is gone (lock lost, lease lapsed, session lost, fenced). The node closes its
   * client ports and the core at once; the mode goes back to campaigning afterwards.
   */
  demoted(reason: string): Promise<void>;
  /** The status changed (for logs and the status endpoint). */
  statusChanged?(status: HaStatus): void;
}

export interface HaMode {
  readonly kind: string;
  /** Begins campaigning in the background; resolves once started (not once elected). */
  start(events: HaEvents): Promise<void>;
  status(): HaStatus;
  /** Gives mastership up (a graceful handover) and stops campaigning. */
  stop(): Promise<void>;
  /**
   * Client addresses of the whole group (e.g. `tcp://h1:61613`), announced to clients in
   * CONNECTED `qmq-cluster` so a client that knows one node learns the others (DESIGN §4).
   */
  clusterClientUrls?(): string[];
}
