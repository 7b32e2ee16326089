import type { JournalStore } from '../../store/journal/journal-store.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { SyncLevel } from '../quorum.js';
import type { SlaveProgress } from './types.js';

export interface ReplicationServerOptions {
  journal: JournalStore;
  epoch: number;
  /** tcp://host:port; port 0 picks a free port. */
  bind: string;
  nodeId: string;
  securityToken?: string;
  replicas: number;
  level: SyncLevel;
  syncTimeoutMs: number;
  logger: Logger;
  clock?: Clock;
}

/** Master side: accepts slave connections on `bind`, streams journal records stamped with the epoch. */
export class ReplicationServer {
  constructor(readonly opts: ReplicationServerOptions) {}
  async start(): Promise<{ host: string; port: number }> {
    throw new Error('not implemented');
  }
  waitForSync(_position: number): Promise<void> {
    throw new Error('not implemented');
  }
  slaves(): SlaveProgress[] {
    return [];
  }
  onFenced(_fn: (higherEpoch: number) => void): void {}
  async stop(): Promise<void> {}
}
