/**
 * The protocol-agnostic message. Protocol adapters translate their frames into this and back;
 * stores serialise it. Header values are strings because that is what STOMP carries, and
 * ActiveMQ's STOMP dialect turns every unknown header into a string property.
 */
export type DestinationKind = 'queue' | 'topic' | 'temp-queue' | 'temp-topic';

/**
 * The Java types of properties that are not strings (JSON: name → JVM type letter, `I` int, `J`
 * long, `Z` boolean, …), so an OpenWire consumer gets an Integer back where an OpenWire producer
 * set one. Values themselves stay strings in `headers`. STOMP neither shows nor accepts it.
 */
export const PROPERTY_TYPES_HEADER = 'qmq-property-types';

/** Records `name`'s Java type in the headers' type table (a broker-set property such as a long). */
export function setPropertyType(headers: Record<string, string>, name: string, letter: string): void {
  let table: Record<string, string> = {};
  try {
    const t = JSON.parse(headers[PROPERTY_TYPES_HEADER] ?? '{}') as unknown;
    if (t !== null && typeof t === 'object' && !Array.isArray(t)) table = t as Record<string, string>;
  } catch {
    // a damaged table: start a new one
  }
  table[name] = letter;
  headers[PROPERTY_TYPES_HEADER] = JSON.stringify(table);
}

export interface DestinationRef {
  kind: DestinationKind;
  /** The name without any prefix: `/queue/a.b` is `{kind:'queue', name:'a.b'}`. */
  name: string;
}

export interface Message {
  /** JMS-style id, `ID:<node>-<connection>:1:1:<seq>`; unique per broker. */
  id: string;
  destination: DestinationRef;
  /**
   * Application properties and the standard headers that have no field below
   * (`correlation-id`, `type`, `reply-to`, `JMSXGroupID`, `JMSXGroupSeq`, user properties).
   */
  headers: Record<string, string>;
  body: Buffer;
  /** True when the frame carried `content-length` (ActiveMQ: BytesMessage, else TextMessage). */
  bodyIsBytes: boolean;
  persistent: boolean;
  /** 0..9, default 4. */
  priority: number;
  /** Absolute epoch ms after which the message is dropped; 0 = never (ActiveMQ `expires`). */
  expires: number;
  /** Epoch ms when the broker accepted it. */
  timestamp: number;
  /** How many times it was delivered and came back unacknowledged. */
  redeliveryCount: number;
  /** Set when the message was moved (to a DLQ): where it was first sent. */
  originalDestination?: DestinationRef;
  /** Duplicate detection: the producer's stable id and this send's sequence number. */
  producerId?: string;
  producerSeq?: number;
}

/** `queue://a.b`, `topic://x` — the canonical string form used as a store key and in logs. */
export function destinationKey(d: DestinationRef): string {
  return `${d.kind}://${d.name}`;
}

export function parseDestinationKey(key: string): DestinationRef {
  const m = /^(queue|topic|temp-queue|temp-topic):\/\/(.*)$/s.exec(key);
  if (!m) throw new Error(`not a destination key: ${key}`);
  return { kind: m[1] as DestinationKind, name: m[2] };
}

/** Approximate bytes a message holds in memory; used for memory limits and flow control. */
export function messageSizeBytes(m: Message): number {
  let n = m.body.length + 128;
  for (const k in m.headers) n += k.length + m.headers[k].length + 16;
  return n;
}
