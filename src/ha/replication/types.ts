import type { LogPosition } from '../election.js';

export type { LogPosition };

/** What the master knows of one attached slave (status page, sync-level counting). */
export interface SlaveProgress {
  nodeId: string;
  /** Remote address of the slave's connection. */
  address: string;
  /** Highest log position (end offset) the slave has received. */
  received: number;
  /** Highest log position (end offset) the slave has fsynced. */
  synced: number;
  /** Master end - synced. */
  lagBytes: number;
  connectedAt: number;
  /** Additive: records sent to this slave and not yet acknowledged as received (bounded). */
  inFlightBytes?: number;
  /** Additive: bytes held in the socket buffer and the frame being built for this slave. */
  bufferedBytes?: number;
  /** Additive: record bytes sent straight from the writer, before our fdatasync (the early send). */
  sentEarlyBytes?: number;
  /** Additive: record bytes read back from the segment files and sent (catch-up, a slave behind). */
  sentFromDiskBytes?: number;
  /** Additive: this slave fdatasyncs each group before acknowledging it; the others defer their syncs. */
  syncDuty?: boolean;
  /** Additive: ms since anything was heard from the slave (it acks at least every heartbeat, 1 s). */
  silentMs?: number;
}
