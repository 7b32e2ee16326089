import os from 'node:os';
import type { BrokerConfig } from '../config/types.js';
import { createStore } from '../store/create-store.js';
import type { Logger } from '../util/logger.js';
import type { HaMode } from './ha-mode.js';
import { JdbcMode } from './db-lease/jdbc-mode.js';
import { SharedFileMode } from './file-lock/shared-file-mode.js';
import { ReplicatedMode } from './replicated-mode.js';
import { SingleNodeMode } from './single-node.js';

/** The HA mode a configuration asks for. */
export function createHaMode(config: BrokerConfig, logger: Logger): HaMode {
  if (config.persistence.kind === 'replicatedLevelDB') return new ReplicatedMode(config, logger.child({ component: 'ha' }));
  // Every journal broker runs the shared file system mode: a lone broker takes the lock at once,
  // a second one on the same directory waits as slave (DESIGN §5).
  if (config.persistence.kind === 'journal') {
    return new SharedFileMode({ config: config.persistence, nodeId: `${config.brokerName}@${os.hostname()}:${process.pid}`, logger });
  }
  // JDBC master/slave: PostgreSQL holds the lease and the messages (DESIGN §5).
  if (config.persistence.kind === 'jdbc') return new JdbcMode({ config: config.persistence, brokerName: config.brokerName, logger });
  return new SingleNodeMode(createStore(config.persistence, logger));
}
