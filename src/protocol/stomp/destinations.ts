import { QmqError } from '../../util/errors.js';
import type { DestinationKind, DestinationRef } from '../../broker/message.js';

/**
 * ActiveMQ's STOMP destination names (LegacyFrameTranslator): `/queue/x`, `/topic/x`,
 * `/temp-queue/x`, `/temp-topic/x`, and the forms other connections see for someone else's
 * temporary destination, `/remote-temp-queue/ID:…` and `/remote-temp-topic/ID:…`. Any other
 * name is a queue (see `parseOne`).
 */
const PREFIXES: Array<[string, DestinationKind, boolean]> = [
  ['/queue/', 'queue', false],
  ['/topic/', 'topic', false],
  ['/temp-queue/', 'temp-queue', false],
  ['/temp-topic/', 'temp-topic', false],
  ['/remote-temp-queue/', 'temp-queue', true],
  ['/remote-temp-topic/', 'temp-topic', true],
];

export interface ParsedDestination {
  kind: DestinationKind;
  name: string;
  /** A `/temp-*` name local to the sending connection, to be mapped to its broker-wide name. */
  localTemp: boolean;
}

/** One STOMP destination (no commas). */
export function parseOne(destination: string): ParsedDestination {
  // ActiveMQ reads `name?option=value&…` as destination options (for its JMS client) and keeps
  // only the name; over STOMP they change nothing (measured against 5.17), so they are dropped.
  const q = destination.indexOf('?');
  const text = q >= 0 ? destination.slice(0, q) : destination;
  for (const [prefix, kind, remote] of PREFIXES) {
    if (text.startsWith(prefix)) {
      const name = text.slice(prefix.length);
      if (name.length === 0) throw new QmqError('INVALID_DESTINATION', `destination "${text}" has no name after "${prefix}"`);
      return { kind, name, localTemp: !remote && (kind === 'temp-queue' || kind === 'temp-topic') };
    }
  }
  // ActiveMQ 5.17 hands any other name to its default UnresolvableDestinationTransformer, which
  // makes it a queue of exactly that name (`orders`, `a.b`, even `/foo/x`); MESSAGE frames then
  // show it as `/queue/<name>`. ActiveMQ STOMP apps that send to bare names rely on this.
  if (text.trim() === '') throw new QmqError('INVALID_DESTINATION', 'the destination is empty');
  return { kind: 'queue', name: text, localTemp: false };
}

/**
 * A destination header, which may be a comma list (ActiveMQ composite destination:
 * `/queue/a,/queue/b` or `/queue/a,b`). A bare name after a comma inherits the previous prefix.
 */
export function parseDestinationHeader(text: string): ParsedDestination[] {
  const parts = text.split(',');
  const out: ParsedDestination[] = [];
  let prev: ParsedDestination | undefined;
  for (const raw of parts) {
    if (raw.length === 0) throw new QmqError('INVALID_DESTINATION', `invalid destination "${text}": empty name in a composite list`);
    if (raw.startsWith('/')) prev = parseOne(raw);
    else if (prev) prev = { ...prev, name: raw };
    else prev = parseOne(raw);
    out.push(prev);
  }
  return out;
}

/**
 * Groups a composite list by kind so the core gets one destination per kind, with the
 * names joined by commas (the core fans a comma list out).
 */
export function groupComposite(dests: DestinationRef[]): DestinationRef[] {
  const byKind = new Map<DestinationKind, string[]>();
  for (const d of dests) {
    const names = byKind.get(d.kind) ?? [];
    names.push(d.name);
    byKind.set(d.kind, names);
  }
  return [...byKind.entries()].map(([kind, names]) => ({ kind, name: names.join(',') }));
}

const PLAIN_PREFIX: Record<DestinationKind, string> = {
  queue: '/queue/',
  topic: '/topic/',
  'temp-queue': '/remote-temp-queue/',
  'temp-topic': '/remote-temp-topic/',
};

/**
 * Renders a destination for one connection. A temporary destination that this connection
 * created is shown under the local name it used; anyone else's under `/remote-temp-*`.
 */
export function renderDestination(d: DestinationRef, localNameOf: (globalName: string) => string | undefined): string {
  if (d.kind === 'temp-queue' || d.kind === 'temp-topic') {
    const local = localNameOf(`${d.kind}:${d.name}`);
    if (local !== undefined) return `/${d.kind}/${local}`;
  }
  return PLAIN_PREFIX[d.kind] + d.name;
}
