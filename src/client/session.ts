import { encodeFrame, encodeHeartbeat } from '../protocol/stomp/encoder.js';
import { getHeader, headersToRecord, type StompFrame } from '../protocol/stomp/frame.js';
import { StompParser } from '../protocol/stomp/parser.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import type { ClientTransport } from './transport.js';
import type { BrokerAddress } from './url.js';

/** What a session reports to its owner. */
export interface SessionEvents {
  onFrame(frame: StompFrame): void;
  /** The connection is gone (called once). */
  onClose(err: Error): void;
}

export interface SessionParams {
  address: BrokerAddress;
  transport: ClientTransport;
  connectHeaders: Record<string, string>;
  /** Bound on the CONNECT/CONNECTED exchange. */
  handshakeTimeoutMs: number;
  /** Heart-beat we offer in both directions; 0 turns heart-beating off. */
  heartbeatMs: number;
  maxBodyBytes: number;
  clock: Clock;
}

/** An ERROR frame from the broker, as an error with the broker's code and text. */
export class BrokerError extends Error {
  /** The broker's `code` header (QuorumMQ: `QMQ-nnnn`), if any. */
  readonly code: string | undefined;
  readonly body: string;
  readonly headers: Record<string, string>;
  constructor(frame: StompFrame) {
    const h = headersToRecord(frame);
    super(`broker error: ${h.message ?? 'error from the broker'}${h.code ? ` (${h.code})` : ''}`);
    this.name = 'BrokerError';
    this.code = h.code;
    this.body = frame.body.toString('utf8');
    this.headers = h;
  }
}

/**
 * One STOMP 1.2 connection to one broker: the CONNECT handshake, frame parsing, heart-beats.
 * It knows nothing about receipts or failover; the client above it does.
 */
export class ClientSession {
  private readonly parser: StompParser;
  private closedWith: Error | undefined;
  private handshake: ((f: StompFrame) => void) | undefined;
  private events: SessionEvents | undefined;
  private lastReadAt: number;
  private lastWriteAt: number;
  private timers: TimerHandle[] = [];
  serverHeaders: Record<string, string> = {};

  private constructor(
    readonly address: BrokerAddress,
    private readonly transport: ClientTransport,
    private readonly clock: Clock,
    maxBodyBytes: number,
  ) {
    this.lastReadAt = clock.now();
    this.lastWriteAt = clock.now();
    this.parser = new StompParser({
      limits: { maxBodyBytes, maxHeaderBytes: 1024 * 1024, maxHeaders: 100_000 },
      side: 'client',
      onFrame: (f) => {
        // A session we gave up on (heart-beat silence) is only half-closed: a broker that wakes
        // (SIGCONT) can still write into it. Its frames belong to a connection the client has
        // left; a MESSAGE from it would reach the application next to the new master's copy.
        if (this.closedWith) return;
        if (this.handshake) {
          const h = this.handshake;
          this.handshake = undefined;
          h(f);
        } else this.events?.onFrame(f);
      },
    });
    transport.onData((chunk) => {
      if (this.closedWith) return;
      this.lastReadAt = this.clock.now();
      try {
        this.parser.push(chunk);
      } catch (e) {
        this.terminate(e as Error);
      }
    });
    transport.onClose((err) => this.terminate(err ?? new QmqError('NOT_CONNECTED', `the connection to ${address.text} was closed`)));
  }

  /** Runs CONNECT/CONNECTED. An ERROR reply rejects with a BrokerError; the transport is closed on any failure. */
  static async open(p: SessionParams): Promise<ClientSession> {
    const s = new ClientSession(p.address, p.transport, p.clock, p.maxBodyBytes);
    const headers = { ...p.connectHeaders, 'heart-beat': `${p.heartbeatMs},${p.heartbeatMs}` };
    let timer: TimerHandle | undefined;
    const reply = new Promise<StompFrame>((resolve, reject) => {
      timer = p.clock.schedule(p.handshakeTimeoutMs, () => reject(new QmqError('NOT_CONNECTED', `no CONNECTED from ${p.address.text} within ${p.handshakeTimeoutMs} ms`)));
      s.handshake = (f) => (f.command === 'CONNECTED' ? resolve(f) : reject(f.command === 'ERROR' ? new BrokerError(f) : new QmqError('FRAME_MALFORMED', `expected CONNECTED, got ${f.command}`)));
      s.events = { onFrame: () => {}, onClose: (err) => reject(err) };
    });
    s.transport.write(encodeFrame({ command: 'CONNECT', headers, body: Buffer.alloc(0) }, '1.2'));
    try {
      const f = await reply;
      s.serverHeaders = headersToRecord(f);
    } catch (e) {
      s.terminate(e as Error);
      throw e;
    } finally {
      timer?.cancel();
    }
    s.events = undefined;
    s.parser.version = '1.2';
    s.startHeartbeats(p.heartbeatMs, getHeader({ headers: Object.entries(s.serverHeaders) }, 'heart-beat'));
    return s;
  }

  /** Attaches the owner; frames that arrived in between are not possible (the handshake reply was the last one read). */
  attach(events: SessionEvents): void {
    this.events = events;
    if (this.closedWith) events.onClose(this.closedWith);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  write(command: string, headers: Record<string, string>, body: Buffer = Buffer.alloc(0)): void {
    if (this.closedWith) return;
    this.lastWriteAt = this.clock.now();
    this.transport.write(encodeFrame({ command, headers, body }, '1.2'));
  }

  /** Closes the transport; the owner gets `onClose(err)`. */
  terminate(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.transport.close();
    // During the handshake `events` is open()'s own hook, which rejects with this error.
    this.handshake = undefined;
    this.events?.onClose(err);
  }

  // STOMP 1.2 §Heart-beating: each side sends at max(own offer, peer's wish); silence longer
  // than the peer's promised interval (with a grace factor) means the connection is dead.
  private startHeartbeats(offerMs: number, serverHeader: string | undefined): void {
    if (offerMs <= 0 || !serverHeader) return;
    const [sx, sy] = serverHeader.split(',').map((v) => Number(v.trim()));
    const sendEveryMs = Number.isFinite(sy) && sy > 0 ? Math.max(offerMs, sy) : 0;
    const expectEveryMs = Number.isFinite(sx) && sx > 0 ? Math.max(offerMs, sx) : 0;
    if (sendEveryMs > 0) {
      const beat = () => {
        if (this.closedWith) return;
        if (this.clock.now() - this.lastWriteAt >= sendEveryMs / 2) {
          this.lastWriteAt = this.clock.now();
          this.transport.write(encodeHeartbeat());
        }
        this.timers[0] = this.clock.schedule(sendEveryMs / 2, beat);
      };
      this.timers[0] = this.clock.schedule(sendEveryMs / 2, beat);
    }
    if (expectEveryMs > 0) {
      const limitMs = expectEveryMs * 2;
      const check = () => {
        if (this.closedWith) return;
        if (this.clock.now() - this.lastReadAt > limitMs) {
          this.terminate(new QmqError('NOT_CONNECTED', `no data or heart-beat from ${this.address.text} for ${limitMs} ms`));
          return;
        }
        this.timers[1] = this.clock.schedule(expectEveryMs, check);
      };
      this.timers[1] = this.clock.schedule(expectEveryMs, check);
    }
  }
}
