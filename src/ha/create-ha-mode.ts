import type { BrokerConfig } from '../config/types.js';
import { createStore } from '../store/create-store.js';
import type { Logger } from '../util/logger.js';
import type { HaMode } from './ha-mode.js';
import { SingleNodeMode } from './single-node.js';

/** The HA mode a configuration asks for. */
export function createHaMode(config: BrokerConfig, logger: Logger): HaMode {
  return new SingleNodeMode(createStore(config.persistence, logger));
}
