import type { BrokerConfig } from '../config/types.js';
import { createStore } from '../store/create-store.js';
import type { Logger } from '../util/logger.js';
import type { HaMode } from './ha-mode.js';
import { ReplicatedMode } from './replicated-mode.js';
import { SingleNodeMode } from './single-node.js';

/** The HA mode a configuration asks for. */
export function createHaMode(config: BrokerConfig, logger: Logger): HaMode {
  if (config.persistence.kind === 'replicatedLevelDB') return new ReplicatedMode(config, logger.child({ component: 'ha' }));
  return new SingleNodeMode(createStore(config.persistence, logger));
}
