import path from 'node:path';
import { Broker } from '../node/broker.js';
import { defaultConfig, loadConfigFile } from '../config/index.js';
import type { BrokerConfig } from '../config/types.js';
import { createLogger, type LogFormat } from '../util/logger.js';
import { isQmqError } from '../util/errors.js';

export interface StartOptions {
  config?: string;
  data?: string;
  set: Record<string, string>;
  httpPort?: number;
  httpHost?: string;
  stompPort?: number;
  wsPort?: number;
  openwirePort?: number;
  /** Adds an MQTT connector on this port (none by default). */
  mqttPort?: number;
  host: string;
  ignoreUnsupportedConnectors?: boolean;
  logFormat?: LogFormat;
}

/** Builds the config `quorummq start` runs: the XML file if given, else the single-node default. */
export function resolveStartConfig(opts: StartOptions, env: NodeJS.ProcessEnv): { config: BrokerConfig; warnings: string[] } {
  const dataDir = opts.data ? path.resolve(opts.data) : undefined;
  let loaded: { config: BrokerConfig; warnings: string[] };
  if (opts.config) {
    loaded = loadConfigFile(opts.config, { set: opts.set, env, dataDir, ignoreUnsupportedConnectors: opts.ignoreUnsupportedConnectors });
  } else {
    const dataDirectory = dataDir ?? path.resolve('data');
    const base = defaultConfig({ dataDirectory });
    const connectors = base.transportConnectors.map((c) => {
      const port = c.scheme === 'ws' ? opts.wsPort : c.scheme === 'tcp' ? opts.openwirePort : opts.stompPort;
      return { ...c, host: opts.host, port: port ?? c.port };
    });
    if (opts.mqttPort !== undefined) connectors.push({ name: 'mqtt', uri: `mqtt://${opts.host}:${opts.mqttPort}`, scheme: 'mqtt', host: opts.host, port: opts.mqttPort, options: {} });
    loaded = { config: { ...base, transportConnectors: connectors }, warnings: [] };
  }
  if (opts.httpPort !== undefined) loaded.config = { ...loaded.config, http: { ...loaded.config.http, port: opts.httpPort } };
  if (opts.httpHost !== undefined) loaded.config = { ...loaded.config, http: { ...loaded.config.http, host: opts.httpHost } };
  return loaded;
}

export async function runStart(opts: StartOptions): Promise<void> {
  const logger = createLogger({ format: opts.logFormat });
  let broker: Broker;
  try {
    const { config, warnings } = resolveStartConfig(opts, process.env);
    for (const w of warnings) logger.warn({ config: config.source }, w);
    broker = await Broker.start(config, { logger });
  } catch (e) {
    const msg = isQmqError(e) ? `${e.code} ${e.message}` : (e as Error).stack ?? String(e);
    logger.error({ err: msg }, 'broker failed to start');
    process.stderr.write(`quorummq: ${msg}\n`);
    process.exit(1);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'shutting down');
    broker.stop().then(
      () => process.exit(0),
      (e) => {
        logger.error({ err: (e as Error).message }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
