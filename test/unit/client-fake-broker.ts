import { encodeFrame } from '../../src/protocol/stomp/encoder.js';
import { headersToRecord, type StompFrame } from '../../src/protocol/stomp/frame.js';
import { StompParser } from '../../src/protocol/stomp/parser.js';
import type { ClientTransport, TransportFactory } from '../../src/client/index.js';
import type { BrokerAddress } from '../../src/client/url.js';

export interface FakeFrame {
  command: string;
  headers: Record<string, string>;
  body: string;
}

/** What a fake broker does with one client frame: reply with frames, or drop the connection. */
export type FakeBehaviour = (frame: FakeFrame, conn: FakeConnection) => void;

export class FakeConnection {
  closed = false;
  private closeFns: Array<(err?: Error) => void> = [];
  private dataFns: Array<(b: Buffer) => void> = [];
  constructor(
    readonly address: BrokerAddress,
    readonly id: number,
  ) {}

  reply(command: string, headers: Record<string, string>, body = ''): void {
    if (this.closed) return;
    const buf = encodeFrame({ command, headers, body: Buffer.from(body) }, '1.2');
    queueMicrotask(() => this.dataFns.forEach((f) => f(buf)));
  }

  receipt(frame: FakeFrame, extra: Record<string, string> = {}): void {
    if (frame.headers.receipt !== undefined) this.reply('RECEIPT', { 'receipt-id': frame.headers.receipt, ...extra });
  }

  drop(): void {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => this.closeFns.forEach((f) => f(new Error('connection reset'))));
  }

  transport(onFrame: (f: FakeFrame) => void): ClientTransport {
    const parser = new StompParser({
      limits: { maxBodyBytes: 1 << 24, maxHeaderBytes: 1 << 20, maxHeaders: 1000 },
      side: 'server',
      onFrame: (f: StompFrame) => {
        if (f.command === 'CONNECT') parser.version = '1.2';
        onFrame({ command: f.command, headers: headersToRecord(f), body: f.body.toString('utf8') });
      },
    });
    return {
      write: (d) => {
        if (!this.closed) parser.push(d);
      },
      close: () => {
        this.closed = true;
      },
      onData: (fn) => this.dataFns.push(fn),
      onClose: (fn) => this.closeFns.push(fn),
    };
  }
}

/**
 * In-memory brokers for client logic tests: each address is up or down, and a behaviour
 * decides the reply to every frame. Every frame any connection received is logged.
 */
export class FakeBrokers {
  readonly down = new Set<number>();
  readonly attempts: Array<{ port: number; atMs: number }> = [];
  readonly frames: Array<FakeFrame & { conn: number; port: number }> = [];
  readonly connections: FakeConnection[] = [];
  behaviour: FakeBehaviour = (f, c) => c.receipt(f);
  serverName = 'QuorumMQ/test';
  connectedHeaders: Record<string, string> = {};

  constructor(private readonly now: () => number) {}

  factory: TransportFactory = async (addr) => {
    this.attempts.push({ port: addr.port, atMs: this.now() });
    if (this.down.has(addr.port)) throw new Error(`ECONNREFUSED ${addr.port}`);
    const conn = new FakeConnection(addr, this.connections.length);
    this.connections.push(conn);
    return conn.transport((f) => {
      this.frames.push({ ...f, conn: conn.id, port: addr.port });
      if (f.command === 'CONNECT') {
        conn.reply('CONNECTED', { version: '1.2', server: this.serverName, 'heart-beat': '0,0', ...this.connectedHeaders });
        return;
      }
      this.behaviour(f, conn);
    });
  };

  /** The frames with this command, in arrival order. */
  sent(command: string): Array<FakeFrame & { conn: number; port: number }> {
    return this.frames.filter((f) => f.command === command);
  }

  get last(): FakeConnection {
    return this.connections[this.connections.length - 1];
  }
}

/** Lets queued microtasks and immediates run (fake transports answer asynchronously). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
