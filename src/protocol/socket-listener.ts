import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { QmqError } from '../util/errors.js';
import type { Listener } from './listener.js';

export interface TlsFiles {
  keyFile: string;
  certFile: string;
}

/** A client connection's socket, as a protocol session uses it. */
export interface SocketTransport {
  readonly remoteAddress: string;
  write(data: Buffer): void;
  /** Closes after everything written so far has been flushed. */
  end(): void;
  /** Stops reading (producer flow control) and starts again. */
  pause(): void;
  resume(): void;
}

export interface SocketSession {
  onData(chunk: Buffer): void;
  onTransportClosed(): void;
}

/** A TCP (or TLS) listener that gives each accepted socket its own protocol session. */
export async function listenSockets(
  protocol: string,
  host: string,
  port: number,
  makeSession: (transport: SocketTransport) => SocketSession,
  tlsFiles?: TlsFiles,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    // Frames written during one burst of work (a read's frames, a dispatch round, a group
    // commit's receipts) leave in one writev instead of one syscall each: the socket is corked at
    // the first write and uncorked once the current tick's callbacks and microtasks have run.
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    const session = makeSession({
      remoteAddress: `${socket.remoteAddress}:${socket.remotePort}`,
      write: (data) => {
        if (socket.destroyed) return;
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(uncork);
        }
        socket.write(data);
      },
      end: () => socket.end(),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    });
    socket.on('data', (chunk) => session.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      session.onTransportClosed();
    });
    // A half-closed socket (client sent FIN) gets no more frames; finish it from our side too.
    socket.on('end', () => socket.end());
  };
  const server = tlsFiles
    ? tls.createServer({ key: readFileSync(tlsFiles.keyFile), cert: readFileSync(tlsFiles.certFile) }, onSocket)
    : net.createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new QmqError('CONFIG_INVALID', `cannot listen for ${protocol} on ${host}:${port}: ${e.code ?? e.message}`, { cause: e })),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as net.AddressInfo;
  return {
    host,
    port: addr.port,
    stopAccepting: () => new Promise<void>((resolve) => server.close(() => resolve())),
    closeAll: () => {
      for (const s of sockets) s.end();
      for (const s of sockets) s.destroy();
    },
  };
}
