import type { MessageStore } from '../store/message-store.js';
import type { HaEvents, HaMode, HaStatus } from './ha-mode.js';

/** A node that is always master of epoch 1 (no HA): the store is opened exactly once. */
export class SingleNodeMode implements HaMode {
  readonly kind = 'single';
  private role: HaStatus['role'] = 'standby';

  constructor(private readonly store: MessageStore) {}

  async start(events: HaEvents): Promise<void> {
    await events.elected(1, this.store);
    this.role = 'master';
  }

  status(): HaStatus {
    return { mode: this.kind, role: this.role, epoch: 1 };
  }

  async stop(): Promise<void> {
    this.role = 'standby';
  }
}
