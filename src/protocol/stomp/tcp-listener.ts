import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { StompSession } from './session.js';
import type { StompServerOptions, StompTransport } from './session-types.js';
import { QmqError } from '../../util/errors.js';
import type { Listener } from './listener.js';

export interface TlsFiles {
  keyFile: string;
  certFile: string;
}

/** STOMP over TCP (`stomp://`, `stomp+nio://`), or over TLS (`stomp+ssl://`). */
export async function listenTcp(host: string, port: number, options: StompServerOptions, tlsFiles?: TlsFiles): Promise<Listener> {
  const sessions = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    socket.setNoDelay(true);
    sessions.add(socket);
    // Frames written during one burst of work (a read's frames, a dispatch round, a group
    // commit's receipts) leave in one writev instead of one syscall each: the socket is corked at
    // the first write and uncorked once the current tick's callbacks and microtasks have run.
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    const transport: StompTransport = {
      remoteAddress: `${socket.remoteAddress}:${socket.remotePort}`,
      kind: 'tcp',
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
    };
    const session = new StompSession(transport, options);
    socket.on('data', (chunk) => session.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sessions.delete(socket);
      session.onTransportClosed();
    });
    // A half-closed socket (client sent FIN) gets no more frames; finish it from our side too.
    socket.on('end', () => socket.end());
  };
  let server: net.Server;
  if (tlsFiles) {
    server = tls.createServer({ key: readFileSync(tlsFiles.keyFile), cert: readFileSync(tlsFiles.certFile) }, onSocket);
  } else {
    server = net.createServer(onSocket);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new QmqError('CONFIG_INVALID', `cannot listen for STOMP on ${host}:${port}: ${e.code ?? e.message}`, { cause: e })),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as net.AddressInfo;
  return {
    host,
    port: addr.port,
    stopAccepting: () => new Promise<void>((resolve) => server.close(() => resolve())),
    closeAll: () => {
      for (const s of sessions) s.end();
      for (const s of sessions) s.destroy();
    },
  };
}
