import type { Listener } from '../listener.js';
import { listenSockets } from '../socket-listener.js';
import { OpenWireSession, type OpenWireServerOptions } from './session.js';

/** OpenWire over TCP (`tcp://`, `nio://`): what ActiveMQ's Java, .NET and C++ clients speak. */
export function listenOpenWire(host: string, port: number, options: OpenWireServerOptions): Promise<Listener> {
  return listenSockets('OpenWire', host, port, (t) => new OpenWireSession(t, options));
}
