import type { AckMode, Connection, Delivery, DeliverySink } from '../../broker/api.js';
import type { DestinationRef } from '../../broker/message.js';
import type { TimerHandle } from '../../util/clock.js';
import { QmqError, toQmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { getHeader, headersToRecord, type StompFrame, type StompVersion } from './frame.js';
import { encodeFrame, encodeHeartbeat } from './encoder.js';
import { StompParser } from './parser.js';
import { renderDestination } from './destinations.js';
import { messageHeaders } from './frame-translation.js';
import { negotiateVersion, planHeartbeat } from './heartbeat.js';
import type { FrameHandler, HandlerContext, HandlerResult, StompServerOptions, StompSubscriptionState, StompTransport } from './session-types.js';
import { handleSend } from './handlers/send.js';
import { handleSubscribe, handleUnsubscribe } from './handlers/subscribe.js';
import { handleAck, handleNack } from './handlers/ack.js';
import { handleAbort, handleBegin, handleCommit } from './handlers/transaction.js';

const HANDLERS: Record<string, FrameHandler> = {
  SEND: handleSend,
  SUBSCRIBE: handleSubscribe,
  UNSUBSCRIBE: handleUnsubscribe,
  ACK: handleAck,
  NACK: handleNack,
  BEGIN: handleBegin,
  COMMIT: handleCommit,
  ABORT: handleAbort,
};

interface PendingReply {
  receipt: string | undefined;
  command: string;
  done: boolean;
  error?: QmqError;
  after?: () => void;
  receiptHeaders?: Record<string, string>;
}

let sessionCounter = 0;

/**
 * One STOMP connection: parses bytes into frames, runs each frame's handler, and writes the
 * replies. Replies (RECEIPT or ERROR) go out in the order the frames arrived, even though the
 * work behind them (a store write, say) completes out of order; this keeps pipelined SENDs
 * fast while every receipt still means "this and everything before it is done".
 */
export class StompSession {
  readonly id = ++sessionCounter;
  private readonly parser: StompParser;
  private version: StompVersion = '1.0';
  private core: Connection | undefined;
  private readonly subscriptions = new Map<string, StompSubscriptionState>();
  private readonly replies: PendingReply[] = [];
  /** Ack ids (1.2 `ack` header / 1.0-1.1 message ids) → delivery tags. */
  private readonly ackIdToTag = new Map<string, number>();
  private readonly tagToAckKeys = new Map<number, string[]>();
  private readonly tempLocalToGlobal = new Map<string, DestinationRef>();
  private readonly tempGlobalToLocal = new Map<string, string>();
  private pendingSends = 0;
  private paused = false;
  private closed = false;
  private closing = false;
  private lastReadAt: number;
  private heartbeatTimers: TimerHandle[] = [];
  private frameTimer: TimerHandle | undefined;
  private readonly log: Logger;
  private handlerContext: HandlerContext | undefined;

  constructor(
    private readonly transport: StompTransport,
    private readonly options: StompServerOptions,
  ) {
    this.log = options.logger.child({ session: this.id, remote: transport.remoteAddress });
    this.lastReadAt = options.clock.now();
    this.parser = new StompParser({
      limits: options.limits,
      side: 'server',
      onFrame: (f) => this.onFrame(f),
    });
  }

  /** Bytes from the transport. */
  onData(chunk: Buffer): void {
    if (this.closed || this.closing) return;
    this.lastReadAt = this.options.clock.now();
    try {
      this.parser.push(chunk);
    } catch (e) {
      // The parser cannot resynchronise after bad input, so any codec error ends the connection.
      this.fail(toQmqError(e), undefined);
      return;
    }
    this.armFrameTimer();
  }

  /** The transport closed (by either side). Cleans up broker state exactly once. */
  onTransportClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    for (const t of this.heartbeatTimers) t?.cancel();
    this.frameTimer?.cancel();
    const core = this.core;
    this.core = undefined;
    if (core) {
      core.close().catch((e) => this.log.warn({ err: toQmqError(e).message }, 'error while closing connection state'));
    }
  }

  // A client that starts a frame and stalls would otherwise hold its buffer forever.
  private armFrameTimer(): void {
    if (!this.parser.midFrame) {
      this.frameTimer?.cancel();
      this.frameTimer = undefined;
      return;
    }
    if (this.frameTimer) return;
    const timeoutMs = this.options.limits.frameTimeoutMs;
    this.frameTimer = this.schedule(timeoutMs, () => {
      this.frameTimer = undefined;
      if (this.parser.midFrame && !this.closed) {
        this.fail(new QmqError('FRAME_TIMEOUT', `incomplete frame: no complete frame arrived within ${timeoutMs} ms`, { fatal: true }), undefined);
      }
    });
  }

  private onFrame(frame: StompFrame): void {
    if (this.closing) return;
    const receipt = getHeader(frame, 'receipt');
    if (frame.command === 'CONNECT' || frame.command === 'STOMP') {
      this.onConnect(frame);
      return;
    }
    if (!this.core) {
      this.fail(new QmqError('NOT_CONNECTED', `${frame.command} received before CONNECT`, { fatal: true }), receipt);
      return;
    }
    if (frame.command === 'DISCONNECT') {
      // STOMP 1.2 §DISCONNECT: the receipt confirms every earlier frame was processed, so it
      // queues behind them; the connection closes once it is written.
      this.closing = true;
      this.enqueueReply(frame.command, receipt, Promise.resolve(() => this.transport.end()));
      return;
    }
    const handler = HANDLERS[frame.command];
    if (!handler) {
      // The parser rejects unknown commands; a client-side command a server never accepts lands here.
      this.fail(new QmqError('UNKNOWN_COMMAND', `unexpected command ${frame.command}`, { fatal: true }), receipt);
      return;
    }
    let result: Promise<HandlerResult>;
    try {
      // The context only changes at CONNECT, so one object (and its closures) serves every frame.
      this.handlerContext ??= this.context();
      result = Promise.resolve(handler(this.handlerContext, frame, headersToRecord(frame)));
    } catch (e) {
      result = Promise.reject(e);
    }
    this.enqueueReply(frame.command, receipt, result);
  }

  private onConnect(frame: StompFrame): void {
    const h = headersToRecord(frame);
    const receipt = h.receipt;
    if (this.core) {
      this.fail(new QmqError('FRAME_MALFORMED', 'already connected: a second CONNECT is not allowed', { fatal: true }), receipt);
      return;
    }
    const version = negotiateVersion(h['accept-version']);
    if (!version) {
      // STOMP 1.2 §Protocol Negotiation: ERROR with the versions we support, then close.
      this.fail(
        new QmqError('VERSION_UNSUPPORTED', `supported protocol versions are 1.0,1.1,1.2; the client offered ${h['accept-version']}`, { fatal: true }),
        receipt,
        { version: '1.0,1.1,1.2' },
      );
      return;
    }
    let plan;
    try {
      plan = planHeartbeat(version === '1.0' ? undefined : h['heart-beat'], this.options.heartbeatGraceMultiplier ?? 1.5);
      this.core = this.options.broker.connect({
        clientId: h['client-id'],
        login: h.login,
        passcode: h.passcode,
        remoteAddress: this.transport.remoteAddress,
        protocol: `stomp/${version}`,
      });
    } catch (e) {
      const err = toQmqError(e);
      this.fail(new QmqError(err.codeName, err.message, { fatal: true }), receipt);
      return;
    }
    this.version = version;
    this.parser.version = version;
    const headers: Array<[string, string]> = [
      ['version', version],
      ['session', this.core.clientId ?? this.core.id],
      ['server', this.options.serverName],
      ['heart-beat', plan.header],
      // Lets a client refuse an oversized send before writing it (QuorumMQ extension).
      ['qmq-max-body-bytes', String(this.options.limits.maxBodyBytes)],
    ];
    for (const [k, v] of Object.entries(this.options.connectedHeaders?.() ?? {})) headers.push([k, v]);
    // ActiveMQ echoes a CONNECT `receipt`/`request-id` as `receipt-id`/`response-id`.
    if (receipt !== undefined) headers.push(['receipt-id', receipt]);
    if (h['request-id'] !== undefined) headers.push(['response-id', h['request-id']]);
    this.write({ command: 'CONNECTED', headers, body: Buffer.alloc(0) });
    this.startHeartbeats(plan.sendEveryMs, plan.expectWithinMs);
    this.log.debug({ version, clientId: this.core.clientId }, 'stomp client connected');
  }

  /**
   * Timers run outside any caller that could catch their errors; a bug in one session must
   * close that session, not take the whole broker down.
   */
  private schedule(delayMs: number, fn: () => void): TimerHandle {
    return this.options.clock.schedule(delayMs, () => {
      try {
        fn();
      } catch (e) {
        this.log.error({ err: (e as Error).stack ?? String(e) }, 'session timer failed; closing the connection');
        this.transport.end();
        this.onTransportClosed();
      }
    });
  }

  private startHeartbeats(sendEveryMs: number, expectWithinMs: number): void {
    const clock = this.options.clock;
    if (sendEveryMs > 0) {
      const beat = () => {
        if (this.closed) return;
        this.transport.write(encodeHeartbeat());
        this.heartbeatTimers[0] = this.schedule(sendEveryMs, beat);
      };
      this.heartbeatTimers[0] = this.schedule(sendEveryMs, beat);
    }
    if (expectWithinMs > 0) {
      const check = () => {
        if (this.closed) return;
        const silentMs = clock.now() - this.lastReadAt;
        if (silentMs >= expectWithinMs) {
          this.log.info({ silentMs }, 'closing connection: no heart-beat from the client');
          this.transport.end();
          this.onTransportClosed();
          return;
        }
        this.heartbeatTimers[1] = this.schedule(expectWithinMs - silentMs, check);
      };
      this.heartbeatTimers[1] = this.schedule(expectWithinMs, check);
    }
  }

  private enqueueReply(command: string, receipt: string | undefined, work: Promise<HandlerResult>): void {
    const entry: PendingReply = { receipt, command, done: false };
    this.replies.push(entry);
    work.then(
      (after) => {
        entry.done = true;
        if (typeof after === 'function') entry.after = after;
        else if (after) {
          entry.after = after.after;
          entry.receiptHeaders = after.receiptHeaders;
        }
        this.flushReplies();
      },
      (e) => {
        entry.done = true;
        entry.error = toQmqError(e);
        this.flushReplies();
      },
    );
  }

  private flushReplies(): void {
    while (this.replies.length > 0 && this.replies[0].done) {
      const r = this.replies.shift()!;
      if (this.closed) continue;
      if (r.error) {
        if (r.error.codeName === 'OUTCOME_UNKNOWN') {
          // Neither RECEIPT nor ERROR would be true: drop the connection, so the client treats
          // the frame as in doubt (a failover client resends, or asks about its commit).
          this.log.warn({ err: r.error.message, command: r.command }, 'closing the connection: outcome unknown');
          this.closeAfterError();
          return;
        }
        if (r.error.codeName === 'INTERNAL') this.log.error({ err: r.error.message, command: r.command }, 'frame failed');
        this.sendError(r.error, r.receipt);
        // ActiveMQ keeps the connection for non-fatal errors (unknown transaction, bad selector, …).
        if (r.error.fatal) {
          this.closeAfterError();
          return;
        }
        continue;
      }
      if (r.receipt !== undefined) {
        const headers: Array<[string, string]> = [['receipt-id', r.receipt], ...Object.entries(r.receiptHeaders ?? {})];
        this.write({ command: 'RECEIPT', headers, body: Buffer.alloc(0) });
      }
      r.after?.();
    }
  }

  private sendError(err: QmqError, receipt: string | undefined, extra: Record<string, string> = {}): void {
    const headers: Array<[string, string]> = [
      ['message', err.message.split('\n')[0]],
      ['code', err.code],
      ['content-type', 'text/plain'],
    ];
    for (const [k, v] of Object.entries(extra)) headers.push([k, v]);
    // STOMP 1.2 §ERROR: if the failing frame had a receipt, ERROR carries its `receipt-id`.
    if (receipt !== undefined) headers.push(['receipt-id', receipt]);
    const body = Buffer.from(`${err.code} ${err.message}${err.detail ? '\n' + err.detail : ''}\n`);
    this.write({ command: 'ERROR', headers, body });
  }

  /** Fatal errors: ERROR, then close (STOMP 1.2 §ERROR: the server closes after sending it). */
  private fail(err: QmqError, receipt: string | undefined, extra: Record<string, string> = {}): void {
    if (this.closed) return;
    this.log.info({ code: err.code, err: err.message }, 'closing connection after a protocol error');
    this.sendError(err, receipt, extra);
    this.closeAfterError();
  }

  private closeAfterError(): void {
    this.closing = true;
    this.transport.end();
    this.onTransportClosed();
  }

  private write(frame: StompFrame): void {
    if (this.closed) return;
    // A property sent by a 1.1+ client may hold a line feed, which 1.0 cannot carry: leave
    // such a header out of a relayed MESSAGE rather than fail the delivery.
    this.transport.write(encodeFrame(frame, this.version, frame.command === 'MESSAGE' ? { unrepresentable: 'skip' } : {}));
  }

  private context(): HandlerContext {
    const self = this;
    const core = this.core!;
    return {
      version: this.version,
      core,
      broker: this.options.broker,
      subscriptions: this.subscriptions,
      options: this.options,
      resolveTemp: (kind, localName) => self.resolveTemp(kind, localName),
      tagForAck: (frame) => self.tagForAck(frame),
      forgetAcked: (tag) => self.forgetTag(tag),
      sinkFor: (subscriptionId, ackMode, destination, idGiven) => self.sinkFor(subscriptionId, ackMode, destination, idGiven),
      requestClose: () => self.transport.end(),
      trackSend: (p) => self.trackSend(p),
    };
  }

  private resolveTemp(kind: 'temp-queue' | 'temp-topic', localName: string): { kind: 'temp-queue' | 'temp-topic'; name: string } {
    const key = `${kind}:${localName}`;
    let ref = this.tempLocalToGlobal.get(key);
    if (!ref) {
      ref = this.core!.temporaryDestination(kind, localName);
      this.tempLocalToGlobal.set(key, ref);
      this.tempGlobalToLocal.set(`${ref.kind}:${ref.name}`, localName);
    }
    return ref as { kind: 'temp-queue' | 'temp-topic'; name: string };
  }

  private render = (d: DestinationRef): string => renderDestination(d, (g) => this.tempGlobalToLocal.get(g));

  private sinkFor(subscriptionId: string, ackMode: AckMode, destination: DestinationRef, idGiven: boolean): DeliverySink {
    return {
      deliver: (d: Delivery) => {
        let ackId: string | undefined;
        if (ackMode !== 'auto') {
          ackId = String(d.tag);
          // 1.2 clients echo `ack`; 1.0/1.1 clients echo `message-id` (and 1.1 `subscription`).
          const keys = [`a:${ackId}`, `m:${d.message.id}`, `s:${subscriptionId}:${d.message.id}`];
          for (const k of keys) this.ackIdToTag.set(k, d.tag);
          this.tagToAckKeys.set(d.tag, keys);
        }
        const headers = messageHeaders(d, { ackId: this.version === '1.2' ? ackId : undefined, render: this.render, showSubscription: idGiven });
        this.write({ command: 'MESSAGE', headers, body: d.message.body });
      },
      browseEnd: () => {
        // ActiveMQ ends a queue browse with an empty MESSAGE carrying `browser:end` and the browsed queue.
        this.write({
          command: 'MESSAGE',
          headers: [['subscription', subscriptionId], ['message-id', 'BrowseDone'], ['destination', this.render(destination)], ['browser', 'end']],
          body: Buffer.alloc(0),
        });
      },
    };
  }

  private tagForAck(frame: StompFrame): number {
    const id = getHeader(frame, 'id');
    const messageId = getHeader(frame, 'message-id');
    const sub = getHeader(frame, 'subscription');
    let tag: number | undefined;
    if (this.version === '1.2' && id !== undefined) tag = this.ackIdToTag.get(`a:${id}`);
    if (tag === undefined && messageId !== undefined) {
      tag = sub !== undefined ? this.ackIdToTag.get(`s:${sub}:${messageId}`) : undefined;
      tag ??= this.ackIdToTag.get(`m:${messageId}`);
    }
    if (tag === undefined && id !== undefined) tag = this.ackIdToTag.get(`a:${id}`);
    if (tag === undefined) {
      if (id === undefined && messageId === undefined) {
        throw new QmqError('MISSING_HEADER', `${frame.command} frame needs ${this.version === '1.2' ? '"id"' : '"message-id"'} naming the message to ${frame.command.toLowerCase()}`);
      }
      throw new QmqError('UNKNOWN_MESSAGE', `${frame.command} for ${id ?? messageId}: no such unacknowledged message on this connection`);
    }
    return tag;
  }

  private forgetTag(tag: number): void {
    const keys = this.tagToAckKeys.get(tag);
    if (!keys) return;
    this.tagToAckKeys.delete(tag);
    for (const k of keys) if (this.ackIdToTag.get(k) === tag) this.ackIdToTag.delete(k);
    // A cumulative ack also settles every earlier tag; those entries are pruned lazily here.
    if (this.tagToAckKeys.size > 10_000) {
      for (const [t, ks] of this.tagToAckKeys) {
        if (t >= tag) break;
        this.tagToAckKeys.delete(t);
        for (const k of ks) if (this.ackIdToTag.get(k) === t) this.ackIdToTag.delete(k);
      }
    }
  }

  private trackSend<T>(p: Promise<T>): Promise<T> {
    const limit = this.options.maxPendingSends ?? 1024;
    this.pendingSends++;
    if (!this.paused && this.pendingSends >= limit) {
      this.paused = true;
      this.transport.pause();
    }
    const settle = () => {
      this.pendingSends--;
      if (this.paused && this.pendingSends <= limit / 2) {
        this.paused = false;
        this.transport.resume();
      }
    };
    p.then(settle, settle);
    return p;
  }
}
