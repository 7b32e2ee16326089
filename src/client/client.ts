import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { headersToRecord, type StompFrame } from '../protocol/stomp/frame.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import { operationTimeout, TransactionOutcomeError } from './errors.js';
import { addressKey, attemptsExhausted, orderAddresses, reconnectDelayMs } from './reconnect-policy.js';
import { BrokerError, ClientSession } from './session.js';
import { SubscriptionQueue, type AckMode, type ClientSubscription, type ReceivedMessage, type SubscribeOptions } from './subscription.js';
import { openTransport, type TransportFactory } from './transport.js';
import { parseAddress, parseClientUrl, type BrokerAddress, type ClientUrl } from './url.js';

export type { AckMode, ClientSubscription, ReceivedMessage, SubscribeOptions } from './subscription.js';

export interface ConnectOptions {
  login?: string;
  passcode?: string;
  /** `client-id`: needed for durable subscriptions; re-sent on every reconnect. */
  clientId?: string;
  /** Virtual host for CONNECT `host` (default: the broker's host name). */
  host?: string;
  /** Bound on one socket connect plus the CONNECT handshake (default 10 s; an inner URI's `connectionTimeout` wins). */
  connectTimeoutMs?: number;
  /** Every operation that waits for the broker fails after this long (default: the URL's `timeout`, 30 s). */
  timeoutMs?: number;
  /** Largest message body accepted from the broker (default 100 MiB). */
  maxBodyBytes?: number;
  /** Largest message body `send()` accepts (default 100 MiB, the broker's default limit). */
  maxMessageBytes?: number;
  /** Heart-beat offered in both directions, so a silent dead connection is noticed (default 10000 ms; 0 = off). */
  heartbeatMs?: number;
  /** The producer id sent with every message of a `failover:` client (default: a random UUID). */
  producerId?: string;
  /** Time source for reconnect back-off and operation timeouts (tests inject a manual clock). */
  clock?: Clock;
  /** Opens the byte stream to a broker (tests inject fakes). */
  transportFactory?: TransportFactory;
  /** Random source for `randomize` (tests make it deterministic). */
  random?: () => number;
}

export interface ClientEvents {
  /** The connection to `address` was lost; reconnection starts. */
  disconnected: [info: { address: string; error: Error }];
  /** Reconnect pass `attempt` (1-based) starts after `delayMs`. */
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** Connected (again) to `address`; after a reconnect, subscriptions and transactions are restored by then. */
  connected: [info: { address: string; reconnect: boolean }];
  /** The client gave up (reconnect attempts used up, or a fatal broker error); every operation now fails with `error`. */
  failed: [info: { error: Error }];
}

type OpKind = 'send' | 'tx-send' | 'subscribe' | 'unsubscribe' | 'ack' | 'begin' | 'commit' | 'abort' | 'disconnect' | 'internal';

interface Op {
  receipt: string;
  command: string;
  headers: Record<string, string>;
  body: Buffer;
  kind: OpKind;
  /** The connection generation it was written on (undefined: not written yet). */
  sentOn: number | undefined;
  txId?: string;
  subId?: string;
  resolve(f: StompFrame): void;
  reject(e: Error): void;
  timer: TimerHandle;
}

interface TxSend {
  headers: Record<string, string>;
  body: Buffer;
  op: Op | undefined;
}

interface TxState {
  id: string;
  producerId: string;
  nextSeq: number;
  sends: TxSend[];
  /** Acks inside the transaction cannot be replayed on a new connection. */
  hasAcks: boolean;
  rollbackOnly: boolean;
  commitOp?: Op;
}

/** Timers that keep the process alive: a CLI waiting to reconnect must not exit mid-wait. */
const liveClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  },
};

const PROTOCOL_ERROR_CODES = new Set(['QMQ-1001', 'QMQ-1002', 'QMQ-1003', 'QMQ-1004', 'QMQ-1005', 'QMQ-1006', 'QMQ-1007']);
const REPLY_QUEUE = '/temp-queue/qmq-replies';

/**
 * A STOMP 1.2 client. With a `failover:` URL it follows the broker: on connection loss it
 * reconnects (ActiveMQ's options), restores client id, subscriptions and open transactions,
 * and resends every send still waiting for its receipt with the same producer id and
 * sequence, so the broker drops the copies it already stored. Every wait is bounded by the
 * `timeout` option.
 */
export class StompClient extends EventEmitter<ClientEvents> {
  private session: ClientSession | undefined;
  /** False while a new connection is being restored: new operations queue until then. */
  private ready = false;
  private generation = 0;
  private readonly pending = new Map<string, Op>();
  private readonly subs = new Map<string, SubscriptionQueue>();
  private readonly txs = new Map<string, TxState>();
  private readonly replies = new Map<string, (m: ReceivedMessage) => void>();
  private replySub: Promise<ClientSubscription> | undefined;
  private addresses: BrokerAddress[];
  private readonly priorityKeys: Set<string>;
  private nextId = 1;
  private nextSeq = 1;
  private closedError: Error | undefined;
  private userClosed = false;
  private fatalError: Error | undefined;
  private sleeping: { timer: TimerHandle; wake: () => void } | undefined;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private maxMessageBytes: number;
  /** Stable across reconnects: the broker's duplicate filter keys on it. */
  readonly producerId: string;
  /** Headers of the latest CONNECTED frame. */
  serverHeaders: Record<string, string> = {};

  private constructor(
    private readonly url: ClientUrl,
    private readonly opts: ConnectOptions,
  ) {
    super();
    this.clock = opts.clock ?? liveClock;
    this.timeoutMs = opts.timeoutMs ?? url.options.timeoutMs;
    this.maxMessageBytes = opts.maxMessageBytes ?? 100 * 1024 * 1024;
    this.producerId = opts.producerId ?? `qmq-${randomUUID()}`;
    this.addresses = [...url.addresses];
    this.priorityKeys = new Set(url.options.priorityURIs.map((u) => addressKey(parseAddress(u))));
  }

  /** Connects (trying the URL's addresses per its options); see `connect()` in the package index. */
  static async connect(url: string, opts: ConnectOptions = {}): Promise<StompClient> {
    const client = new StompClient(parseClientUrl(url), opts);
    await client.startup();
    return client;
  }

  /** The address of the broker currently connected, if any. */
  get connectedAddress(): string | undefined {
    return this.ready ? this.session?.address.text : undefined;
  }

  /** The addresses failover currently chooses from (grows with the broker's `qmq-cluster` announcements). */
  get knownAddresses(): string[] {
    return this.addresses.map((a) => a.text);
  }

  /**
   * Sends a message; resolves once the broker's RECEIPT arrives (it is stored by then).
   * Pass `transaction` in `headers` to send inside a transaction from `begin()`.
   */
  send(destination: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<void> {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    if (buf.length > this.maxMessageBytes) {
      return Promise.reject(new QmqError('FRAME_TOO_LARGE', `message of ${buf.length} bytes for ${destination} is over the limit of ${this.maxMessageBytes} bytes; nothing was sent`));
    }
    const h: Record<string, string> = { destination, ...headers };
    if (Buffer.isBuffer(body)) h['content-length'] = String(buf.length);
    const txId = headers.transaction;
    const tx = txId === undefined ? undefined : this.txs.get(txId);
    if (tx) {
      if (this.url.failover) {
        h['qmq-producer-id'] = tx.producerId;
        h['qmq-producer-seq'] = String(tx.nextSeq++);
      }
      const rec: TxSend = { headers: h, body: buf, op: undefined };
      tx.sends.push(rec);
      return this.issue('SEND', h, buf, 'tx-send', { txId, onOp: (op) => (rec.op = op) }).then(() => {
        rec.op = undefined;
      });
    }
    if (this.url.failover) {
      h['qmq-producer-id'] = this.producerId;
      h['qmq-producer-seq'] = String(this.nextSeq++);
    }
    return this.issue('SEND', h, buf, 'send').then(() => undefined);
  }

  async subscribe(destination: string, opts: SubscribeOptions = {}): Promise<ClientSubscription> {
    const id = `sub-${this.nextId++}`;
    const ack = opts.ack ?? 'auto';
    const h: Record<string, string> = { destination, id, ack, ...(opts.headers ?? {}) };
    if (opts.selector !== undefined) h.selector = opts.selector;
    if (opts.prefetch !== undefined) h['activemq.prefetchSize'] = String(opts.prefetch);
    if (opts.durableName !== undefined) h['activemq.subscriptionName'] = opts.durableName;
    if (opts.browse) h.browser = 'true';
    const q = new SubscriptionQueue(id, destination, h, async () => {
      if (!this.subs.delete(id)) return;
      await this.issue('UNSUBSCRIBE', { id }, undefined, 'unsubscribe');
    });
    this.subs.set(id, q);
    try {
      await this.issue('SUBSCRIBE', h, undefined, 'subscribe', { subId: id });
    } catch (e) {
      this.subs.delete(id);
      q.end(e as Error);
      throw e;
    }
    return q;
  }

  /** Destroys a durable subscription (UNSUBSCRIBE with its name). */
  async removeDurable(name: string): Promise<void> {
    await this.issue('UNSUBSCRIBE', { id: `durable-${name}`, 'activemq.subscriptionName': name }, undefined, 'unsubscribe');
  }

  /**
   * Starts a transaction and returns its id. Pass it as the `transaction` header of `send()`
   * and to `ack()`/`nack()`; finish with `commit()` or `abort()`. Across a reconnect its sends
   * are replayed; a transaction that acked messages can only roll back then (the messages come again).
   */
  async begin(): Promise<string> {
    const id = `tx-${randomUUID()}`;
    this.txs.set(id, { id, producerId: `${this.producerId}:${id}`, nextSeq: 1, sends: [], hasAcks: false, rollbackOnly: false });
    try {
      await this.issue('BEGIN', { transaction: id }, undefined, 'begin', { txId: id });
    } catch (e) {
      this.txs.delete(id);
      throw e;
    }
    return id;
  }

  /**
   * Commits. If the connection is lost before the receipt, the client asks the broker it
   * reconnects to whether this transaction committed, and answers truthfully: it resolves if
   * it did, replays and commits a send-only transaction that did not, and otherwise rejects
   * with a `TransactionOutcomeError` (`rolled-back` or `in-doubt`).
   */
  async commit(txId: string): Promise<void> {
    const tx = this.txs.get(txId);
    if (tx?.rollbackOnly) {
      this.txs.delete(txId);
      await this.issue('ABORT', { transaction: txId }, undefined, 'abort').catch(() => undefined);
      throw new TransactionOutcomeError(txId, 'rolled-back', `transaction ${txId} was rolled back: the connection was lost after it acked messages, which the broker will redeliver`);
    }
    try {
      await this.issue('COMMIT', { transaction: txId }, undefined, 'commit', { txId, onOp: (op) => tx && (tx.commitOp = op) });
    } finally {
      this.txs.delete(txId);
    }
  }

  async abort(txId: string): Promise<void> {
    this.txs.delete(txId);
    await this.issue('ABORT', { transaction: txId }, undefined, 'abort');
  }

  /**
   * Request/reply: sends with `reply-to` set to this client's temporary queue and a fresh
   * `correlation-id`, and resolves with the reply. Bounded by `timeoutMs` (default: the client's timeout).
   * A request whose reply was on its way when the connection was lost times out: the
   * temporary queue dies with the connection (JMS semantics) and is re-created on reconnect.
   */
  async request(destination: string, body: string | Buffer, headers: Record<string, string> = {}, opts: { timeoutMs?: number } = {}): Promise<ReceivedMessage> {
    this.replySub ??= this.subscribe(REPLY_QUEUE).catch((e) => {
      this.replySub = undefined;
      throw e;
    });
    await this.replySub;
    const correlationId = headers['correlation-id'] ?? randomUUID();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    let timer: TimerHandle | undefined;
    const reply = new Promise<ReceivedMessage>((resolve, reject) => {
      timer = this.clock.schedule(timeoutMs, () => {
        this.replies.delete(correlationId);
        reject(new QmqError('RESOURCE_LIMIT', `no reply to the request on ${destination} within ${timeoutMs} ms`));
      });
      this.replies.set(correlationId, (m) => {
        timer?.cancel();
        this.replies.delete(correlationId);
        resolve(m);
      });
    });
    try {
      await this.send(destination, body, { ...headers, 'reply-to': REPLY_QUEUE, 'correlation-id': correlationId });
    } catch (e) {
      timer?.cancel();
      this.replies.delete(correlationId);
      throw e;
    }
    return reply;
  }

  /** Graceful close: DISCONNECT with a receipt, so everything sent before is processed. Never waits longer than `timeout`. */
  async close(): Promise<void> {
    if (this.closedError || this.userClosed) return;
    this.userClosed = true;
    this.sleeping?.wake();
    const session = this.session;
    if (session && this.ready) {
      try {
        await this.issue('DISCONNECT', {}, undefined, 'disconnect');
      } catch {
        // Already gone: nothing left to flush.
      }
    }
    this.shutdown(new QmqError('NOT_CONNECTED', 'the client was closed'), false);
    session?.terminate(new QmqError('NOT_CONNECTED', 'the client was closed'));
  }

  // ---------------------------------------------------------------- connection management

  private async startup(): Promise<void> {
    const o = this.url.options;
    const limit = this.url.failover ? o.startupMaxReconnectAttempts : 0;
    const deadline = this.clock.now() + this.timeoutMs;
    const session = await this.runPasses(limit, deadline, true);
    await this.install(session, false);
  }

  /** Tries the addresses in passes with back-off until one connects, the limit is used up, or the deadline passes. */
  private async runPasses(limit: number, deadline: number | undefined, startup: boolean): Promise<ClientSession> {
    const failures = new Map<string, string>();
    for (let pass = 0; ; pass++) {
      if (pass > 0) {
        if (attemptsExhausted(pass, limit)) break;
        const delayMs = reconnectDelayMs(pass, this.url.options);
        if (deadline !== undefined && this.clock.now() + delayMs > deadline) break;
        if (!startup) this.emit('reconnecting', { attempt: pass, delayMs });
        await this.sleep(delayMs);
      } else if (!startup) this.emit('reconnecting', { attempt: 0, delayMs: 0 });
      if (this.userClosed || this.closedError) throw this.closedError ?? new QmqError('NOT_CONNECTED', 'the client was closed');
      for (const addr of orderAddresses(this.addresses, this.url.options, this.priorityKeys, this.opts.random)) {
        try {
          return await this.openOne(addr);
        } catch (e) {
          // A broker that answers CONNECT with ERROR (bad login, …) at startup will not change its mind.
          if (startup && e instanceof BrokerError) throw e;
          if (!this.url.failover) throw e;
          failures.set(addr.text, (e as Error).message);
        }
        if (this.userClosed || this.closedError) throw this.closedError ?? new QmqError('NOT_CONNECTED', 'the client was closed');
      }
    }
    const detail = [...failures].map(([a, m]) => `${a}: ${m}`).join('; ');
    const why = limit >= 0 && !(deadline !== undefined && this.clock.now() >= deadline) ? `after ${limit + 1} attempt(s)` : `within ${this.timeoutMs} ms`;
    throw new QmqError('NOT_CONNECTED', `could not connect to any broker ${why} (${startup ? 'startupMaxReconnectAttempts' : 'maxReconnectAttempts'}=${limit}): ${detail}`);
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.schedule(ms, () => {
        this.sleeping = undefined;
        resolve();
      });
      this.sleeping = {
        timer,
        wake: () => {
          timer.cancel();
          this.sleeping = undefined;
          resolve();
        },
      };
    });
  }

  private async openOne(addr: BrokerAddress): Promise<ClientSession> {
    const connectMs = addr.connectionTimeoutMs ?? this.opts.connectTimeoutMs ?? 10_000;
    const transport = await (this.opts.transportFactory ?? openTransport)(addr, connectMs);
    const headers: Record<string, string> = { 'accept-version': '1.2', host: this.opts.host ?? addr.host };
    if (this.opts.login !== undefined) headers.login = this.opts.login;
    if (this.opts.passcode !== undefined) headers.passcode = this.opts.passcode;
    if (this.opts.clientId !== undefined) headers['client-id'] = this.opts.clientId;
    return ClientSession.open({
      address: addr,
      transport,
      connectHeaders: headers,
      handshakeTimeoutMs: connectMs,
      heartbeatMs: this.opts.heartbeatMs ?? 10_000,
      maxBodyBytes: this.opts.maxBodyBytes ?? 100 * 1024 * 1024,
      clock: this.clock,
    });
  }

  private async install(session: ClientSession, reconnect: boolean): Promise<void> {
    if (this.userClosed || this.closedError) {
      session.terminate(new QmqError('NOT_CONNECTED', 'the client was closed'));
      return;
    }
    this.session = session;
    this.ready = false;
    const gen = ++this.generation;
    this.fatalError = undefined;
    session.attach({ onFrame: (f) => this.onFrame(f), onClose: (err) => this.onLost(session, err) });
    this.applyServerHeaders(session.serverHeaders);
    if (reconnect) {
      try {
        await this.restore(session, gen);
      } catch (e) {
        // The new connection failed during restore; onLost has started the next round.
        if (this.session === session) session.terminate(e as Error);
        return;
      }
      if (this.session !== session) return;
    }
    this.ready = true;
    this.flush(gen);
    this.emit('connected', { address: session.address.text, reconnect });
  }

  private applyServerHeaders(h: Record<string, string>): void {
    this.serverHeaders = h;
    const max = Number(h['qmq-max-body-bytes']);
    if (Number.isInteger(max) && max > 0 && this.opts.maxMessageBytes === undefined) this.maxMessageBytes = max;
    const cluster = h['qmq-cluster'];
    if (!cluster || !this.url.failover || !this.url.options.updateURIsSupported) return;
    const known = new Set(this.addresses.map(addressKey));
    for (const text of cluster.split(',')) {
      try {
        const a = parseAddress(text.trim());
        if (!known.has(addressKey(a))) {
          known.add(addressKey(a));
          this.addresses.push(a);
        }
      } catch {
        // One bad announced address must not break the connection; the others still help.
      }
    }
  }

  private onLost(session: ClientSession, err: Error): void {
    if (session !== this.session) return;
    this.session = undefined;
    this.ready = false;
    if (this.userClosed || this.closedError) return;
    const fatal = this.fatalError;
    if (fatal || !this.url.failover || this.url.options.maxReconnectAttempts === 0) {
      this.fail(fatal ?? err);
      return;
    }
    const lostGen = this.generation;
    for (const op of [...this.pending.values()]) {
      if (op.sentOn !== lostGen) continue;
      const settle = () => this.settle(op, (o) => o.resolve({ command: 'RECEIPT', headers: [], body: Buffer.alloc(0) }));
      switch (op.kind) {
        case 'ack':
        case 'abort':
        case 'disconnect':
          // An ack lost with its connection: the broker redelivers the message. An abort: the
          // broker drops a connection's open transactions anyway.
          settle();
          break;
        case 'unsubscribe':
          if (op.headers['activemq.subscriptionName'] === undefined) settle();
          break;
        case 'internal':
          this.settle(op, (o) => o.reject(err));
          break;
        default:
          // send, tx-send, subscribe, begin, commit: handled by restore().
          break;
      }
    }
    for (const tx of this.txs.values()) if (tx.hasAcks) tx.rollbackOnly = true;
    for (const s of this.subs.values()) if (s.headers.ack !== 'auto') s.dropBuffered();
    this.emit('disconnected', { address: session.address.text, error: err });
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    let session: ClientSession;
    try {
      session = await this.runPasses(this.url.options.maxReconnectAttempts, undefined, false);
    } catch (e) {
      if (!this.userClosed) this.fail(e as Error);
      return;
    }
    await this.install(session, true);
  }

  /** Re-establishes subscriptions and transactions on a new connection, then resolves in-doubt commits. */
  private async restore(session: ClientSession, gen: number): Promise<void> {
    const subs = [...this.subs.values()];
    const results = await Promise.allSettled(subs.map((s) => this.internal(session, 'SUBSCRIBE', s.headers)));
    if (this.session !== session) return;
    results.forEach((r, i) => {
      const s = subs[i];
      if (r.status === 'rejected') {
        if (!(r.reason instanceof BrokerError)) throw r.reason;
        this.subs.delete(s.id);
        s.end(r.reason);
      }
    });
    for (const op of [...this.pending.values()]) {
      if (op.kind === 'subscribe' && op.sentOn !== undefined && op.sentOn !== gen) {
        const s = op.subId === undefined ? undefined : this.subs.get(op.subId);
        this.settle(op, (o) => (s ? o.resolve({ command: 'RECEIPT', headers: [], body: Buffer.alloc(0) }) : o.reject(subs.find((x) => x.id === op.subId)?.error ?? new QmqError('NOT_CONNECTED', 'subscription lost'))));
      }
    }
    const inDoubt: TxState[] = [];
    for (const tx of this.txs.values()) {
      if (tx.commitOp && tx.commitOp.sentOn !== undefined && tx.commitOp.sentOn !== gen) inDoubt.push(tx);
      else this.replayTx(session, tx, gen);
    }
    await Promise.all(inDoubt.map((tx) => this.resolveInDoubt(session, tx, gen)));
  }

  /** BEGIN again with the same id, then every send of the transaction with its original producer id and sequence. */
  private replayTx(session: ClientSession, tx: TxState, gen: number): void {
    this.internal(session, 'BEGIN', { transaction: tx.id }).catch(() => undefined);
    for (const op of this.pending.values()) if (op.kind === 'begin' && op.txId === tx.id) this.settle(op, (o) => o.resolve({ command: 'RECEIPT', headers: [], body: Buffer.alloc(0) }));
    for (const s of tx.sends) {
      if (s.op && this.pending.has(s.op.receipt)) {
        s.op.sentOn = gen;
        session.write('SEND', { ...s.headers, receipt: s.op.receipt }, s.body);
      } else {
        this.internal(session, 'SEND', s.headers, s.body).catch(() => undefined);
      }
    }
  }

  /**
   * The COMMIT was written but its receipt never came. Ask the broker (`BEGIN` with
   * `qmq-tx-query: status`; it answers in the RECEIPT's `qmq-tx-status`).
   */
  private async resolveInDoubt(session: ClientSession, tx: TxState, gen: number): Promise<void> {
    const op = tx.commitOp!;
    let status: string | undefined;
    let queryError: Error | undefined;
    try {
      const f = await this.internal(session, 'BEGIN', { transaction: tx.id, 'qmq-tx-query': 'status' });
      status = headersToRecord(f)['qmq-tx-status'];
      // A broker that does not know the query began a real transaction: end it.
      if (status === undefined) await this.internal(session, 'ABORT', { transaction: tx.id });
    } catch (e) {
      if (!(e instanceof BrokerError)) throw e;
      queryError = e;
    }
    if (this.session !== session || !this.pending.has(op.receipt)) return;
    const ok = () => this.settle(op, (o) => o.resolve({ command: 'RECEIPT', headers: [], body: Buffer.alloc(0) }));
    if (status === 'committed') {
      this.txs.delete(tx.id);
      ok();
      return;
    }
    // Replaying sends is safe only where the broker drops what it already stored: a QuorumMQ
    // broker does, by producer id and sequence, even if it cannot answer the query.
    const replayable = !tx.hasAcks && (status === 'not-committed' || (status === undefined && !queryError && /^QuorumMQ\//.test(this.serverHeaders.server ?? '')));
    if (replayable) {
      this.replayTx(session, tx, gen);
      op.sentOn = gen;
      session.write('COMMIT', { ...op.headers, receipt: op.receipt });
      return;
    }
    this.txs.delete(tx.id);
    this.settle(op, (o) =>
      o.reject(
        status === 'not-committed'
          ? new TransactionOutcomeError(tx.id, 'rolled-back', `transaction ${tx.id} did not commit before the connection was lost; its acked messages will be redelivered`)
          : new TransactionOutcomeError(tx.id, 'in-doubt', `the COMMIT of ${tx.id} was sent but its receipt was lost, and ${session.address.text} cannot say whether it committed${queryError ? ` (${queryError.message})` : ''}`),
      ),
    );
  }

  /** Writes every operation the new connection has not seen yet, in the order they were issued. */
  private flush(gen: number): void {
    const session = this.session;
    if (!session) return;
    for (const op of this.pending.values()) {
      if (op.sentOn === gen) continue;
      const lost = op.sentOn !== undefined;
      if (lost && op.kind !== 'send' && op.kind !== 'unsubscribe') continue;
      if (op.kind === 'commit' && op.txId !== undefined && this.txs.get(op.txId)?.rollbackOnly) {
        this.txs.delete(op.txId);
        this.settle(op, (o) => o.reject(new TransactionOutcomeError(op.txId!, 'rolled-back', `transaction ${op.txId} was rolled back: the connection was lost after it acked messages, which the broker will redeliver`)));
        continue;
      }
      op.sentOn = gen;
      session.write(op.command, { ...op.headers, receipt: op.receipt }, op.body);
    }
  }

  // ---------------------------------------------------------------- operations and frames

  private issue(command: string, headers: Record<string, string>, body: Buffer | undefined, kind: OpKind, extra: { txId?: string; subId?: string; onOp?: (op: Op) => void } = {}): Promise<StompFrame> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<StompFrame>((resolve, reject) => {
      const receipt = `r-${this.nextId++}`;
      const op: Op = {
        receipt, command, headers, body: body ?? Buffer.alloc(0), kind, sentOn: undefined, txId: extra.txId, subId: extra.subId, resolve, reject,
        timer: this.clock.schedule(this.timeoutMs, () => {
          if (this.pending.delete(receipt)) reject(operationTimeout(command, this.timeoutMs, this.connectedAddress));
        }),
      };
      this.pending.set(receipt, op);
      extra.onOp?.(op);
      if (this.session && this.ready) {
        op.sentOn = this.generation;
        this.session.write(command, { ...headers, receipt }, op.body);
      }
    });
  }

  /** A frame written straight onto a connection being restored. */
  private internal(session: ClientSession, command: string, headers: Record<string, string>, body?: Buffer): Promise<StompFrame> {
    return new Promise<StompFrame>((resolve, reject) => {
      const receipt = `r-${this.nextId++}`;
      const op: Op = {
        receipt, command, headers, body: body ?? Buffer.alloc(0), kind: 'internal', sentOn: this.generation, resolve, reject,
        timer: this.clock.schedule(this.timeoutMs, () => {
          if (this.pending.delete(receipt)) reject(operationTimeout(command, this.timeoutMs, session.address.text));
        }),
      };
      this.pending.set(receipt, op);
      session.write(command, { ...headers, receipt }, op.body);
    });
  }

  private settle(op: Op, how: (op: Op) => void): void {
    if (!this.pending.delete(op.receipt)) return;
    op.timer.cancel();
    how(op);
  }

  private onFrame(f: StompFrame): void {
    switch (f.command) {
      case 'RECEIPT': {
        const op = this.pending.get(headersToRecord(f)['receipt-id'] ?? '');
        if (op) this.settle(op, (o) => o.resolve(f));
        return;
      }
      case 'ERROR': {
        const err = new BrokerError(f);
        const op = this.pending.get(err.headers['receipt-id'] ?? '');
        if (op) {
          this.settle(op, (o) => o.reject(err));
          return;
        }
        // Every frame we write asks for a receipt, so an ERROR without one is about the
        // connection. A protocol error will recur on any broker: give up. Anything else
        // (heart-beat timeout, shutdown) is a reason to fail over.
        if (err.code !== undefined && PROTOCOL_ERROR_CODES.has(err.code)) this.fatalError = err;
        this.session?.terminate(err);
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
    const gen = this.generation;
    const ackId = h.ack;
    const settle = (command: 'ACK' | 'NACK') => async (transaction?: string): Promise<void> => {
      if (ackId === undefined) return;
      const tx = transaction === undefined ? undefined : this.txs.get(transaction);
      if (tx) tx.hasAcks = true;
      // The delivery belongs to a connection that is gone; the broker redelivers it.
      if (gen !== this.generation || !this.session) {
        if (tx) tx.rollbackOnly = true;
        return;
      }
      const ah: Record<string, string> = { id: ackId };
      if (transaction !== undefined) ah.transaction = transaction;
      await this.issue(command, ah, undefined, 'ack');
    };
    const m: ReceivedMessage = {
      destination: h.destination ?? '',
      messageId: h['message-id'] ?? '',
      headers: h,
      body: f.body,
      redelivered: h.redelivered === 'true',
      redeliveryCount: Number(h['redelivery-count'] ?? (h.redelivered === 'true' ? 1 : 0)),
      text: () => f.body.toString('utf8'),
      ack: settle('ACK'),
      nack: settle('NACK'),
    };
    if (h.destination !== undefined && this.replies.size > 0 && q.destination === REPLY_QUEUE) {
      const w = this.replies.get(h['correlation-id'] ?? '');
      if (w) w(m);
      return;
    }
    q.push(m);
  }

  private fail(err: Error): void {
    this.shutdown(err, true);
    this.emit('failed', { error: err });
  }

  private shutdown(err: Error, endSubsWithError: boolean): void {
    if (this.closedError) return;
    this.closedError = err;
    this.sleeping?.wake();
    for (const op of [...this.pending.values()]) this.settle(op, (o) => o.reject(err));
    for (const q of this.subs.values()) q.end(endSubsWithError ? err : undefined);
    this.txs.clear();
  }
}
