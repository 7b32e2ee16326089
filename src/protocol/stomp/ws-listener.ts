import http from 'node:http';
import { isUtf8 } from 'node:buffer';
import { WebSocketServer, type WebSocket } from 'ws';
import { StompSession } from './session.js';
import type { StompServerOptions, StompTransport } from './session-types.js';
import { QmqError } from '../../util/errors.js';
import type { Listener } from '../listener.js';

// The subprotocols STOMP-over-WebSocket clients offer (ActiveMQ accepts the same three).
const SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp', 'stomp'];

/** STOMP over WebSocket (`ws://host:port/`), any path. */
export async function listenWebSocket(host: string, port: number, options: StompServerOptions): Promise<Listener> {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('this port speaks STOMP over WebSocket; connect with a WebSocket client\n');
  });
  const wss = new WebSocketServer({
    server,
    maxPayload: options.limits.maxBodyBytes + options.limits.maxHeaderBytes + 16,
    handleProtocols: (offered) => {
      for (const p of SUBPROTOCOLS) if (offered.has(p)) return p;
      return false;
    },
  });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws, req) => {
    sockets.add(ws);
    const transport: StompTransport = {
      remoteAddress: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      kind: 'ws',
      write: (data) => {
        if (ws.readyState !== ws.OPEN) return;
        // Text frames where the payload is UTF-8 (what browser clients expect), binary otherwise.
        ws.send(data, { binary: !isUtf8(data) });
      },
      end: () => ws.close(1000),
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    };
    const session = new StompSession(transport, options);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      session.onData(buf);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      sockets.delete(ws);
      session.onTransportClosed();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new QmqError('CONFIG_INVALID', `cannot listen for STOMP over WebSocket on ${host}:${port}: ${e.code ?? e.message}`, { cause: e })),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as import('node:net').AddressInfo;
  return {
    host,
    port: addr.port,
    stopAccepting: () =>
      new Promise<void>((resolve) => {
        wss.close();
        server.close(() => resolve());
        server.closeIdleConnections?.();
      }),
    closeAll: () => {
      for (const s of sockets) s.terminate();
    },
  };
}
