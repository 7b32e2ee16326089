/**
 * `<transportConnector uri="…">` parsing. ActiveMQ connector URIs are `scheme://host:port?opts`;
 * the scheme picks the protocol and the `+nio`/`+ssl` parts pick the I/O flavour.
 */
import type { ConnectorScheme, TransportConnectorConfig } from './types.js';

export const SUPPORTED_SCHEMES: readonly ConnectorScheme[] = [
  'tcp', 'nio', 'ssl', 'nio+ssl', 'stomp', 'stomp+nio', 'stomp+ssl', 'stomp+nio+ssl', 'ws', 'wss', 'mqtt', 'mqtt+nio', 'mqtt+ssl', 'mqtt+nio+ssl',
];

/** Schemes ActiveMQ has that QuorumMQ does not serve yet (DESIGN §1: AMQP comes later). */
export const KNOWN_UNSUPPORTED_SCHEMES: readonly string[] = [
  'amqp', 'amqp+nio', 'amqp+ssl', 'amqp+nio+ssl', 'amqp+ws', 'amqp+wss',
  'mqtt+ws', 'mqtt+wss', 'auto', 'auto+nio', 'auto+ssl',
  'auto+nio+ssl', 'http', 'https', 'udp', 'vm', 'stomp+ws', 'stomp+wss',
];

export type ConnectorUriResult =
  | { ok: true; connector: TransportConnectorConfig }
  | { ok: false; unsupported: boolean; message: string };

export function parseConnectorUri(name: string, uri: string): ConnectorUriResult {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(uri.trim());
  if (m === null) {
    return { ok: false, unsupported: false, message: `connector "${name}": "${uri}" is not a URI of the form scheme://host:port` };
  }
  const scheme = m[1].toLowerCase();
  if (!(SUPPORTED_SCHEMES as readonly string[]).includes(scheme)) {
    const kind = KNOWN_UNSUPPORTED_SCHEMES.includes(scheme) ? 'is not supported yet' : 'is unknown';
    return {
      ok: false,
      unsupported: true,
      message:
        `connector "${name}" (${uri}): scheme "${scheme}" ${kind}. Supported schemes: ${SUPPORTED_SCHEMES.join(', ')}. ` +
        `Remove the connector or change it to one of those` +
        `, or start with --ignore-unsupported-connectors to skip it with a warning`,
    };
  }
  const authority = m[2];
  // IPv6 literals come bracketed (`[::]:61613`); the port follows the closing bracket.
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
  if (hostPort === null || hostPort[2] === undefined || hostPort[2] === '') {
    return { ok: false, unsupported: false, message: `connector "${name}" (${uri}): a port is required, e.g. ${scheme}://0.0.0.0:61613` };
  }
  const port = Number(hostPort[2]);
  if (!Number.isInteger(port) || port > 65535) {
    return { ok: false, unsupported: false, message: `connector "${name}" (${uri}): port ${hostPort[2]} is out of range; expected 0-65535 (0 = any free port)` };
  }
  let host = hostPort[1];
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host === '') host = '0.0.0.0';
  const options: Record<string, string> = {};
  if (m[4] !== undefined && m[4] !== '') {
    for (const [k, v] of new URLSearchParams(m[4])) options[k] = v;
  }
  return { ok: true, connector: { name, uri, scheme: scheme as ConnectorScheme, host, port, options } };
}
