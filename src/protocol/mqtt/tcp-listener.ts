import type { Listener } from '../listener.js';
import { listenSockets, type TlsFiles } from '../socket-listener.js';
import { MqttSession, type MqttServerOptions } from './session.js';

/** MQTT 3.1.1 over TCP (`mqtt://`, `mqtt+nio://`) or TLS (`mqtt+ssl://`, `mqtt+nio+ssl://`), as ActiveMQ serves it on 1883. */
export function listenMqtt(host: string, port: number, options: MqttServerOptions, tlsFiles?: TlsFiles): Promise<Listener> {
  return listenSockets('MQTT', host, port, (t) => new MqttSession(t, options), tlsFiles);
}
