import type { Listener } from '../listener.js';
import { listenSockets, type TlsFiles } from '../socket-listener.js';
import { OpenWireSession, type OpenWireServerOptions } from './session.js';

/** OpenWire over TCP (`tcp://`, `nio://`) or TLS (`ssl://`, `nio+ssl://`): what ActiveMQ's Java, .NET and C++ clients speak. */
export function listenOpenWire(host: string, port: number, options: OpenWireServerOptions, tlsFiles?: TlsFiles): Promise<Listener> {
  return listenSockets('OpenWire', host, port, (t) => new OpenWireSession(t, options), tlsFiles);
}
