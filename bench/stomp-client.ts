/**
 * A deliberately small STOMP 1.2 client for the benchmark, built on the broker's own codec so
 * it runs against any STOMP broker and adds as little overhead as possible: frames are written
 * through a corked socket, identical pipelined frames are encoded once, and receipts are
 * matched through a map. It is not a general client (no reconnect, no heart-beats).
 */
import net from 'node:net';
import { StompParser } from '../src/protocol/stomp/parser.js';
import { encodeFrame } from '../src/protocol/stomp/encoder.js';
import { getHeader, type StompFrame } from '../src/protocol/stomp/frame.js';

export interface ConnectOptions {
  host: string;
  port: number;
  login?: string;
  passcode?: string;
  /** The virtual host of the CONNECT frame (STOMP 1.2 "CONNECT or STOMP Frame": required). */
  vhost?: string;
  timeoutMs?: number;
}

export type AckMode = 'auto' | 'client' | 'client-individual';

const PARSER_LIMITS = { maxBodyBytes: 256 * 1024 * 1024, maxHeaderBytes: 1024 * 1024, maxHeaders: 10_000 };

export class BrokerErrorFrame extends Error {
  constructor(readonly frame: StompFrame) {
    super(`broker sent ERROR: ${getHeader(frame, 'message') ?? ''} ${frame.body.toString('utf8', 0, Math.min(frame.body.length, 300))}`.trim());
    this.name = 'BrokerErrorFrame';
  }
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class BenchStompClient {
  /** The `server` header of CONNECTED, e.g. "ActiveMQ/5.17.2". */
  server = '';
  private readonly parser: StompParser;
  private readonly receipts = new Map<string, Waiter>();
  private readonly subscriptions = new Map<string, (frame: StompFrame) => void>();
  private nextReceipt = 0;
  private nextSubscription = 0;
  private failure: Error | undefined;
  private disconnecting = false;
  private connected: Waiter | undefined;
  private readonly closed: Promise<void>;
  private rejectFailed!: (e: Error) => void;
  /** Rejects with the connection's first error; race it against waits for MESSAGE frames. */
  readonly failed: Promise<never>;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    this.parser = new StompParser({ limits: PARSER_LIMITS, side: 'client', onFrame: (f) => this.onFrame(f) });
    this.parser.version = '1.2';
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    // Nobody has to be listening when a connection dies after its work is done.
    this.failed.catch(() => undefined);
    socket.on('data', (chunk: Buffer) => {
      // Frames written from inside handlers (ACKs) leave in as few segments as possible.
      socket.cork();
      try {
        this.parser.push(chunk);
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
      } finally {
        socket.uncork();
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error(this.disconnecting ? 'connection closed after DISCONNECT' : 'connection closed by the broker')));
  }

  static async connect(opts: ConnectOptions): Promise<BenchStompClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: opts.host, port: opts.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`TCP connect to ${opts.host}:${opts.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const client = new BenchStompClient(socket);
    const headers: Array<[string, string]> = [
      ['accept-version', '1.2'],
      ['host', opts.vhost ?? 'localhost'],
      ['heart-beat', '0,0'],
    ];
    if (opts.login !== undefined) headers.push(['login', opts.login]);
    if (opts.passcode !== undefined) headers.push(['passcode', opts.passcode]);
    const ready = new Promise<void>((resolve, reject) => (client.connected = { resolve, reject }));
    socket.write(encodeFrame({ command: 'CONNECT', headers }, '1.2'));
    const timer = setTimeout(() => client.fail(new Error(`no CONNECTED from ${opts.host}:${opts.port} within ${timeoutMs} ms`)), timeoutMs);
    try {
      await ready;
    } catch (e) {
      socket.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** The first error this connection hit, if any; every later call fails with it. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Encodes a SEND once, so a pipelined loop can write the same bytes many times. */
  static encodeSend(destination: string, body: Buffer, extraHeaders: Array<[string, string]> = []): Buffer {
    return encodeFrame({ command: 'SEND', headers: [['destination', destination], ['persistent', 'true'], ...extraHeaders], body }, '1.2', { contentLength: true });
  }

  /**
   * Writes raw frame bytes. Returns false when the socket buffer is full; `drained()` then
   * waits until it empties, which is how pipelined producers honour backpressure.
   */
  write(bytes: Buffer): boolean {
    if (this.failure) throw this.failure;
    return this.socket.write(bytes);
  }

  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(this.failure ?? new Error('connection closed'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** A fresh receipt id and the promise of its RECEIPT (STOMP 1.2 "RECEIPT"). */
  expectReceipt(): { id: string; done: Promise<void> } {
    if (this.failure) return { id: '', done: Promise.reject(this.failure) };
    const id = `r${this.nextReceipt++}`;
    const done = new Promise<void>((resolve, reject) => this.receipts.set(id, { resolve, reject }));
    return { id, done };
  }

  /** A persistent SEND that resolves when the broker's RECEIPT arrives. */
  sendWithReceipt(destination: string, body: Buffer, extraHeaders: Array<[string, string]> = []): Promise<void> {
    const r = this.expectReceipt();
    this.write(BenchStompClient.encodeSend(destination, body, [...extraHeaders, ['receipt', r.id]]));
    return r.done;
  }

  /**
   * Subscribes. The returned promise resolves on the SUBSCRIBE's RECEIPT, when the broker has
   * registered the subscription (STOMP 1.2 "Header receipt": any client frame may ask for one).
   */
  subscribe(destination: string, ack: AckMode, onMessage: (frame: StompFrame) => void, prefetch = 1000): Promise<void> {
    const id = `s${this.nextSubscription++}`;
    this.subscriptions.set(id, onMessage);
    const r = this.expectReceipt();
    // Prefetch in the dialects of ActiveMQ and RabbitMQ; brokers ignore headers they do not know.
    this.write(
      encodeFrame(
        {
          command: 'SUBSCRIBE',
          headers: [
            ['id', id],
            ['destination', destination],
            ['ack', ack],
            ['activemq.prefetchSize', String(prefetch)],
            ['prefetch-count', String(prefetch)],
            ['receipt', r.id],
          ],
        },
        '1.2',
      ),
    );
    return r.done;
  }

  /** STOMP 1.2 "ACK": the id is the MESSAGE's `ack` header. */
  ack(message: StompFrame): void {
    const ackId = getHeader(message, 'ack');
    if (ackId === undefined) throw new Error('MESSAGE has no ack header; is this a STOMP 1.2 broker?');
    this.write(encodeFrame({ command: 'ACK', headers: [['id', ackId]] }, '1.2'));
  }

  /** DISCONNECT with a receipt: when it resolves the broker has processed everything sent before. */
  async disconnect(timeoutMs = 30_000): Promise<void> {
    this.disconnecting = true;
    if (this.failure) {
      this.socket.destroy();
      return;
    }
    const r = this.expectReceipt();
    this.write(encodeFrame({ command: 'DISCONNECT', headers: [['receipt', r.id]] }, '1.2'));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        r.done,
        new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`no DISCONNECT receipt within ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
      this.socket.end();
      this.socket.destroy();
      await this.closed;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onFrame(frame: StompFrame): void {
    switch (frame.command) {
      case 'CONNECTED': {
        this.server = getHeader(frame, 'server') ?? '';
        const c = this.connected;
        this.connected = undefined;
        c?.resolve();
        return;
      }
      case 'RECEIPT': {
        const id = getHeader(frame, 'receipt-id');
        const w = id === undefined ? undefined : this.receipts.get(id);
        if (w && id !== undefined) {
          this.receipts.delete(id);
          w.resolve();
        }
        return;
      }
      case 'MESSAGE': {
        const sub = getHeader(frame, 'subscription');
        const handler = sub === undefined ? undefined : this.subscriptions.get(sub);
        handler?.(frame);
        return;
      }
      case 'ERROR':
        this.fail(new BrokerErrorFrame(frame));
        return;
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.rejectFailed(e);
    this.connected?.reject(e);
    this.connected = undefined;
    for (const w of this.receipts.values()) w.reject(e);
    this.receipts.clear();
    this.socket.destroy();
  }
}
