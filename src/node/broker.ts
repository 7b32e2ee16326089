import { BrokerCore } from '../broker/broker-core.js';
import { validateConfig } from '../config/index.js';
import type { BrokerConfig, TransportConnectorConfig } from '../config/types.js';
import type { MessageStore } from '../store/message-store.js';
import { systemClock, type Clock } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import { createLogger, type Logger } from '../util/logger.js';
import { listenTcp } from '../protocol/stomp/tcp-listener.js';
import { listenOpenWire } from '../protocol/openwire/tcp-listener.js';
import { MqttShared, type MqttServerOptions } from '../protocol/mqtt/session.js';
import type { BrokerCoreApi } from '../broker/api.js';
import { listenMqtt } from '../protocol/mqtt/tcp-listener.js';
import { listenWebSocket } from '../protocol/ws-listener.js';
import { stompOverWebSocket } from '../protocol/stomp/ws-protocol.js';
import { mqttOverWebSocket } from '../protocol/mqtt/ws-protocol.js';
import type { Listener } from '../protocol/listener.js';
import type { StompServerOptions } from '../protocol/stomp/session-types.js';
import { startHttp } from '../admin/http-server.js';
import { createHaMode } from '../ha/create-ha-mode.js';
import type { HaMode, HaStatus, NodeRole } from '../ha/ha-mode.js';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../version.js';

export interface BrokerStartOptions {
  logger?: Logger;
  clock?: Clock;
  /** Overrides the HA mode the config implies (tests, embedding). */
  haMode?: HaMode;
}

export interface BoundConnector {
  name: string;
  scheme: string;
  host: string;
  port: number;
  url: string;
}

/**
 * A broker node: its HA mode decides when it is master; as master it runs the core on the
 * store the mode hands it and opens the client ports; when demoted it closes them again, in
 * place, without restarting or deleting anything (DESIGN §2). Embed it with
 * `const broker = await Broker.start(config)` and `await broker.stop()`.
 */
export class Broker {
  private listeners: Array<{ connector: BoundConnector; listener: Listener }> = [];
  private http: { app: FastifyInstance; port: number } | undefined;
  private mqttShared = new MqttShared();
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private currentCore: BrokerCore | undefined;
  private epoch: number | undefined;
  /** Role transitions run one at a time, in order. */
  private transition: Promise<void> = Promise.resolve();

  private constructor(
    readonly config: BrokerConfig,
    private readonly ha: HaMode,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /**
   * Validates the config, opens the HTTP port, and starts the HA mode. A single node becomes
   * master before this resolves; an HA node may still be a standby (see `role()`).
   */
  static async start(config: BrokerConfig | Record<string, unknown>, opts: BrokerStartOptions = {}): Promise<Broker> {
    const cfg = validateConfig(config, (config as BrokerConfig).source ?? '<code>');
    const logger = opts.logger ?? createLogger();
    const clock = opts.clock ?? systemClock;
    const ha = opts.haMode ?? createHaMode(cfg, logger);
    const broker = new Broker(cfg, ha, logger, clock);
    try {
      // HTTP port 0 turns the HTTP surface off (issue 2), unlike client ports where 0 asks the OS.
      if (cfg.http.port !== 0) await broker.openHttp();
      await ha.start({
        elected: (epoch, store) => broker.serialize(() => broker.becomeMaster(epoch, store)),
        demoted: (reason) => broker.serialize(() => broker.becomeStandby(reason)),
        statusChanged: (s) => logger.info({ mode: s.mode, role: s.role, epoch: s.epoch, reason: s.reason }, 'ha status'),
      });
    } catch (e) {
      await broker.stop();
      throw e;
    }
    logger.info({ broker: cfg.brokerName, mode: ha.kind, role: broker.role(), http: broker.httpPort() }, 'node started');
    return broker;
  }

  /** The running core while master; undefined on a standby. */
  get core(): BrokerCore {
    if (!this.currentCore) throw new QmqError('NOT_MASTER', `this node is not the master (${this.ha.status().reason ?? this.ha.status().role})`);
    return this.currentCore;
  }

  role(): NodeRole {
    return this.currentCore ? 'master' : this.ha.status().role === 'slave' ? 'slave' : 'standby';
  }

  haStatus(): HaStatus {
    return this.ha.status();
  }

  /** The bound client connectors while master (ports resolved when 0 was configured). */
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
   * unacknowledged messages stay stored), close the core and its store, then hand over.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    const next = this.transition.then(fn);
    this.transition = next.catch(() => undefined);
    return next;
  }

  private async doStop(): Promise<void> {
    await this.serialize(() => this.closeMaster('stopping'));
    await this.ha.stop();
    if (this.http) await this.http.app.close();
    this.logger.info({ broker: this.config.brokerName }, 'broker stopped');
  }

  private async becomeMaster(epoch: number, store: MessageStore): Promise<void> {
    if (this.stopping) throw new QmqError('SHUTTING_DOWN', 'the node is stopping');
    const core = await BrokerCore.open({ config: this.config, store, clock: this.clock, logger: this.logger.child({ component: 'core' }), nodeId: this.config.brokerName });
    this.currentCore = core;
    this.epoch = epoch;
    try {
      await this.openListeners(core);
    } catch (e) {
      await this.closeMaster('listeners failed');
      throw e;
    }
    this.logger.info(
      { broker: this.config.brokerName, epoch, store: store.kind, connectors: this.connectors().map((c) => c.url), http: this.httpPort() },
      'broker started',
    );
  }

  private async becomeStandby(reason: string): Promise<void> {
    if (!this.currentCore) return;
    this.logger.warn({ reason, epoch: this.epoch }, 'demoted: closing client ports');
    await this.closeMaster(reason);
  }

  private async closeMaster(reason: string): Promise<void> {
    const listeners = this.listeners;
    this.listeners = [];
    // server.close() calls back only once every connection has ended, so the connections are
    // closed before waiting for it (awaiting first hung a demotion while clients were connected).
    const stopped = Promise.all(listeners.map((l) => l.listener.stopAccepting()));
    for (const l of listeners) l.listener.closeAll();
    await stopped;
    const core = this.currentCore;
    this.currentCore = undefined;
    // As a standby the status shows the epoch the HA mode knows (the new master's), not our old one.
    this.epoch = undefined;
    if (core) {
      await core.close().catch((e) => this.logger.warn({ err: (e as Error).message, reason }, 'error while closing the core'));
    }
  }

  private stompOptions(core: BrokerCore): StompServerOptions {
    return {
      broker: core,
      limits: this.config.stomp,
      clock: this.clock,
      logger: this.logger.child({ component: 'stomp' }),
      serverName: `QuorumMQ/${VERSION}`,
      connectedHeaders: this.ha.clusterClientUrls
        ? (): Record<string, string> => {
            const urls = this.ha.clusterClientUrls?.() ?? [];
            return urls.length > 0 ? { 'qmq-cluster': urls.join(',') } : {};
          }
        : undefined,
    };
  }

  private async openListeners(core: BrokerCore): Promise<void> {
    const options = this.stompOptions(core);
    // MQTT client ids and retained messages belong to one master's term, like its core.
    this.mqttShared = new MqttShared();
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

  private mqttOptions(c: TransportConnectorConfig, broker: BrokerCoreApi): MqttServerOptions {
    return {
      broker,
      clock: this.clock,
      logger: this.logger.child({ component: 'mqtt' }),
      shared: this.mqttShared,
      // ActiveMQ's MQTT transport options, in the connector's URI.
      maxPacketBytes: connectorNumber(c, 'wireFormat.maxFrameSize', 256 * 1024 * 1024),
      connectTimeoutMs: connectorNumber(c, 'transport.connectAttemptTimeout', 30_000),
    };
  }

  private listen(c: TransportConnectorConfig, options: StompServerOptions): Promise<Listener> {
    switch (c.scheme) {
      case 'tcp':
      case 'nio':
      case 'ssl':
      case 'nio+ssl':
        return listenOpenWire(c.host, c.port, {
          broker: options.broker,
          clock: this.clock,
          logger: this.logger.child({ component: 'openwire' }),
          brokerName: this.config.brokerName,
          serverVersion: VERSION,
          // ActiveMQ's transport options, in the connector's URI.
          maxFrameBytes: connectorNumber(c, 'wireFormat.maxFrameSize', 100 * 1024 * 1024),
          maxInactivityMs: connectorNumber(c, 'wireFormat.maxInactivityDuration', 30_000),
          handshakeTimeoutMs: connectorNumber(c, 'wireFormat.maxInactivityDurationInitalDelay', 10_000),
        }, c.scheme.endsWith('ssl') ? tlsFilesFor(c) : undefined);
      case 'stomp':
      case 'stomp+nio':
        return listenTcp(c.host, c.port, options);
      case 'stomp+ssl':
      case 'stomp+nio+ssl':
        return listenTcp(c.host, c.port, options, tlsFilesFor(c));
      case 'ws':
        // As ActiveMQ's ws:// connector: STOMP, and MQTT for clients that ask for it.
        return listenWebSocket(c.host, c.port, options.limits.maxBodyBytes + options.limits.maxHeaderBytes + 16, [
          stompOverWebSocket(options),
          mqttOverWebSocket(this.mqttOptions(c, options.broker)),
        ]);
      case 'mqtt':
      case 'mqtt+nio':
      case 'mqtt+ssl':
      case 'mqtt+nio+ssl':
        return listenMqtt(c.host, c.port, this.mqttOptions(c, options.broker), c.scheme.endsWith('ssl') ? tlsFilesFor(c) : undefined);
      case 'wss':
        throw new QmqError('CONFIG_UNSUPPORTED', `connector "${c.name}" (${c.uri}): wss:// is not supported yet; use ws:// behind a TLS proxy`);
    }
  }

  private async openHttp(): Promise<void> {
    this.http = await startHttp(this.config.http.host, this.config.http.port, {
      ready: () => !this.stopping && this.currentCore !== undefined,
      destinations: () => this.currentCore?.stats().destinations ?? [],
      core: () => this.core,
      authentication: () => this.config.authentication,
      status: async () => {
        const ha = this.ha.status();
        return {
          brokerName: this.config.brokerName,
          version: VERSION,
          role: this.role(),
          mode: ha.mode,
          epoch: this.epoch ?? ha.epoch,
          reason: this.currentCore ? undefined : ha.reason,
          ha: ha.details ?? {},
          uptimeMs: Date.now() - this.startedAt,
          store: this.config.persistence.kind,
          connectors: this.connectors(),
          ...(this.currentCore?.stats() ?? { destinations: [], durableSubscriptions: [], connections: 0 }),
        };
      },
    });
  }
}

function connectorNumber(c: TransportConnectorConfig, option: string, fallback: number): number {
  const raw = c.options[option];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new QmqError('CONFIG_INVALID', `connector "${c.name}" (${c.uri}): ${option}=${raw} is not a whole number of bytes or ms`);
  return n;
}

/** A TLS connector's PEM key and certificate: `?keyFile=…&certFile=…`, or QUORUMMQ_TLS_KEY/CERT. */
function tlsFilesFor(c: TransportConnectorConfig): { keyFile: string; certFile: string } {
  const keyFile = c.options['keyFile'] ?? process.env.QUORUMMQ_TLS_KEY;
  const certFile = c.options['certFile'] ?? process.env.QUORUMMQ_TLS_CERT;
  if (!keyFile || !certFile) {
    throw new QmqError('CONFIG_INVALID', `connector "${c.name}" (${c.uri}) needs TLS files: add ?keyFile=…&certFile=… to its uri`);
  }
  return { keyFile, certFile };
}
