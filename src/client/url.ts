import { QmqError } from '../util/errors.js';
import { parseFailoverOptions, type FailoverOptions } from './failover-options.js';

export type TransportScheme = 'tcp' | 'stomp' | 'ssl' | 'stomp+ssl' | 'ws' | 'wss';

export interface BrokerAddress {
  scheme: TransportScheme;
  host: string;
  port: number;
  /** For ws/wss: the path (default `/`). */
  path: string;
  /** The address as given, without its query (for messages and events). */
  text: string;
  /** Socket connect timeout from the inner URI's `connectionTimeout` (ActiveMQ's TCP transport option). */
  connectionTimeoutMs?: number;
}

/** A parsed client URL: one or more broker addresses, and how to fail over between them. */
export interface ClientUrl {
  /** True for `failover:`: connection loss triggers reconnection instead of failing. */
  failover: boolean;
  addresses: BrokerAddress[];
  options: FailoverOptions;
}

const DEFAULT_PORT: Record<TransportScheme, number> = { tcp: 61613, stomp: 61613, ssl: 61612, 'stomp+ssl': 61612, ws: 61614, wss: 61614 };

/**
 * Options an inner URI may carry. ActiveMQ's TCP transport accepts many socket tunables; we
 * honour `connectionTimeout` and accept the common no-op ones so seed URLs parse, while a
 * typo is still an error.
 */
const INNER_OPTIONS = new Set(['connectionTimeout', 'keepAlive', 'tcpNoDelay', 'soTimeout', 'trace']);

function splitQuery(text: string): { base: string; params: Map<string, string> } {
  const q = text.indexOf('?');
  const params = new Map<string, string>();
  if (q < 0) return { base: text, params };
  for (const part of text.slice(q + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new QmqError('CONFIG_INVALID', `malformed option "${part}" in "${text}": expected name=value`);
    params.set(decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1)));
  }
  return { base: text.slice(0, q), params };
}

/** One broker address: `tcp://h:p`, `stomp://h:p`, `ssl://h:p`, `ws://h:p/path` (with optional inner options). */
export function parseAddress(text: string, extraOptions: ReadonlyMap<string, string> = new Map()): BrokerAddress {
  const trimmed = text.trim();
  const { base, params } = splitQuery(trimmed);
  const m = /^([a-z+]+):\/\/(\[[^\]]+\]|[^:/?#[\]]+)(?::(\d+))?(\/[^?#]*)?$/i.exec(base);
  if (!m) throw new QmqError('CONFIG_INVALID', `malformed broker URL "${text}": expected scheme://host:port, e.g. tcp://127.0.0.1:61613`);
  const scheme = m[1].toLowerCase() as TransportScheme;
  if (!(scheme in DEFAULT_PORT)) {
    throw new QmqError('CONFIG_INVALID', `unsupported scheme "${scheme}" in "${text}"; use one of ${Object.keys(DEFAULT_PORT).join(', ')} (or failover:(…))`);
  }
  const port = m[3] === undefined ? DEFAULT_PORT[scheme] : Number(m[3]);
  if (port < 1 || port > 65535) throw new QmqError('CONFIG_INVALID', `port ${m[3]} in "${text}" is out of range 1..65535`);
  const host = m[2].replace(/^\[|\]$/g, '');
  const addr: BrokerAddress = { scheme, host, port, path: m[4] ?? '/', text: base };
  for (const [name, value] of [...extraOptions, ...params]) {
    if (!INNER_OPTIONS.has(name)) {
      throw new QmqError('CONFIG_INVALID', `unknown option "${name}" on broker URL "${text}"; valid options: ${[...INNER_OPTIONS].join(', ')}`);
    }
    if (name === 'connectionTimeout') {
      if (!/^\d+$/.test(value)) throw new QmqError('CONFIG_INVALID', `connectionTimeout=${value} in "${text}" is not a whole number of milliseconds`);
      // ActiveMQ: 0 means no timeout; ours stays bounded, so 0 falls back to the default.
      if (Number(value) > 0) addr.connectionTimeoutMs = Number(value);
    }
  }
  return addr;
}

/** Splits at commas that are not inside parentheses (nested failover lists are not allowed, but stay one token). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim());
}

/**
 * Parses a client URL. Besides single addresses it takes ActiveMQ's failover forms:
 * `failover:(uri1,…,uriN)?options`, `failover://(uri1,…)?options` and `failover:uri1,uri2`.
 * `nested.x=y` options are applied to every inner URI, as in ActiveMQ.
 */
export function parseClientUrl(text: string): ClientUrl {
  const trimmed = text.trim();
  if (!/^failover:/i.test(trimmed)) {
    return { failover: false, addresses: [parseAddress(trimmed)], options: parseFailoverOptions(new Map(), trimmed) };
  }
  let rest = trimmed.slice('failover:'.length);
  if (rest.startsWith('//(')) rest = rest.slice(2);
  let list: string;
  let query = '';
  if (rest.startsWith('(')) {
    const close = rest.lastIndexOf(')');
    if (close < 0) throw new QmqError('CONFIG_INVALID', `malformed failover URL "${text}": missing ")"`);
    list = rest.slice(1, close);
    const tail = rest.slice(close + 1);
    if (tail !== '' && !tail.startsWith('?')) throw new QmqError('CONFIG_INVALID', `malformed failover URL "${text}": unexpected "${tail}" after ")"`);
    query = tail.slice(1);
  } else {
    // `failover:uri1,uri2?opts`: without parentheses the query belongs to the failover transport.
    const q = rest.indexOf('?');
    list = q < 0 ? rest : rest.slice(0, q);
    query = q < 0 ? '' : rest.slice(q + 1);
  }
  const { params } = splitQuery(`?${query}`);
  const nested = new Map<string, string>();
  const own = new Map<string, string>();
  for (const [k, v] of params) {
    if (k.startsWith('nested.')) nested.set(k.slice('nested.'.length), v);
    else own.set(k, v);
  }
  const parts = splitTopLevel(list).filter((p) => p !== '');
  if (parts.length === 0) throw new QmqError('CONFIG_INVALID', `failover URL "${text}" lists no broker`);
  const addresses = parts.map((p) => {
    if (/^failover:/i.test(p)) throw new QmqError('CONFIG_INVALID', `failover URL "${text}" nests another failover URL`);
    return parseAddress(p, nested);
  });
  const options = parseFailoverOptions(own, text);
  for (const p of options.priorityURIs) parseAddress(p);
  return { failover: true, addresses, options };
}
