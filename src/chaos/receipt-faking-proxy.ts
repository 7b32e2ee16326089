/**
 * A deliberately broken hop for the planted-fault test: a TCP proxy between STOMP clients and
 * a broker that swallows some SEND frames and answers them with a forged RECEIPT. To the
 * client those messages are acknowledged; the broker never saw them. A harness that cannot
 * report these as lost cannot be trusted to find real losses.
 */
import net from 'node:net';
import { encodeFrame, encodeHeartbeat } from '../protocol/stomp/encoder.js';
import { getHeader, type StompFrame, type StompVersion } from '../protocol/stomp/frame.js';
import { StompParser } from '../protocol/stomp/parser.js';

const LIMITS = { maxBodyBytes: 64 * 1024 * 1024, maxHeaderBytes: 1024 * 1024, maxHeaders: 1000 };

export interface ReceiptFakingProxy {
  port: number;
  /** SEND frames swallowed so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

/** Listens on loopback; every `dropEvery`-th SEND outside a transaction is swallowed and falsely receipted. */
export async function startReceiptFakingProxy(target: { host: string; port: number }, dropEvery: number): Promise<ReceiptFakingProxy> {
  let sends = 0;
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const broker = net.connect(target);
    sockets.add(client);
    sockets.add(broker);
    let version: StompVersion = '1.0';
    const toClient = (buf: Buffer) => client.writable && client.write(buf);
    const up = new StompParser({
      limits: LIMITS,
      side: 'server',
      onFrame: (f: StompFrame) => {
        const receipt = getHeader(f, 'receipt');
        if (f.command === 'SEND' && receipt !== undefined && getHeader(f, 'transaction') === undefined && ++sends % dropEvery === 0) {
          dropped++;
          toClient(encodeFrame({ command: 'RECEIPT', headers: [['receipt-id', receipt]] }, version));
          return;
        }
        if (broker.writable) broker.write(encodeFrame(f, version, { contentLength: true }));
      },
      onHeartbeat: () => broker.writable && broker.write(encodeHeartbeat()),
    });
    const down = new StompParser({
      limits: LIMITS,
      side: 'client',
      onFrame: (f: StompFrame) => {
        if (f.command === 'CONNECTED') {
          version = (getHeader(f, 'version') as StompVersion | undefined) ?? '1.0';
          up.version = version;
          down.version = version;
          toClient(encodeFrame(f, '1.0', { contentLength: true }));
          return;
        }
        toClient(encodeFrame(f, version, { contentLength: true }));
      },
      onHeartbeat: () => toClient(encodeHeartbeat()),
    });
    const closeBoth = () => {
      client.destroy();
      broker.destroy();
      sockets.delete(client);
      sockets.delete(broker);
    };
    client.on('data', (d) => {
      try {
        up.push(d);
      } catch {
        closeBoth();
      }
    });
    broker.on('data', (d) => {
      try {
        down.push(d);
      } catch {
        closeBoth();
      }
    });
    client.on('close', closeBoth);
    broker.on('close', closeBoth);
    client.on('error', closeBoth);
    broker.on('error', closeBoth);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get dropped() {
      return dropped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
