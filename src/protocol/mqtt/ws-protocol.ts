import type { WsProtocol } from '../ws-listener.js';
import { MqttSession, type MqttServerOptions } from './session.js';

/** MQTT on a `ws://` connector, for clients that offer the `mqtt` subprotocol (MQTT 3.1.1 §6), or 3.1's `mqttv3.1`. */
export function mqttOverWebSocket(options: MqttServerOptions): WsProtocol {
  return { name: 'MQTT', subprotocols: ['mqtt', 'mqttv3.1'], textFrames: false, session: (t) => new MqttSession(t, options) };
}
