import { QmqError } from '../util/errors.js';

export type TransportScheme = 'tcp' | 'stomp' | 'ssl' | 'stomp+ssl' | 'ws' | 'wss';

export interface BrokerAddress {
  scheme: TransportScheme;
  host: string;
  port: number;
  /** For ws/wss: the path (default `/`). */
  path: string;
  /** The address as given (for messages and events). */
  text: string;
}

const DEFAULT_PORT: Record<TransportScheme, number> = { tcp: 61613, stomp: 61613, ssl: 61612, 'stomp+ssl': 61612, ws: 61614, wss: 61614 };

/** One broker address: `tcp://h:p`, `stomp://h:p`, `ssl://h:p`, `ws://h:p/path`. */
export function parseAddress(text: string): BrokerAddress {
  const m = /^([a-z+]+):\/\/(\[[^\]]+\]|[^:/?#]+)(?::(\d+))?(\/[^?#]*)?(?:\?.*)?$/i.exec(text.trim());
  if (!m) throw new QmqError('CONFIG_INVALID', `malformed broker URL "${text}": expected scheme://host:port, e.g. tcp://127.0.0.1:61613`);
  const scheme = m[1].toLowerCase() as TransportScheme;
  if (!(scheme in DEFAULT_PORT)) {
    throw new QmqError('CONFIG_INVALID', `unsupported scheme "${scheme}" in "${text}"; use one of ${Object.keys(DEFAULT_PORT).join(', ')} (or failover:(…))`);
  }
  const port = m[3] === undefined ? DEFAULT_PORT[scheme] : Number(m[3]);
  if (port < 1 || port > 65535) throw new QmqError('CONFIG_INVALID', `port ${m[3]} in "${text}" is out of range 1..65535`);
  const host = m[2].replace(/^\[|\]$/g, '');
  return { scheme, host, port, path: m[4] ?? '/', text: text.trim() };
}
