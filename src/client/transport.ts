import net from 'node:net';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import { QmqError } from '../util/errors.js';
import type { BrokerAddress } from './url.js';

/** A byte stream to one broker, whatever carries it. */
export interface ClientTransport {
  write(data: Buffer): void;
  close(): void;
  onData(fn: (chunk: Buffer) => void): void;
  onClose(fn: (err?: Error) => void): void;
}

/** Opens a transport to one broker; tests inject their own to simulate brokers and failures. */
export type TransportFactory = (addr: BrokerAddress, timeoutMs: number) => Promise<ClientTransport>;

/** Opens a transport, failing with a clear error after `timeoutMs`. */
export function openTransport(addr: BrokerAddress, timeoutMs: number): Promise<ClientTransport> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(new QmqError('NOT_CONNECTED', `could not connect to ${addr.text} within ${timeoutMs} ms`));
    }, timeoutMs);
    let cleanup = () => {};
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new QmqError('NOT_CONNECTED', `cannot connect to ${addr.text}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e }));
    };
    if (addr.scheme === 'ws' || addr.scheme === 'wss') {
      const ws = new WebSocket(`${addr.scheme}://${addr.host}:${addr.port}${addr.path}`, ['v12.stomp', 'v11.stomp', 'v10.stomp']);
      cleanup = () => ws.terminate();
      ws.once('error', fail);
      ws.once('open', () => {
        settled = true;
        clearTimeout(timer);
        ws.removeListener('error', fail);
        resolve({
          write: (d) => ws.send(d),
          close: () => ws.close(),
          onData: (fn) => ws.on('message', (m: Buffer | ArrayBuffer | Buffer[]) => fn(Array.isArray(m) ? Buffer.concat(m) : Buffer.isBuffer(m) ? m : Buffer.from(m))),
          onClose: (fn) => {
            ws.on('close', () => fn());
            ws.on('error', (e) => fn(e));
          },
        });
      });
      return;
    }
    const secure = addr.scheme === 'ssl' || addr.scheme === 'stomp+ssl';
    const socket = secure
      ? tls.connect({ host: addr.host, port: addr.port, rejectUnauthorized: process.env.QUORUMMQ_TLS_INSECURE !== '1' })
      : net.connect({ host: addr.host, port: addr.port });
    cleanup = () => socket.destroy();
    socket.once('error', fail);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.setNoDelay(true);
      resolve({
        write: (d) => {
          if (!socket.destroyed) socket.write(d);
        },
        close: () => socket.end(),
        onData: (fn) => socket.on('data', fn),
        onClose: (fn) => {
          let reported = false;
          socket.on('error', (e) => {
            if (!reported) fn(e);
            reported = true;
          });
          socket.on('close', () => {
            if (!reported) fn();
            reported = true;
          });
        },
      });
    });
  });
}
