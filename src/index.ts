/** Embedding API: `const broker = await Broker.start(config)`; `await broker.stop()`. */
export { Broker } from './node/broker.js';
export type { BrokerStartOptions, BoundConnector } from './node/broker.js';
export { defaultConfig, loadConfigFile, parseConfigXml, validateConfig } from './config/index.js';
export type { BrokerConfig } from './config/types.js';
export { QmqError, ErrorCodes } from './util/errors.js';
