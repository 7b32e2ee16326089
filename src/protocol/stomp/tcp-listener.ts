import { StompSession } from './session.js';
import type { StompServerOptions } from './session-types.js';
import type { Listener } from '../listener.js';
import { listenSockets, type TlsFiles } from '../socket-listener.js';

/** STOMP over TCP (`stomp://`, `stomp+nio://`), or over TLS (`stomp+ssl://`). */
export function listenTcp(host: string, port: number, options: StompServerOptions, tlsFiles?: TlsFiles): Promise<Listener> {
  return listenSockets('STOMP', host, port, (t) => new StompSession({ ...t, kind: 'tcp' }, options), tlsFiles);
}
