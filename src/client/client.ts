import { randomUUID } from 'node:crypto';
import { encodeFrame } from '../protocol/stomp/encoder.js';
import { getHeader, headersToRecord, type StompFrame } from '../protocol/stomp/frame.js';
import { StompParser } from '../protocol/stomp/parser.js';
import { QmqError } from '../util/errors.js';
import { openTransport, type ClientTransport } from './transport.js';
import { parseAddress } from './url.js';

export type AckMode = 'auto' | 'client' | 'client-individual';

export interface ConnectOptions {
  login?: string;
  passcode?: string;
  /** `client-id`: needed for durable subscriptions. */
  clientId?: string;
  /** Virtual host for CONNECT `host` (default: the broker's host name). */
  host?: string;
  /** Gives up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Every operation that waits for the broker fails after this long (default 30 s). */
  timeoutMs?: number;
  /** Largest frame body accepted from the broker (default 100 MiB). */
  maxBodyBytes?: number;
}

/** A message received on a subscription. */
export interface ReceivedMessage {
  destination: string;
  messageId: string;
  headers: Record<string, string>;
  body: Buffer;
  redelivered: boolean;
  /** How often it was delivered before (0 on first delivery). */
  redeliveryCount: number;
  text(): string;
  /** Acknowledges it (client and client-individual subscriptions). */
  ack(transaction?: string): Promise<void>;
  /** Rejects it: the broker redelivers it, or dead-letters it after its redelivery limit. */
  nack(transaction?: string): Promise<void>;
}

export interface SubscribeOptions {
  ack?: AckMode;
  selector?: string;
  prefetch?: number;
  /** A durable topic subscription name (`activemq.subscriptionName`); needs `clientId`. */
  durableName?: string;
  /** Queue browsing: yields the current messages, then ends. */
  browse?: boolean;
  headers?: Record<string, string>;
}

/** An async iterator of messages; `break` out of a `for await` does not unsubscribe. */
export interface ClientSubscription extends AsyncIterable<ReceivedMessage> {
  readonly id: string;
  /** The next message, or undefined if none arrives within `timeoutMs`, or once ended. */
  next(timeoutMs?: number): Promise<ReceivedMessage | undefined>;
  unsubscribe(): Promise<void>;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

class SubscriptionQueue implements ClientSubscription {
  private buffer: ReceivedMessage[] = [];
  private waiting: Array<(m: ReceivedMessage | undefined) => void> = [];
  ended = false;

  constructor(
    readonly id: string,
    private readonly doUnsubscribe: () => Promise<void>,
  ) {}

  push(m: ReceivedMessage): void {
    const w = this.waiting.shift();
    if (w) w(m);
    else this.buffer.push(m);
  }

  end(): void {
    this.ended = true;
    for (const w of this.waiting.splice(0)) w(undefined);
  }

  next(timeoutMs?: number): Promise<ReceivedMessage | undefined> {
    const m = this.buffer.shift();
    if (m || this.ended) return Promise.resolve(m);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w = (v: ReceivedMessage | undefined) => {
        if (timer) clearTimeout(timer);
        resolve(v);
      };
      this.waiting.push(w);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiting = this.waiting.filter((x) => x !== w);
          resolve(undefined);
        }, timeoutMs);
      }
    });
  }

  unsubscribe(): Promise<void> {
    this.end();
    return this.doUnsubscribe();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    for (;;) {
      const m = await this.next();
      if (!m) return;
      yield m;
    }
  }
}

/**
 * A STOMP 1.2 connection to one broker. Every operation that waits for the broker is bounded
 * by `timeoutMs`, so nothing blocks forever.
 */
export class StompClient {
  private readonly parser: StompParser;
  private readonly receipts = new Map<string, Waiter>();
  private readonly subs = new Map<string, SubscriptionQueue>();
  private nextId = 1;
  private closedError: Error | undefined;
  private connected: ((f: StompFrame) => void) | undefined;
  /** Headers of the CONNECTED frame. */
  serverHeaders: Record<string, string> = {};

  private constructor(
    private readonly transport: ClientTransport,
    private readonly timeoutMs: number,
    maxBodyBytes: number,
  ) {
    this.parser = new StompParser({
      limits: { maxBodyBytes, maxHeaderBytes: 1024 * 1024, maxHeaders: 100_000 },
      side: 'client',
      onFrame: (f) => this.onFrame(f),
    });
    transport.onData((c) => {
      try {
        this.parser.push(c);
      } catch (e) {
        this.shutdown(e as Error);
        transport.close();
      }
    });
    transport.onClose((err) => this.shutdown(err ?? new QmqError('NOT_CONNECTED', 'the connection to the broker was closed')));
  }

  static async connect(url: string, opts: ConnectOptions = {}): Promise<StompClient> {
    const addr = parseAddress(url);
    const transport = await openTransport(addr, opts.connectTimeoutMs ?? 10_000);
    const client = new StompClient(transport, opts.timeoutMs ?? 30_000, opts.maxBodyBytes ?? 100 * 1024 * 1024);
    const headers: Record<string, string> = { 'accept-version': '1.2', host: opts.host ?? addr.host, 'heart-beat': '0,0' };
    if (opts.login !== undefined) headers.login = opts.login;
    if (opts.passcode !== undefined) headers.passcode = opts.passcode;
    if (opts.clientId !== undefined) headers['client-id'] = opts.clientId;
    const connected = new Promise<StompFrame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QmqError('NOT_CONNECTED', `no CONNECTED from ${url} within ${client.timeoutMs} ms`)), client.timeoutMs);
      client.connected = (f) => {
        clearTimeout(timer);
        if (f.command === 'CONNECTED') resolve(f);
        else reject(client.errorFromFrame(f));
      };
    });
    transport.write(encodeFrame({ command: 'CONNECT', headers, body: Buffer.alloc(0) }, '1.2'));
    try {
      client.serverHeaders = headersToRecord(await connected);
    } catch (e) {
      transport.close();
      throw e;
    }
    client.parser.version = '1.2';
    return client;
  }

  /** Sends a message; resolves once the broker's RECEIPT arrives (it is stored by then). */
  send(destination: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<void> {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    const h: Record<string, string> = { destination, ...headers };
    if (Buffer.isBuffer(body)) h['content-length'] = String(buf.length);
    return this.request('SEND', h, buf);
  }

  async subscribe(destination: string, opts: SubscribeOptions = {}): Promise<ClientSubscription> {
    const id = `sub-${this.nextId++}`;
    const ack = opts.ack ?? 'auto';
    const h: Record<string, string> = { destination, id, ack, ...(opts.headers ?? {}) };
    if (opts.selector !== undefined) h.selector = opts.selector;
    if (opts.prefetch !== undefined) h['activemq.prefetchSize'] = String(opts.prefetch);
    if (opts.durableName !== undefined) h['activemq.subscriptionName'] = opts.durableName;
    if (opts.browse) h.browser = 'true';
    const q = new SubscriptionQueue(id, async () => {
      this.subs.delete(id);
      await this.request('UNSUBSCRIBE', { id });
    });
    this.subs.set(id, q);
    try {
      await this.request('SUBSCRIBE', h);
    } catch (e) {
      this.subs.delete(id);
      throw e;
    }
    return q;
  }

  /** Destroys a durable subscription (UNSUBSCRIBE with its name). */
  async removeDurable(name: string): Promise<void> {
    await this.request('UNSUBSCRIBE', { id: `durable-${name}`, 'activemq.subscriptionName': name });
  }

  async begin(): Promise<string> {
    const tx = `tx-${randomUUID()}`;
    await this.request('BEGIN', { transaction: tx });
    return tx;
  }

  commit(tx: string): Promise<void> {
    return this.request('COMMIT', { transaction: tx });
  }

  abort(tx: string): Promise<void> {
    return this.request('ABORT', { transaction: tx });
  }

  /** Graceful close: DISCONNECT with a receipt, so everything sent before is processed. */
  async close(): Promise<void> {
    if (this.closedError) return;
    try {
      await this.request('DISCONNECT', {});
    } catch {
      // Already gone: nothing left to flush.
    }
    this.transport.close();
    this.shutdown(new QmqError('NOT_CONNECTED', 'the client was closed'));
  }

  private request(command: string, headers: Record<string, string>, body?: Buffer): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    const receipt = `r-${this.nextId++}`;
    const p = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.receipts.delete(receipt);
        reject(new QmqError('RESOURCE_LIMIT', `${command} got no receipt within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.receipts.set(receipt, { resolve, reject, timer });
    });
    this.transport.write(encodeFrame({ command, headers: { ...headers, receipt }, body: body ?? Buffer.alloc(0) }, '1.2'));
    return p;
  }

  private onFrame(f: StompFrame): void {
    if (this.connected) {
      const c = this.connected;
      this.connected = undefined;
      c(f);
      return;
    }
    switch (f.command) {
      case 'RECEIPT': {
        const id = getHeader(f, 'receipt-id') ?? '';
        const w = this.receipts.get(id);
        if (w) {
          this.receipts.delete(id);
          clearTimeout(w.timer);
          w.resolve();
        }
        return;
      }
      case 'ERROR': {
        const err = this.errorFromFrame(f);
        const id = getHeader(f, 'receipt-id');
        const w = id !== undefined ? this.receipts.get(id) : undefined;
        if (w && id !== undefined) {
          this.receipts.delete(id);
          clearTimeout(w.timer);
          w.reject(err);
        } else {
          this.shutdown(err);
        }
        return;
      }
      case 'MESSAGE':
        this.onMessage(f);
        return;
    }
  }

  private onMessage(f: StompFrame): void {
    const h = headersToRecord(f);
    const q = this.subs.get(h.subscription ?? '');
    if (!q) return;
    if (h.browser === 'end') {
      q.end();
      return;
    }
    const ackId = h.ack;
    const settle = (command: 'ACK' | 'NACK') => (transaction?: string) => {
      if (ackId === undefined) return Promise.resolve();
      const ah: Record<string, string> = { id: ackId };
      if (transaction !== undefined) ah.transaction = transaction;
      return this.request(command, ah);
    };
    q.push({
      destination: h.destination ?? '',
      messageId: h['message-id'] ?? '',
      headers: h,
      body: f.body,
      redelivered: h.redelivered === 'true',
      redeliveryCount: Number(h['redelivery-count'] ?? 0),
      text: () => f.body.toString('utf8'),
      ack: settle('ACK'),
      nack: settle('NACK'),
    });
  }

  private errorFromFrame(f: StompFrame): Error {
    const msg = getHeader(f, 'message') ?? 'error from the broker';
    const e = new Error(`broker error: ${msg}`) as Error & { code?: string; body?: string };
    e.code = getHeader(f, 'code');
    e.body = f.body.toString('utf8');
    return e;
  }

  private shutdown(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const [, w] of this.receipts) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.receipts.clear();
    for (const q of this.subs.values()) q.end();
    if (this.connected) {
      const c = this.connected;
      this.connected = undefined;
      c({ command: 'ERROR', headers: [['message', err.message]], body: Buffer.alloc(0) });
    }
  }
}
