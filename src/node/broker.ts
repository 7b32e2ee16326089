import { BrokerCore } from '../broker/broker-core.js';
import { validateConfig } from '../config/index.js';
import type { BrokerConfig, TransportConnectorConfig } from '../config/types.js';
import { createStore } from '../store/create-store.js';
import { systemClock, type Clock } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import { createLogger, type Logger } from '../util/logger.js';
import { listenTcp } from '../protocol/stomp/tcp-listener.js';
import { listenWebSocket } from '../protocol/stomp/ws-listener.js';
import type { Listener } from '../protocol/stomp/listener.js';
import type { StompServerOptions } from '../protocol/stomp/session-types.js';
import { startHttp } from '../admin/http-server.js';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../version.js';

export interface BrokerStartOptions {
  logger?: Logger;
  clock?: Clock;
}

export interface BoundConnector {
  name: string;
  scheme: string;
  host: string;
  port: number;
  url: string;
}

/**
 * A running broker node: the store, the core and the client listeners, with one lifecycle.
 * Embed it with `const broker = await Broker.start(config)` and `await broker.stop()`.
 */
export class Broker {
  private listeners: Array<{ connector: BoundConnector; listener: Listener }> = [];
  private http: { app: FastifyInstance; port: number } | undefined;
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();

  private constructor(
    readonly config: BrokerConfig,
    readonly core: BrokerCore,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** Validates the config, opens the store (recovering it), then opens the client ports. */
  static async start(config: BrokerConfig | Record<string, unknown>, opts: BrokerStartOptions = {}): Promise<Broker> {
    const cfg = validateConfig(config, (config as BrokerConfig).source ?? '<code>');
    const logger = opts.logger ?? createLogger();
    const clock = opts.clock ?? systemClock;
    const store = createStore(cfg.persistence, logger);
    const core = await BrokerCore.open({ config: cfg, store, clock, logger: logger.child({ component: 'core' }), nodeId: cfg.brokerName });
    const broker = new Broker(cfg, core, logger, clock);
    try {
      await broker.openListeners();
      // HTTP port 0 turns the HTTP surface off (issue 2), unlike client ports where 0 asks the OS.
      if (cfg.http.port !== 0) await broker.openHttp();
    } catch (e) {
      await broker.stop();
      throw e;
    }
    logger.info(
      { broker: cfg.brokerName, store: store.kind, connectors: broker.connectors().map((c) => c.url), http: broker.httpPort() },
      'broker started',
    );
    return broker;
  }

  /** The bound client connectors (ports resolved when 0 was configured). */
  connectors(): BoundConnector[] {
    return this.listeners.map((l) => l.connector);
  }

  /** The first connector of a scheme family, e.g. `stomp` or `ws`. */
  connector(scheme: 'stomp' | 'ws'): BoundConnector | undefined {
    return this.connectors().find((c) => (scheme === 'ws' ? c.scheme.startsWith('ws') : c.scheme.startsWith('stomp')));
  }

  httpPort(): number | undefined {
    return this.http?.port;
  }

  /**
   * Clean shutdown: stop accepting connections, close the client connections (their
   * unacknowledged messages stay stored), then close the store.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.listener.stopAccepting()));
    for (const l of this.listeners) l.listener.closeAll();
    await this.core.close();
    if (this.http) await this.http.app.close();
    this.logger.info({ broker: this.config.brokerName }, 'broker stopped');
  }

  private stompOptions(): StompServerOptions {
    return {
      broker: this.core,
      limits: this.config.stomp,
      clock: this.clock,
      logger: this.logger.child({ component: 'stomp' }),
      serverName: `QuorumMQ/${VERSION}`,
    };
  }

  private async openListeners(): Promise<void> {
    const options = this.stompOptions();
    for (const c of this.config.transportConnectors) {
      const listener = await this.listen(c, options);
      const scheme = c.scheme;
      const hostForUrl = c.host === '0.0.0.0' ? '127.0.0.1' : c.host;
      this.listeners.push({
        connector: { name: c.name, scheme, host: c.host, port: listener.port, url: `${scheme}://${hostForUrl}:${listener.port}` },
        listener,
      });
    }
  }

  private listen(c: TransportConnectorConfig, options: StompServerOptions): Promise<Listener> {
    switch (c.scheme) {
      case 'stomp':
      case 'stomp+nio':
        return listenTcp(c.host, c.port, options);
      case 'stomp+ssl':
      case 'stomp+nio+ssl': {
        const keyFile = c.options['keyFile'] ?? process.env.QUORUMMQ_TLS_KEY;
        const certFile = c.options['certFile'] ?? process.env.QUORUMMQ_TLS_CERT;
        if (!keyFile || !certFile) {
          throw new QmqError('CONFIG_INVALID', `connector "${c.name}" (${c.uri}) needs TLS files: add ?keyFile=…&certFile=… to its uri`);
        }
        return listenTcp(c.host, c.port, options, { keyFile, certFile });
      }
      case 'ws':
        return listenWebSocket(c.host, c.port, options);
      case 'wss':
        throw new QmqError('CONFIG_UNSUPPORTED', `connector "${c.name}" (${c.uri}): wss:// is not supported yet; use ws:// behind a TLS proxy`);
    }
  }

  private async openHttp(): Promise<void> {
    this.http = await startHttp(this.config.http.host, this.config.http.port, {
      ready: () => !this.stopping,
      destinations: () => this.core.stats().destinations,
      status: async () => ({
        brokerName: this.config.brokerName,
        version: VERSION,
        role: 'master',
        mode: 'single',
        uptimeMs: Date.now() - this.startedAt,
        store: this.config.persistence.kind,
        connectors: this.connectors(),
        ...this.core.stats(),
      }),
    });
  }
}
