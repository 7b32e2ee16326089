import net from 'node:net';
import { StompParser } from '../../src/protocol/stomp/parser.js';
import type { StompFrame } from '../../src/protocol/stomp/frame.js';
import { waitFor } from './wait.js';

/**
 * A bare socket that writes exactly the bytes a test gives it and collects the frames the
 * broker sends back: for malformed input that no real client library would produce.
 */
export class RawStomp {
  readonly frames: StompFrame[] = [];
  closed = false;
  heartbeats = 0;
  private constructor(private readonly socket: net.Socket) {
    const parser = new StompParser({
      limits: { maxBodyBytes: 1 << 30, maxHeaderBytes: 1 << 20, maxHeaders: 100_000 },
      side: 'client',
      onFrame: (f) => this.frames.push(f),
      onHeartbeat: () => this.heartbeats++,
    });
    parser.version = '1.2';
    socket.on('data', (d) => parser.push(d));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static connect(port: number): Promise<RawStomp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(new RawStomp(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** CONNECT (1.2) and wait for CONNECTED. */
  async handshake(extra = ''): Promise<StompFrame> {
    this.write(`CONNECT\naccept-version:1.2\nhost:localhost\n${extra}\n\0`);
    return this.waitFrame('CONNECTED');
  }

  async waitFrame(command: string, timeoutMs = 5000): Promise<StompFrame> {
    return waitFor(`a ${command} frame`, () => {
      const i = this.frames.findIndex((f) => f.command === command);
      return i >= 0 ? this.frames.splice(i, 1)[0] : undefined;
    }, timeoutMs);
  }

  waitClosed(timeoutMs = 5000): Promise<boolean> {
    return waitFor('the broker to close the connection', () => this.closed, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

export function header(f: StompFrame, name: string): string | undefined {
  return f.headers.find(([k]) => k === name)?.[1];
}
