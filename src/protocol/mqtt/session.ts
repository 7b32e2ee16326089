import { randomBytes } from 'node:crypto';
import type { BrokerCoreApi, Connection, Delivery, DeliverySink } from '../../broker/api.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { QmqError, toQmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { SocketSession, SocketTransport } from '../socket-listener.js';
import {
  ConnectReturn,
  decodePacket,
  encodeAck,
  encodeConnack,
  encodePingresp,
  encodePublish,
  encodeSuback,
  malformed,
  PacketSplitter,
  PacketType,
  type ClientPacket,
  type ConnectPacket,
  type PublishPacket,
  type QoS,
} from './packets.js';
import { brokerTopicFilter, brokerTopicName, filterMatches, mqttTopicName } from './topics.js';

/** The message property that carries a publisher's QoS, as ActiveMQ names it. */
export const QOS_PROPERTY = 'ActiveMQ.MQTT.QoS';
/** Durable subscriptions of persistent sessions are named `mqtt:<qos>:<filter>`. */
const DURABLE_PREFIX = 'mqtt:';
/** Deliveries at QoS 1 outstanding per subscription before the broker waits for PUBACKs. */
const QOS1_WINDOW = 100;
/** Unfinished inbound publishes after which reading pauses (producer flow control). */
const MAX_PENDING_PUBLISHES = 100;

/** A retained message (§3.3.1.3), kept per MQTT topic name. */
export interface Retained {
  payload: Buffer;
  qos: QoS;
}

/**
 * What all MQTT connections of one node share: the live session of each client id (a new
 * CONNECT with the same id takes over [MQTT-3.1.4-2]) and the retained messages. Retained
 * messages are kept in memory, as ActiveMQ keeps them: a restart or failover forgets them.
 */
export class MqttShared {
  readonly sessions = new Map<string, MqttSession>();
  readonly retained = new Map<string, Retained>();
}

export interface MqttServerOptions {
  broker: BrokerCoreApi;
  clock: Clock;
  logger: Logger;
  shared: MqttShared;
  /** Largest packet accepted (ActiveMQ's `wireFormat.maxFrameSize` for MQTT). */
  maxPacketBytes: number;
  /** A client must send CONNECT within this long (ms), or the connection closes. */
  connectTimeoutMs?: number;
}

interface SubState {
  /** The core subscription id. */
  id: string;
  granted: QoS;
  durableName?: string;
}

/**
 * One MQTT 3.1.1 client connection, on the broker core's Connection. QoS 0 and 1 both ways;
 * QoS 2 from publishers (stored once, PUBREC/PUBREL/PUBCOMP), and granted as QoS 1 to
 * subscribers, which §3.9.3 allows. A persistent session (CleanSession 0) keeps its
 * subscriptions as durable topic subscriptions, so what is published while it is away waits
 * for it, in the store. Topic names map to the broker's as ActiveMQ maps them (topics.ts).
 */
export class MqttSession implements SocketSession {
  private readonly splitter: PacketSplitter;
  private log: Logger;
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  private core: Connection | null = null;
  private clientId = '';
  private cleanSession = true;
  private will: ConnectPacket['will'];
  private readonly subs = new Map<string, SubState>();
  private readonly subIds = new Map<string, string>();
  /** QoS 1 deliveries awaiting PUBACK: packet id → core tag (null for a retained message). */
  private readonly outbound = new Map<number, number | null>();
  private nextPacketId = 1;
  /** QoS 2 publishes stored and answered with PUBREC, awaiting PUBREL (§4.3.3). */
  private readonly inboundQos2 = new Set<number>();
  /** Replies to publishes leave in arrival order [MQTT-4.6.0-2], each after its store write. */
  private replies: Promise<void> = Promise.resolve();
  private pendingPublishes = 0;
  private paused = false;
  private lastRead: number;
  private keepAliveTimer: TimerHandle | null = null;
  private connectTimer: TimerHandle | null;
  private subCounter = 0;

  constructor(
    private readonly transport: SocketTransport,
    private readonly options: MqttServerOptions,
  ) {
    this.splitter = new PacketSplitter(options.maxPacketBytes);
    this.log = options.logger.child({ remote: transport.remoteAddress });
    this.lastRead = options.clock.now();
    const timeout = options.connectTimeoutMs ?? 30_000;
    this.connectTimer = options.clock.schedule(timeout, () => {
      if (this.state === 'connecting') this.abort(`no CONNECT within ${timeout} ms of connecting`);
    });
  }

  onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRead = this.options.clock.now();
    let packets: { header: number; body: Buffer }[];
    try {
      packets = this.splitter.push(chunk);
    } catch (e) {
      this.abort(toQmqError(e).message);
      return;
    }
    for (const p of packets) {
      if (this.isClosed()) return;
      try {
        this.handle(decodePacket(p.header, p.body));
      } catch (e) {
        this.abort(toQmqError(e).message);
        return;
      }
    }
  }

  /** Read through a method: a handler may close the session while a loop over packets runs. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  onTransportClosed(): void {
    if (this.state === 'closed') return;
    void this.finish('the client closed the connection', true);
  }

  private write(b: Buffer): void {
    if (this.state !== 'closed') this.transport.write(b);
  }

  private handle(p: ClientPacket): void {
    if (this.state === 'connecting') {
      // [MQTT-3.1.0-1]: the first packet is CONNECT.
      if (p.type !== PacketType.CONNECT) throw malformed('the first packet must be CONNECT [MQTT-3.1.0-1]');
      this.state = 'open';
      this.connectTimer?.cancel();
      this.connectTimer = null;
      void this.connect(p).catch((e: unknown) => this.abort(toQmqError(e).message));
      return;
    }
    switch (p.type) {
      case PacketType.CONNECT:
        // [MQTT-3.1.0-2]: a second CONNECT is a protocol violation.
        throw malformed('a second CONNECT on one connection [MQTT-3.1.0-2]');
      case PacketType.PUBLISH:
        return this.publish(p);
      case PacketType.PUBACK: {
        const tag = this.outbound.get(p.packetId);
        this.outbound.delete(p.packetId);
        if (tag !== undefined && tag !== null && this.core) this.core.ack(tag).catch((e: unknown) => this.log.warn({ err: String(e) }, 'MQTT: acknowledging a delivery failed'));
        return;
      }
      case PacketType.PUBREC:
      case PacketType.PUBCOMP:
        // We deliver at QoS 1 at most; a QoS 2 acknowledgement answers nothing of ours.
        return;
      case PacketType.PUBREL:
        this.inboundQos2.delete(p.packetId);
        this.reply(Promise.resolve(), () => this.write(encodeAck(PacketType.PUBCOMP, p.packetId)));
        return;
      case PacketType.SUBSCRIBE:
        void this.subscribe(p.packetId, p.filters).catch((e: unknown) => this.abort(toQmqError(e).message));
        return;
      case PacketType.UNSUBSCRIBE:
        void this.unsubscribe(p.packetId, p.filters).catch((e: unknown) => this.abort(toQmqError(e).message));
        return;
      case PacketType.PINGREQ:
        this.write(encodePingresp());
        return;
      case PacketType.DISCONNECT:
        // [MQTT-3.14.4-3]: a DISCONNECT discards the will.
        this.will = undefined;
        void this.finish('the client disconnected', false);
        return;
    }
  }

  private async connect(p: ConnectPacket): Promise<void> {
    // §3.1.2.1–2: "MQTT" level 4 (3.1.1), and "MQIsdp" level 3 (3.1), which ActiveMQ also takes.
    const known = (p.protocolName === 'MQTT' && p.protocolLevel === 4) || (p.protocolName === 'MQIsdp' && p.protocolLevel === 3);
    if (!known) {
      if (p.protocolName !== 'MQTT' && p.protocolName !== 'MQIsdp') throw malformed(`unknown protocol name "${p.protocolName}" [MQTT-3.1.2-1]`);
      // [MQTT-3.1.2-2]: an unsupported level gets return code 1, then the connection closes.
      this.refuse(ConnectReturn.UNACCEPTABLE_PROTOCOL_VERSION, `protocol level ${p.protocolLevel} is not supported (3.1.1 is level 4)`);
      return;
    }
    if (p.clientId === '' && !p.cleanSession) {
      // [MQTT-3.1.3-8]: a persistent session needs a client identifier.
      this.refuse(ConnectReturn.IDENTIFIER_REJECTED, 'an empty client identifier needs CleanSession 1');
      return;
    }
    this.clientId = p.clientId !== '' ? p.clientId : `qmq-mqtt-${randomBytes(8).toString('hex')}`;
    this.cleanSession = p.cleanSession;
    this.log = this.log.child({ clientId: this.clientId });
    const shared = this.options.shared;
    const previous = shared.sessions.get(this.clientId);
    shared.sessions.set(this.clientId, this);
    // [MQTT-3.1.4-2]: a client id already connected is taken over; the old connection closes.
    if (previous && previous !== this) await previous.finish('another connection took over its client id', true);
    let core: Connection;
    try {
      core = this.options.broker.connect({
        clientId: this.clientId,
        ...(p.username !== undefined ? { login: p.username, passcode: p.password?.toString('utf8') ?? '' } : {}),
        remoteAddress: this.transport.remoteAddress,
        protocol: p.protocolLevel === 4 ? 'mqtt/3.1.1' : 'mqtt/3.1',
      });
    } catch (e) {
      const err = toQmqError(e);
      if (shared.sessions.get(this.clientId) === this) shared.sessions.delete(this.clientId);
      // As ActiveMQ answers: a refused login is "not authorized" (5), its SecurityException's code.
      const code = err.codeName === 'NOT_AUTHENTICATED' ? ConnectReturn.NOT_AUTHORIZED : err.codeName === 'CLIENT_ID_IN_USE' ? ConnectReturn.IDENTIFIER_REJECTED : ConnectReturn.SERVER_UNAVAILABLE;
      this.refuse(code, err.message);
      return;
    }
    if (this.isClosed()) {
      await core.close();
      return;
    }
    this.core = core;
    this.will = p.will;
    const stored = core.durableSubscriptions().filter((d) => d.name.startsWith(DURABLE_PREFIX));
    if (p.cleanSession) {
      // [MQTT-3.1.2-6]: a clean session discards any previous session of this client.
      for (const d of stored) await core.removeDurableSubscription(d.name);
    }
    const sessionPresent = !p.cleanSession && stored.length > 0;
    // [MQTT-3.2.2-1, -2]: session present is 0 for a clean session, else whether one was kept.
    this.write(encodeConnack(sessionPresent, ConnectReturn.ACCEPTED));
    if (!p.cleanSession) {
      for (const d of stored) {
        const m = /^mqtt:([012]):(.*)$/s.exec(d.name);
        if (m) this.attach(m[2], Number(m[1]) as QoS, d.name);
      }
    }
    // [MQTT-3.1.2-24]: close when nothing arrives within one and a half keep-alive periods.
    if (p.keepAliveSeconds > 0) this.watchKeepAlive(p.keepAliveSeconds * 1500);
    this.log.debug({ cleanSession: p.cleanSession, keepAlive: p.keepAliveSeconds, sessionPresent }, 'MQTT client connected');
  }

  private refuse(code: (typeof ConnectReturn)[keyof typeof ConnectReturn], why: string): void {
    this.log.info({ code, reason: why }, 'MQTT CONNECT refused');
    this.write(encodeConnack(false, code));
    this.state = 'closed';
    this.cleanup();
    this.transport.end();
  }

  private watchKeepAlive(limitMs: number): void {
    this.keepAliveTimer = this.options.clock.schedule(Math.min(limitMs, 5_000), () => {
      if (this.state !== 'open') return;
      const silent = this.options.clock.now() - this.lastRead;
      if (silent > limitMs) {
        this.abort(`nothing received for ${silent} ms, over 1.5 × the keep-alive [MQTT-3.1.2-24]`);
        return;
      }
      this.watchKeepAlive(limitMs);
    });
  }

  /** Queues a reply that must follow the earlier ones, once `after` settles. */
  private reply(after: Promise<unknown>, send: () => void, onError?: (e: unknown) => void): void {
    this.replies = this.replies.then(() =>
      after.then(send, (e: unknown) => {
        if (onError) onError(e);
        else this.abort(toQmqError(e).message);
      }),
    );
  }

  private publish(p: PublishPacket): void {
    const core = this.core!;
    if (p.qos === 2 && this.inboundQos2.has(p.packetId!)) {
      // A resent QoS 2 PUBLISH we already stored: acknowledge again, store nothing [§4.3.3].
      this.reply(Promise.resolve(), () => this.write(encodeAck(PacketType.PUBREC, p.packetId!)));
      return;
    }
    if (p.retain) this.retain(p);
    const sent = core.send({
      destination: { kind: 'topic', name: brokerTopicName(p.topic) },
      headers: { [QOS_PROPERTY]: String(p.qos) },
      body: p.payload,
      bodyIsBytes: true,
      // ActiveMQ: QoS 0 is a non-persistent message, QoS 1 and 2 persistent ones.
      persistent: p.qos > 0,
    });
    // Flow control for every QoS: reading pauses while many publishes wait for the store or for
    // memory (a send resolves only when its destinations have room).
    this.pendingPublishes++;
    if (this.pendingPublishes >= MAX_PENDING_PUBLISHES && !this.paused) {
      this.paused = true;
      this.transport.pause();
    }
    const done = sent.finally(() => {
      this.pendingPublishes--;
      if (this.paused && this.pendingPublishes < MAX_PENDING_PUBLISHES / 2) {
        this.paused = false;
        this.transport.resume();
      }
    });
    if (p.qos === 0) {
      // Nothing to answer; a refused QoS 0 publish ends the connection like any other.
      done.catch((e: unknown) => this.abort(`a QoS 0 publish to "${p.topic}" failed: ${toQmqError(e).message}`));
      return;
    }
    if (p.qos === 2) this.inboundQos2.add(p.packetId!);
    // MQTT 3.1.1 has no negative acknowledgement: a publish the broker refuses (authorization,
    // a full store) ends the connection, and the client resends it after reconnecting.
    this.reply(done, () => this.write(encodeAck(p.qos === 1 ? PacketType.PUBACK : PacketType.PUBREC, p.packetId!)), (e) => {
      this.inboundQos2.delete(p.packetId!);
      this.abort(`a QoS ${p.qos} publish to "${p.topic}" failed: ${toQmqError(e).message}`);
    });
  }

  private retain(p: PublishPacket): void {
    const retained = this.options.shared.retained;
    // [MQTT-3.3.1-10, -11]: an empty retained payload removes the topic's retained message.
    if (p.payload.length === 0) retained.delete(p.topic);
    else retained.set(p.topic, { payload: Buffer.from(p.payload), qos: p.qos });
  }

  private async subscribe(packetId: number, filters: { filter: string; qos: QoS }[]): Promise<void> {
    const codes: number[] = [];
    const fresh: { filter: string; granted: QoS }[] = [];
    for (const { filter, qos } of filters) {
      brokerTopicFilter(filter); // a malformed filter closes the connection (§4.8)
      // §3.9.3: the server may grant less than asked; deliveries here are at most QoS 1.
      const granted: QoS = qos > 1 ? 1 : qos;
      try {
        await this.replace(filter, granted);
        codes.push(granted);
        fresh.push({ filter, granted });
      } catch (e) {
        this.log.info({ filter, err: toQmqError(e).message }, 'MQTT subscription refused');
        codes.push(0x80); // [MQTT-3.9.3-2]: failure
      }
    }
    this.write(encodeSuback(packetId, codes));
    // [MQTT-3.3.1-6]: matching retained messages follow a new subscription, with RETAIN set.
    for (const { filter, granted } of fresh) {
      for (const [topic, r] of this.options.shared.retained) {
        if (!filterMatches(filter, topic)) continue;
        const qos = Math.min(granted, r.qos, 1) as QoS;
        const id = qos === 1 ? this.allocPacketId(null) : undefined;
        this.write(encodePublish({ topic, payload: r.payload, qos, retain: true, dup: false, packetId: id }));
      }
    }
  }

  /** Subscribes `filter` at `granted`, replacing an existing subscription to it [MQTT-3.8.4-3]. */
  private async replace(filter: string, granted: QoS): Promise<void> {
    const core = this.core!;
    const existing = this.subs.get(filter);
    const durableName = this.cleanSession ? undefined : `${DURABLE_PREFIX}${granted}:${filter}`;
    if (existing && existing.granted === granted) return;
    if (existing) {
      core.unsubscribe(existing.id);
      this.subs.delete(filter);
      if (existing.durableName) await core.removeDurableSubscription(existing.durableName);
    }
    this.attach(filter, granted, durableName);
  }

  private attach(filter: string, granted: QoS, durableName: string | undefined): void {
    const id = `mqtt-${++this.subCounter}`;
    const sink: DeliverySink = { deliver: (d) => this.deliver(d) };
    this.core!.subscribe(
      {
        id,
        destination: { kind: 'topic', name: brokerTopicFilter(filter) },
        ackMode: granted === 0 ? 'auto' : 'client-individual',
        prefetch: granted === 0 ? 1000 : QOS1_WINDOW,
        ...(durableName ? { durableName } : {}),
      },
      sink,
    );
    this.subs.set(filter, { id, granted, ...(durableName ? { durableName } : {}) });
    this.subIds.set(id, filter);
  }

  private async unsubscribe(packetId: number, filters: string[]): Promise<void> {
    for (const filter of filters) {
      const s = this.subs.get(filter);
      if (!s) continue;
      this.core!.unsubscribe(s.id);
      this.subs.delete(filter);
      this.subIds.delete(s.id);
      if (s.durableName) await this.core!.removeDurableSubscription(s.durableName);
    }
    // [MQTT-3.10.4-4, -5]: UNSUBACK even when nothing matched.
    this.write(encodeAck(PacketType.UNSUBACK, packetId));
  }

  private allocPacketId(tag: number | null): number {
    // Identifiers of unacknowledged deliveries are not reused [MQTT-2.3.1-2].
    for (let i = 0; i < 65535; i++) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.outbound.has(id)) {
        this.outbound.set(id, tag);
        return id;
      }
    }
    throw new QmqError('RESOURCE_LIMIT', 'MQTT: 65,535 deliveries await PUBACK');
  }

  private deliver(d: Delivery): void {
    if (this.state !== 'open') return;
    const filter = this.subIds.get(d.subscriptionId);
    const sub = filter === undefined ? undefined : this.subs.get(filter);
    const m = d.message;
    // A message from STOMP or JMS counts as QoS 1 when persistent, 0 when not (as in ActiveMQ).
    const fromPublisher = Number(m.headers[QOS_PROPERTY]);
    const messageQos = Number.isInteger(fromPublisher) && fromPublisher >= 0 && fromPublisher <= 2 ? fromPublisher : m.persistent ? 1 : 0;
    const qos = Math.min(sub?.granted ?? 0, messageQos, 1) as QoS;
    const topic = m.destination.kind === 'topic' ? mqttTopicName(m.destination.name) : m.destination.name;
    if (qos === 0) {
      // A QoS 1 subscription's copy of a QoS 0 message needs no PUBACK: settle it now.
      if (sub && sub.granted > 0) this.core?.ack(d.tag).catch(() => undefined);
      this.write(encodePublish({ topic, payload: m.body, qos: 0, retain: false, dup: false }));
      return;
    }
    let id: number;
    try {
      id = this.allocPacketId(d.tag);
    } catch (e) {
      this.abort(toQmqError(e).message);
      return;
    }
    // [MQTT-3.3.1-1]: DUP marks a message that may have been delivered before.
    this.write(encodePublish({ topic, payload: m.body, qos: 1, retain: false, dup: d.redelivered, packetId: id }));
  }

  /** A protocol error or a broken promise: close without a reply (§4.8); the will is published. */
  private abort(reason: string): void {
    if (this.state === 'closed') return;
    this.log.info({ reason }, 'MQTT connection closed');
    void this.finish(reason, true);
  }

  /**
   * Ends the session: the will (if the end was not a DISCONNECT) is published, a clean session's
   * subscriptions go, a persistent session's stay durable with their unacknowledged messages.
   */
  async finish(reason: string, publishWill: boolean): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cleanup();
    this.transport.end();
    const core = this.core;
    this.core = null;
    if (!core) return;
    const will = this.will;
    this.will = undefined;
    try {
      if (publishWill && will) {
        // [MQTT-3.1.2-8]: the will is published when the connection ends without DISCONNECT.
        if (will.retain) this.retain({ type: PacketType.PUBLISH, dup: false, qos: will.qos, retain: true, topic: will.topic, payload: will.payload });
        await core
          .send({ destination: { kind: 'topic', name: brokerTopicName(will.topic) }, headers: { [QOS_PROPERTY]: String(will.qos) }, body: will.payload, bodyIsBytes: true, persistent: will.qos > 0 })
          .catch((e: unknown) => this.log.warn({ err: toQmqError(e).message }, 'MQTT: publishing the will failed'));
      }
    } finally {
      // A clean session's subscriptions end with the connection; a persistent one's are durable.

      await core.close();
      this.log.debug({ reason }, 'MQTT session ended');
    }
  }

  private cleanup(): void {
    this.connectTimer?.cancel();
    this.keepAliveTimer?.cancel();
    if (this.options.shared.sessions.get(this.clientId) === this) this.options.shared.sessions.delete(this.clientId);
  }
}
