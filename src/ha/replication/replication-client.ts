import type { JournalStore } from '../../store/journal/journal-store.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { LogPosition } from './types.js';

export interface ReplicationClientOptions {
  journal: JournalStore;
  nodeId: string;
  securityToken?: string;
  logger: Logger;
  clock?: Clock;
}

/** Slave side: follows one master. */
export class ReplicationClient {
  constructor(readonly opts: ReplicationClientOptions) {}
  async follow(_masterAddress: string, _masterEpoch: number): Promise<void> {
    throw new Error('not implemented');
  }
  position(): LogPosition {
    return this.opts.journal.lastPosition();
  }
  onLost(_fn: (reason: string) => void): void {}
  async stop(): Promise<void> {}
}
