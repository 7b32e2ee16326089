/**
 * One OpenWire connection: wire format negotiation, then JMS commands mapped onto the broker
 * core's `Connection`. What each command does follows ActiveMQ 5.17's TransportConnection as a
 * Java client sees it; where we answer differently, the README's OpenWire section says so.
 */
import type { AckMode, BrokerCoreApi, Connection, Delivery, Subscription } from '../../broker/api.js';
import type { DestinationRef } from '../../broker/message.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { QmqError, toQmqError, type ErrorCodeName } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { decodeCommand, encodeCommand, FrameSplitter, type OwObject, type OwThrowable } from './codec.js';
import { destinationRef, messageForDispatch, messageIdString, owDestination, sendRequestFromMessage } from './message-translation.js';
import { decodePrimitiveMap, encodeTypedMap } from './primitive-map.js';
import { planAck } from './ack-coverage.js';
import { MESSAGE_TYPES, OPENWIRE_VERSION, SCHEMAS, T } from './schema.js';

export interface OpenWireTransport {
  readonly remoteAddress: string;
  write(data: Buffer): void;
  /** Closes after everything written so far has been flushed. */
  end(): void;
  pause(): void;
  resume(): void;
}

export interface OpenWireServerOptions {
  broker: BrokerCoreApi;
  clock: Clock;
  logger: Logger;
  brokerName: string;
  serverVersion: string;
  /** Largest frame accepted (ActiveMQ's `wireFormat.maxFrameSize`, 100 MiB by default). */
  maxFrameBytes: number;
  /** Offered `MaxInactivityDuration`; the client's lower value wins, 0 turns the check off. */
  maxInactivityMs?: number;
  /** Unanswered sends after which reading pauses until some complete. */
  maxPendingSends?: number;
  /**
   * A client must send its WireFormatInfo within this long, or the connection closes (ActiveMQ's
   * `wireFormat.maxInactivityDurationInitalDelay`, 10 s): a socket that never speaks holds nothing.
   */
  handshakeTimeoutMs?: number;
}

// TransactionInfo.type.
const TX_BEGIN = 0;
const TX_COMMIT_ONE_PHASE = 2;
const TX_ROLLBACK = 4;
// DestinationInfo.operationType.
const DEST_ADD = 0;

const ADVISORY_PREFIX = 'ActiveMQ.Advisory.';
/** ActiveMQ Message.DEFAULT_MINIMUM_MESSAGE_SIZE: the size a message counts for, before its body and properties. */
const MIN_MESSAGE_SIZE = 1024;

/** The Java exception a client throws for each of our error codes (it instantiates the class by name). */
const EXCEPTION_CLASS: Partial<Record<ErrorCodeName, string>> = {
  NOT_AUTHENTICATED: 'java.lang.SecurityException',
  NOT_AUTHORIZED: 'java.lang.SecurityException',
  CLIENT_ID_IN_USE: 'javax.jms.InvalidClientIDException',
  CLIENT_ID_REQUIRED: 'javax.jms.InvalidClientIDException',
  INVALID_DESTINATION: 'javax.jms.InvalidDestinationException',
  DURABLE_ON_QUEUE: 'javax.jms.InvalidDestinationException',
  INVALID_SELECTOR: 'javax.jms.InvalidSelectorException',
  RESOURCE_LIMIT: 'javax.jms.ResourceAllocationException',
  STORE_FULL: 'javax.jms.ResourceAllocationException',
  UNKNOWN_TRANSACTION: 'javax.jms.IllegalStateException',
  TRANSACTION_EXISTS: 'javax.jms.IllegalStateException',
};

/** Refusals a Java client shows in ActiveMQ's own words, exactly (they carry no code suffix). */
const ACTIVEMQ_WORDS = new Set<ErrorCodeName>(['NOT_AUTHENTICATED', 'NOT_AUTHORIZED']);

export function throwableFor(e: QmqError): OwThrowable {
  return { className: EXCEPTION_CLASS[e.codeName] ?? 'javax.jms.JMSException', message: ACTIVEMQ_WORDS.has(e.codeName) ? e.message : `${e.message} (${e.code})` };
}

interface ConsumerState {
  /** The core subscription id: the ConsumerId as ActiveMQ prints it. */
  key: string;
  sessionKey: string;
  consumerId: OwObject;
  subscription: Subscription | null;
  /** Delivered and not acknowledged, in delivery order: message id → core tag. */
  inflight: Map<string, { tag: number; txAcked?: string }>;
  pull: { waiting: boolean; timer: TimerHandle | null } | null;
  /** A QueueBrowser: its copies are not deliveries, and the client's acks of them mean nothing. */
  browser: boolean;
}

function idKey(o: unknown): string {
  const x = o as OwObject | null;
  if (!x) return '';
  if (x.type === T.CONNECTION_ID) return String(x.value);
  if (x.type === T.SESSION_ID) return `${String(x.connectionId)}:${Number(x.value)}`;
  if (x.type === T.CONSUMER_ID || x.type === T.PRODUCER_ID) return `${String(x.connectionId)}:${Number(x.sessionId)}:${Number(x.value)}`;
  if (x.type === T.LOCAL_TRANSACTION_ID) return `${idKey(x.connectionId)}:${Number(x.value)}`;
  return '';
}

export class OpenWireSession {
  private readonly splitter: FrameSplitter;
  private readonly log: Logger;
  private state: 'negotiating' | 'open' | 'closed' = 'negotiating';
  private core: Connection | null = null;
  private readonly consumers = new Map<string, ConsumerState>();
  private readonly txAcks = new Map<string, Array<{ consumer: ConsumerState; id: string }>>();
  /** Producers with a window (ProducerInfo.windowSize > 0): their async sends are answered by ProducerAcks. */
  private readonly producerWindows = new Map<string, number>();
  private pendingSends = 0;
  private paused = false;
  private lastRead: number;
  private lastWrite: number;
  private inactivityMs = 0;
  private keepAliveTimer: TimerHandle | null = null;
  private handshakeTimer: TimerHandle | null = null;

  constructor(
    private readonly transport: OpenWireTransport,
    private readonly options: OpenWireServerOptions,
  ) {
    this.splitter = new FrameSplitter(options.maxFrameBytes);
    this.log = options.logger.child({ remote: transport.remoteAddress });
    this.lastRead = this.lastWrite = options.clock.now();
    this.handshakeTimer = options.clock.schedule(options.handshakeTimeoutMs ?? 10_000, () => {
      if (this.state !== 'negotiating') return;
      this.fail(new QmqError('FRAME_TIMEOUT', `OpenWire: no WireFormatInfo within ${options.handshakeTimeoutMs ?? 10_000} ms of connecting`));
    });
    // Both sides send their WireFormatInfo at once; neither waits for the other's.
    this.write({
      type: T.WIREFORMAT_INFO,
      version: OPENWIRE_VERSION,
      marshalledProperties: encodeTypedMap({
        // Tight encoding and the marshal cache are ANDed with the client's: off here means off.
        TightEncodingEnabled: { t: 'bool', v: false },
        CacheEnabled: { t: 'bool', v: false },
        SizePrefixDisabled: { t: 'bool', v: false },
        StackTraceEnabled: { t: 'bool', v: false },
        TcpNoDelayEnabled: { t: 'bool', v: true },
        MaxInactivityDuration: { t: 'long', v: options.maxInactivityMs ?? 30_000 },
        MaxInactivityDurationInitalDelay: { t: 'long', v: 10_000 },
        MaxFrameSize: { t: 'long', v: options.maxFrameBytes },
        CacheSize: { t: 'int', v: 1024 },
        ProviderName: { t: 'string', v: 'QuorumMQ' },
        ProviderVersion: { t: 'string', v: options.serverVersion },
      }),
    });
  }

  private get closed(): boolean {
    return this.state === 'closed';
  }

  private write(o: OwObject): void {
    if (this.state === 'closed') return;
    this.lastWrite = this.options.clock.now();
    this.transport.write(encodeCommand(o));
  }

  private respond(cmd: OwObject, error?: unknown): void {
    if (error !== undefined) {
      const e = toQmqError(error);
      if (cmd.responseRequired !== true) {
        this.log.warn({ err: e.message, code: e.code, command: SCHEMAS.get(cmd.type)?.name }, 'an OpenWire command without a response failed');
        return;
      }
      this.write({ type: T.EXCEPTION_RESPONSE, correlationId: cmd.commandId, exception: throwableFor(e) });
      return;
    }
    if (cmd.responseRequired === true) this.write({ type: T.RESPONSE, correlationId: cmd.commandId });
  }

  onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRead = this.options.clock.now();
    let bodies: Buffer[];
    try {
      bodies = this.splitter.push(chunk);
    } catch (e) {
      this.fail(toQmqError(e));
      return;
    }
    for (const body of bodies) {
      if (this.closed) return;
      let cmd: OwObject;
      try {
        cmd = decodeCommand(body);
      } catch (e) {
        this.fail(toQmqError(e));
        return;
      }
      try {
        this.handle(cmd);
      } catch (e) {
        // Before the handshake is done there is no command to answer: the connection ends.
        if (this.state === 'negotiating') this.fail(toQmqError(e));
        else this.respond(cmd, e);
      }
    }
  }

  /** A protocol violation: say why in the log and to the client, then close. Other clients go on. */
  private fail(e: QmqError): void {
    this.log.warn({ err: e.message, code: e.code }, 'OpenWire connection closed: protocol error');
    this.write({ type: T.CONNECTION_ERROR, exception: throwableFor(e), connectionId: null });
    this.close();
  }

  private handle(cmd: OwObject): void {
    if (this.state === 'negotiating') {
      if (cmd.type !== T.WIREFORMAT_INFO) throw new QmqError('FRAME_MALFORMED', `OpenWire: expected WireFormatInfo first, got ${SCHEMAS.get(cmd.type)?.name}`);
      this.negotiate(cmd);
      return;
    }
    switch (cmd.type) {
      case T.WIREFORMAT_INFO:
        return;
      case T.KEEP_ALIVE_INFO:
        // ActiveMQ's InactivityMonitor: a keep-alive that asks for an answer gets one back.
        if (cmd.responseRequired === true) this.write({ type: T.KEEP_ALIVE_INFO, responseRequired: false });
        return;
      case T.SHUTDOWN_INFO:
        // The client closes its socket right after this (as ActiveMQ's broker stops
        // asynchronously, the client's own close comes first); closing from here first makes it
        // report an EOFException. One that does not close is closed a little later.
        if (this.core === null) {
          this.options.clock.schedule(2_000, () => this.close());
          return;
        }
        this.close();
        return;
      case T.CONNECTION_INFO:
        this.connect(cmd);
        return;
    }
    const core = this.core;
    // A client whose login was refused still says goodbye (RemoveInfo): nothing to remove.
    if (core === null && cmd.type === T.REMOVE_INFO) return this.respond(cmd);
    if (core === null) throw new QmqError('NOT_CONNECTED', `OpenWire: ${SCHEMAS.get(cmd.type)?.name} before ConnectionInfo`);
    if (MESSAGE_TYPES.has(cmd.type)) return this.send(core, cmd);
    switch (cmd.type) {
      case T.PRODUCER_INFO:
        if (Number(cmd.windowSize) > 0) this.producerWindows.set(idKey(cmd.producerId), Number(cmd.windowSize));
        return this.respond(cmd);
      case T.SESSION_INFO:
      case T.CONSUMER_CONTROL:
      case T.CONNECTION_CONTROL:
      case T.FLUSH_COMMAND:
      case T.PRODUCER_ACK:
        return this.respond(cmd);
      case T.CONSUMER_INFO:
        return this.addConsumer(core, cmd);
      case T.MESSAGE_ACK:
        return this.ack(core, cmd);
      case T.MESSAGE_PULL:
        return this.pull(cmd);
      case T.TRANSACTION_INFO:
        return this.transaction(core, cmd);
      case T.DESTINATION_INFO:
        return this.destination(core, cmd);
      case T.REMOVE_INFO:
        return this.remove(cmd);
      case T.REMOVE_SUBSCRIPTION_INFO:
        core.removeDurableSubscription(String(cmd.subscriptionName)).then(
          () => this.respond(cmd),
          (e: unknown) => this.respond(cmd, e),
        );
        return;
      default:
        throw new QmqError('UNKNOWN_COMMAND', `OpenWire: ${SCHEMAS.get(cmd.type)?.name ?? cmd.type} is not supported`);
    }
  }

  private negotiate(info: OwObject): void {
    const version = Number(info.version);
    if (version < OPENWIRE_VERSION) {
      throw new QmqError('VERSION_UNSUPPORTED', `OpenWire version ${version} is not supported; QuorumMQ speaks version ${OPENWIRE_VERSION}, as ActiveMQ 5.17 clients do`);
    }
    const props = info.marshalledProperties ? decodePrimitiveMap(info.marshalledProperties as Buffer, 'the WireFormatInfo properties') : {};
    const theirs = typeof props.MaxInactivityDuration === 'number' ? props.MaxInactivityDuration : 30_000;
    const ours = this.options.maxInactivityMs ?? 30_000;
    this.inactivityMs = theirs <= 0 || ours <= 0 ? 0 : Math.min(theirs, ours);
    this.state = 'open';
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.write({
      type: T.BROKER_INFO,
      brokerId: { type: T.BROKER_ID, value: `ID:${this.options.brokerName}` },
      brokerName: this.options.brokerName,
    });
    this.scheduleKeepAlive();
  }

  /** Writes a KeepAliveInfo when we have been quiet, and drops a client silent past twice the negotiated time. */
  private scheduleKeepAlive(): void {
    if (this.inactivityMs === 0) return;
    const period = Math.max(100, Math.floor(this.inactivityMs / 3));
    this.keepAliveTimer = this.options.clock.schedule(period, () => {
      if (this.state === 'closed') return;
      const now = this.options.clock.now();
      if (now - this.lastRead > 2 * this.inactivityMs) {
        this.log.warn({ silentMs: now - this.lastRead }, 'OpenWire client silent past its inactivity timeout; closing');
        this.close();
        return;
      }
      if (now - this.lastWrite >= period) this.write({ type: T.KEEP_ALIVE_INFO, responseRequired: false });
      this.scheduleKeepAlive();
    });
  }

  private connect(cmd: OwObject): void {
    if (this.core !== null) return this.respond(cmd);
    try {
      this.core = this.options.broker.connect({
        clientId: typeof cmd.clientId === 'string' && cmd.clientId !== '' ? cmd.clientId : undefined,
        login: typeof cmd.userName === 'string' ? cmd.userName : undefined,
        passcode: typeof cmd.password === 'string' ? cmd.password : undefined,
        remoteAddress: this.transport.remoteAddress,
        protocol: 'openwire',
      });
    } catch (e) {
      const err = toQmqError(e);
      this.respond(cmd, err);
      // A refused login ends the connection. The Java client closes it itself on the
      // SecurityException ("Force close"), as it does with ActiveMQ; closing first would add an
      // EOFException to what it reports. A client that does not is closed a little later.
      if (err.codeName === 'NOT_AUTHENTICATED') this.options.clock.schedule(5_000, () => this.close());
      else if (err.fatal) this.close();
      return;
    }
    this.respond(cmd);
  }

  private send(core: Connection, cmd: OwObject): void {
    const { req, replyTo } = sendRequestFromMessage(cmd, { maxBodyBytes: this.options.maxFrameBytes });
    if (replyTo) req.replyTo = replyTo;
    const txId = cmd.transactionId ? idKey(cmd.transactionId) : undefined;
    const sent = core.send(req, txId);
    this.pendingSends++;
    if (!this.paused && this.pendingSends >= (this.options.maxPendingSends ?? 1024)) {
      // Producer flow control: stop reading until the store catches up (TCP holds the client back).
      this.paused = true;
      this.transport.pause();
    }
    sent.then(
      () => this.sendDone(cmd),
      (e: unknown) => this.sendDone(cmd, e),
    );
  }

  private sendDone(cmd: OwObject, e?: unknown): void {
    this.pendingSends--;
    if (this.paused && this.pendingSends < (this.options.maxPendingSends ?? 1024) / 2) {
      this.paused = false;
      this.transport.resume();
    }
    this.respond(cmd, e);
    // ActiveMQ's Queue/Topic.send: an async send of a producer with a window gets a ProducerAck
    // of the message's size (as Message.getSize() counts it on both sides), which frees that much
    // of the client's window. Sent after a failure too, or the producer would block for good.
    if (cmd.responseRequired !== true && this.producerWindows.has(idKey(cmd.producerId))) {
      const size = MIN_MESSAGE_SIZE + ((cmd.marshalledProperties as Buffer | null)?.length ?? 0) + ((cmd.content as Buffer | null)?.length ?? 0);
      this.write({ type: T.PRODUCER_ACK, producerId: cmd.producerId, size });
    }
  }

  private addConsumer(core: Connection, cmd: OwObject): void {
    const key = idKey(cmd.consumerId);
    if (this.consumers.has(key)) return this.respond(cmd);
    const destination = destinationRef(cmd.destination, 'the consumer destination');
    const state: ConsumerState = {
      key,
      sessionKey: key.slice(0, key.lastIndexOf(':')),
      consumerId: cmd.consumerId as OwObject,
      subscription: null,
      inflight: new Map(),
      pull: Number(cmd.prefetchSize) === 0 ? { waiting: false, timer: null } : null,
      browser: cmd.browser === true,
    };
    // Advisory topics (the client watches temp destinations on them): accepted, never fed.
    if (destination.name.split(',').every((n) => n.startsWith(ADVISORY_PREFIX))) {
      this.consumers.set(key, state);
      return this.respond(cmd);
    }
    const ackMode: AckMode = 'client-individual';
    const sub = core.subscribe(
      {
        id: key,
        destination,
        ackMode,
        selector: typeof cmd.selector === 'string' ? cmd.selector : undefined,
        // Prefetch 0 (pull) runs as 1: see `pull`.
        prefetch: Math.max(1, Number(cmd.prefetchSize)),
        durableName: destination.kind === 'topic' && typeof cmd.subscriptionName === 'string' && cmd.subscriptionName !== '' ? cmd.subscriptionName : undefined,
        exclusive: cmd.exclusive === true,
        noLocal: cmd.noLocal === true,
        consumerPriority: Number(cmd.priority),
        browser: cmd.browser === true,
        startPaused: true,
      },
      {
        deliver: (d) => this.dispatch(state, d),
        // The browse is over: a MessageDispatch without a message says so.
        browseEnd: () => this.write({ type: T.MESSAGE_DISPATCH, consumerId: state.consumerId, destination: cmd.destination, message: null, redeliveryCounter: 0 }),
      },
    );
    state.subscription = sub;
    this.consumers.set(key, state);
    this.respond(cmd);
    sub.start();
  }

  private dispatch(state: ConsumerState, d: Delivery): void {
    const message = messageForDispatch(d.message, d.tag, this.options.clock.now());
    // The client reports the last one its application consumed by this number (RemoveInfo).
    (message.messageId as OwObject).brokerSequenceId = d.tag;
    if (!state.browser) state.inflight.set(messageIdString(message.messageId)!, { tag: d.tag });
    if (state.pull) {
      state.pull.waiting = false;
      state.pull.timer?.cancel();
      state.pull.timer = null;
    }
    const redeliveryCounter = Math.max(d.message.redeliveryCount, d.redelivered ? 1 : 0);
    message.redeliveryCounter = redeliveryCounter;
    this.write({ type: T.MESSAGE_DISPATCH, consumerId: state.consumerId, destination: message.destination, message, redeliveryCounter });
  }

  /**
   * A prefetch-0 consumer asks for one message. We run such consumers with a window of one, so
   * the next message is usually already on its way; if none comes within the pull's timeout
   * (none at all for -1, "receiveNoWait"), an empty dispatch tells the client to stop waiting.
   */
  private pull(cmd: OwObject): void {
    const state = this.consumers.get(idKey(cmd.consumerId));
    if (!state?.pull) return this.respond(cmd);
    const timeout = Number(cmd.timeout);
    state.pull.waiting = true;
    state.pull.timer?.cancel();
    state.pull.timer = null;
    if (timeout !== 0) {
      const pull = state.pull;
      pull.timer = this.options.clock.schedule(Math.max(0, timeout), () => {
        pull.timer = null;
        if (!pull.waiting) return;
        pull.waiting = false;
        this.write({ type: T.MESSAGE_DISPATCH, consumerId: state.consumerId, destination: cmd.destination, message: null, redeliveryCounter: 0 });
      });
    }
    this.respond(cmd);
  }

  private ack(core: Connection, cmd: OwObject): void {
    const state = this.consumers.get(idKey(cmd.consumerId));
    const last = messageIdString(cmd.lastMessageId);
    const outstanding = state ? [...state.inflight].map(([id, e]) => [id, e.txAcked] as const) : [];
    const plan = planAck(Number(cmd.ackType), last, outstanding);
    if (plan.action === 'none' || !state) {
      if (!state || last === undefined || !state.inflight.has(last)) {
        this.log.debug({ consumer: idKey(cmd.consumerId), last }, 'OpenWire ack for a delivery this connection does not hold');
      }
      return this.respond(cmd);
    }
    if (plan.action === 'release-window') {
      core.releaseWindow(state.inflight.get(plan.last)!.tag);
      return this.respond(cmd);
    }
    const txId = cmd.transactionId ? idKey(cmd.transactionId) : undefined;
    // ActiveMQ stores a poisoned message's reason as Throwable.toString() prints it.
    const t = cmd.poisonCause as OwThrowable | null;
    const cause = t ? (t.message === null ? t.className : `${t.className}: ${t.message}`) : undefined;
    const work: Promise<void>[] = [];
    for (const id of plan.ids) {
      const entry = state.inflight.get(id)!;
      if (plan.action === 'poison') {
        state.inflight.delete(id);
        work.push(core.poison(entry.tag, cause));
      } else if (txId !== undefined) {
        entry.txAcked = txId;
        let list = this.txAcks.get(txId);
        if (!list) this.txAcks.set(txId, (list = []));
        list.push({ consumer: state, id });
        work.push(core.ack(entry.tag, txId));
      } else {
        state.inflight.delete(id);
        work.push(core.ack(entry.tag));
      }
    }
    Promise.all(work).then(
      () => this.respond(cmd),
      (e: unknown) => this.respond(cmd, e),
    );
  }

  private transaction(core: Connection, cmd: OwObject): void {
    const txId = idKey(cmd.transactionId);
    const type = Number(cmd.txType);
    if (cmd.transactionId && (cmd.transactionId as OwObject).type !== T.LOCAL_TRANSACTION_ID) {
      throw new QmqError('UNKNOWN_TRANSACTION', 'OpenWire: XA transactions are not supported; use a transacted session');
    }
    if (type === TX_BEGIN) {
      core.begin(txId);
      return this.respond(cmd);
    }
    if (type === TX_COMMIT_ONE_PHASE) {
      core.commit(txId).then(
        () => {
          for (const a of this.txAcks.get(txId) ?? []) a.consumer.inflight.delete(a.id);
          this.txAcks.delete(txId);
          this.respond(cmd);
        },
        (e: unknown) => {
          this.clearTxAcks(txId);
          this.respond(cmd, e);
        },
      );
      return;
    }
    if (type === TX_ROLLBACK) {
      // The deliveries stay with this consumer; the Java client redelivers them itself.
      this.clearTxAcks(txId);
      core.abort(txId);
      return this.respond(cmd);
    }
    throw new QmqError('UNKNOWN_TRANSACTION', `OpenWire: transaction operation ${type} is not supported (XA is not)`);
  }

  private clearTxAcks(txId: string): void {
    for (const a of this.txAcks.get(txId) ?? []) {
      const entry = a.consumer.inflight.get(a.id);
      if (entry) entry.txAcked = undefined;
    }
    this.txAcks.delete(txId);
  }

  private destination(core: Connection, cmd: OwObject): void {
    const ref: DestinationRef = destinationRef(cmd.destination, 'the destination');
    const add = Number(cmd.operationType) === DEST_ADD;
    if (ref.kind === 'temp-queue' || ref.kind === 'temp-topic') {
      if (add) core.temporaryDestination(ref.kind, ref.name, { nameIsGlobal: true });
      else core.deleteTemporaryDestination(ref);
    } else if (!add) {
      // ActiveMQConnection.destroyDestination asks with timeout 0: refused while consumed. A name
      // that does not exist is no error there (AbstractRegion.removeDestination finds nothing).
      core.deleteDestination(ref).then(
        () => this.respond(cmd),
        (e: unknown) => this.respond(cmd, toQmqError(e).codeName === 'UNKNOWN_DESTINATION' ? undefined : e),
      );
      return;
    }
    // Queues and topics come into being when first used, so adding one needs nothing.
    this.respond(cmd);
  }

  private remove(cmd: OwObject): void {
    const id = cmd.objectId as OwObject | null;
    const key = idKey(id);
    if (id?.type === T.CONSUMER_ID) this.removeConsumer(key, Number(cmd.lastDeliveredSequenceId));
    else if (id?.type === T.PRODUCER_ID) this.producerWindows.delete(key);
    else if (id?.type === T.SESSION_ID) {
      for (const c of [...this.consumers.values()]) if (c.sessionKey === key) this.removeConsumer(c.key);
    } else if (id?.type === T.CONNECTION_ID) {
      const core = this.core;
      this.core = null;
      this.consumers.clear();
      if (core) {
        core.close().then(
          () => this.respond(cmd),
          (e: unknown) => this.respond(cmd, e),
        );
        return;
      }
    }
    this.respond(cmd);
  }

  /**
   * `lastDelivered` is the broker sequence (our tag, see `dispatch`) of the last message the
   * application consumed, -1 for none: later ones were only prefetched, so they are not
   * redeliveries. Without it (a session's or connection's removal) all count.
   */
  private removeConsumer(key: string, lastDelivered?: number): void {
    const state = this.consumers.get(key);
    if (!state) return;
    this.consumers.delete(key);
    state.pull?.timer?.cancel();
    if (!state.subscription || !this.core) return;
    const known = lastDelivered !== undefined && Number.isSafeInteger(lastDelivered);
    this.core.unsubscribe(key, known ? { deliveredThroughTag: Math.max(0, lastDelivered) } : undefined);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.transport.end();
    this.state = 'closed';
    this.onTransportClosed();
  }

  onTransportClosed(): void {
    this.state = 'closed';
    this.keepAliveTimer?.cancel();
    this.handshakeTimer?.cancel();
    for (const c of this.consumers.values()) c.pull?.timer?.cancel();
    this.consumers.clear();
    const core = this.core;
    this.core = null;
    core?.close().catch((e: unknown) => this.log.error({ err: e }, 'closing an OpenWire connection failed'));
  }
}
