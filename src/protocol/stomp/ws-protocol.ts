import type { WsProtocol } from '../ws-listener.js';
import { StompSession } from './session.js';
import type { StompServerOptions } from './session-types.js';

/** STOMP on a `ws://` connector: the subprotocols STOMP-over-WebSocket clients offer (ActiveMQ accepts the same). */
export function stompOverWebSocket(options: StompServerOptions): WsProtocol {
  return { name: 'STOMP', subprotocols: ['v12.stomp', 'v11.stomp', 'v10.stomp', 'stomp'], textFrames: true, session: (t) => new StompSession(t, options) };
}
