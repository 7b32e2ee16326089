import http from 'node:http';
import { isUtf8 } from 'node:buffer';
import { WebSocketServer, type WebSocket } from 'ws';
import { QmqError } from '../util/errors.js';
import type { Listener } from './listener.js';
import type { SocketSession, SocketTransport } from './socket-listener.js';

/** A WebSocket connection's transport, as a protocol session uses it. */
export type WsTransport = SocketTransport & { readonly kind: 'ws' };

/** One protocol a `ws://` connector serves, picked by the WebSocket subprotocol the client offers. */
export interface WsProtocol {
  name: string;
  /** Subprotocol names it answers to, in order of preference. */
  subprotocols: readonly string[];
  /** Payloads that are UTF-8 go out as text frames (what STOMP's browser clients expect), others as binary. */
  textFrames: boolean;
  session(transport: WsTransport): SocketSession;
}

/**
 * A `ws://host:port/` connector, any path. As ActiveMQ's does, it serves every protocol given,
 * chosen by the client's `Sec-WebSocket-Protocol` (STOMP's `v12.stomp`…, MQTT's `mqtt`); a
 * client that offers none gets the first protocol.
 */
export async function listenWebSocket(host: string, port: number, maxPayload: number, protocols: readonly WsProtocol[]): Promise<Listener> {
  const names = protocols.map((p) => p.name).join(' and ');
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end(`this port speaks ${names} over WebSocket; connect with a WebSocket client\n`);
  });
  const bySubprotocol = new Map<string, WsProtocol>();
  for (const p of protocols) for (const s of p.subprotocols) if (!bySubprotocol.has(s)) bySubprotocol.set(s, p);
  const wss = new WebSocketServer({
    server,
    maxPayload,
    handleProtocols: (offered) => {
      for (const p of protocols) for (const s of p.subprotocols) if (offered.has(s)) return s;
      return false;
    },
  });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws, req) => {
    sockets.add(ws);
    const protocol = bySubprotocol.get(ws.protocol) ?? protocols[0];
    const session = protocol.session({
      remoteAddress: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      kind: 'ws',
      write: (data) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(data, { binary: !(protocol.textFrames && isUtf8(data)) });
      },
      end: () => ws.close(1000),
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    });
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
      reject(new QmqError('CONFIG_INVALID', `cannot listen for ${names} over WebSocket on ${host}:${port}: ${e.code ?? e.message}`, { cause: e })),
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
