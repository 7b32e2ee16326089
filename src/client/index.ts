/**
 * `quorummq/client`: a STOMP 1.2 client for QuorumMQ (and any STOMP broker), with
 * ActiveMQ-compatible `failover:` URLs.
 *
 * ```ts
 * import { connect } from 'quorummq/client';
 * const c = await connect('failover:(tcp://a:61613,tcp://b:61613)?randomize=false');
 * await c.send('/queue/orders', 'hello', { persistent: 'true' });
 * ```
 */
import { StompClient, type ConnectOptions } from './client.js';

export { StompClient } from './client.js';
export type { AckMode, ClientEvents, ClientSubscription, ConnectOptions, ReceivedMessage, SubscribeOptions } from './client.js';
export { BrokerError } from './session.js';
export { TransactionOutcomeError } from './errors.js';
export { DEFAULT_FAILOVER_OPTIONS, FAILOVER_OPTION_NAMES, type FailoverOptions } from './failover-options.js';
export { parseAddress, parseClientUrl, type BrokerAddress, type ClientUrl } from './url.js';
export { reconnectDelayMs } from './reconnect-policy.js';
export type { ClientTransport, TransportFactory } from './transport.js';

/**
 * Connects to a broker: `tcp://host:port`, `stomp://…`, `ssl://…`, `ws://host:port/`, or
 * `failover:(uri1,…,uriN)?options`. Resolves once connected; rejects with a clear error for a
 * malformed URL, an unknown option, or when no broker answers within the URL's limits.
 */
export function connect(url: string, options: ConnectOptions = {}): Promise<StompClient> {
  return StompClient.connect(url, options);
}
