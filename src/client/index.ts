/**
 * `quorummq/client`: a STOMP 1.2 client for QuorumMQ (and any STOMP broker).
 *
 * ```ts
 * import { connect } from 'quorummq/client';
 * const c = await connect('tcp://127.0.0.1:61613');
 * await c.send('/queue/orders', 'hello', { persistent: 'true' });
 * ```
 */
export { StompClient } from './client.js';
export type { AckMode, ConnectOptions, ReceivedMessage, SubscribeOptions, ClientSubscription } from './client.js';
export { parseAddress } from './url.js';
import { StompClient, type ConnectOptions } from './client.js';

/** Connects to a broker: `tcp://host:port`, `stomp://…`, `ssl://…` or `ws://host:port/`. */
export function connect(url: string, options: ConnectOptions = {}): Promise<StompClient> {
  return StompClient.connect(url, options);
}
