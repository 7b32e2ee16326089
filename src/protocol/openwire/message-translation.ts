/**
 * OpenWire messages and destinations ↔ the broker's protocol-neutral forms. Pure functions: the
 * session does the I/O. The mapping follows what ActiveMQ does between OpenWire and STOMP, so a
 * message sent by a Java client reads the same to a STOMP consumer and back:
 * - a TextMessage's text is the body (UTF-8); a BytesMessage's bytes are the body, marked bytes;
 * - JMSCorrelationID, JMSType, JMSXGroupID and JMSXGroupSeq are the headers `correlation-id`,
 *   `type`, `JMSXGroupID` and `JMSXGroupSeq`; JMSReplyTo is `reply-to`;
 * - every property becomes a string header (STOMP carries strings only; JMS converts a string
 *   property back to int, long or boolean on `getIntProperty` and the like);
 * - Map, Object and Stream messages keep their marshalled body as bytes, with the header
 *   `qmq-openwire-body` naming the kind, so an OpenWire consumer gets the same kind back.
 */
import type { SendRequest } from '../../broker/api.js';
import type { DestinationKind, DestinationRef, Message } from '../../broker/message.js';
import { parseDestinationKey, PROPERTY_TYPES_HEADER } from '../../broker/message.js';
import { setOwn } from '../../util/own-property.js';
import { QmqError } from '../../util/errors.js';
import type { OwObject } from './codec.js';
import { decodeProperties, decodeTextContent, encodeProperties, encodeTextContent, inflateBytesContent, inflateContent, type PrimitiveValue } from './primitive-map.js';
import { T } from './schema.js';

const KIND_OF_TYPE = new Map<number, DestinationKind>([
  [T.QUEUE, 'queue'],
  [T.TOPIC, 'topic'],
  [T.TEMP_QUEUE, 'temp-queue'],
  [T.TEMP_TOPIC, 'temp-topic'],
]);
const TYPE_OF_KIND: Record<DestinationKind, number> = { queue: T.QUEUE, topic: T.TOPIC, 'temp-queue': T.TEMP_QUEUE, 'temp-topic': T.TEMP_TOPIC };

/** Bodies kept as marshalled bytes, by the header value that names them. */
const OPAQUE_BODIES: ReadonlyMap<number, string> = new Map<number, string>([
  [T.MAP_MESSAGE, 'map'],
  [T.OBJECT_MESSAGE, 'object'],
  [T.STREAM_MESSAGE, 'stream'],
  [T.MESSAGE, 'message'],
]);
const OPAQUE_TYPES = new Map([...OPAQUE_BODIES].map(([t, n]) => [n, t]));
export const BODY_KIND_HEADER = 'qmq-openwire-body';

export function destinationRef(d: unknown, what: string): DestinationRef {
  const o = d as OwObject | null;
  const kind = o ? KIND_OF_TYPE.get(o.type) : undefined;
  if (!o || kind === undefined || typeof o.physicalName !== 'string' || o.physicalName === '') {
    throw new QmqError('INVALID_DESTINATION', `OpenWire: ${what} is missing or not a queue or topic`);
  }
  return { kind, name: o.physicalName };
}

export function owDestination(ref: DestinationRef): OwObject {
  return { type: TYPE_OF_KIND[ref.kind], physicalName: ref.name };
}

/** `connectionId:sessionId:value`, the form ActiveMQ prints a ProducerId in. */
export function producerKey(p: unknown): string | undefined {
  const o = p as OwObject | null;
  if (!o || o.type !== T.PRODUCER_ID) return undefined;
  return `${String(o.connectionId)}:${Number(o.sessionId)}:${Number(o.value)}`;
}

/** The string a JMS client shows as JMSMessageID, and what the broker keeps as the message id. */
export function messageIdString(id: unknown): string | undefined {
  const o = id as OwObject | null;
  if (!o || o.type !== T.MESSAGE_ID) return undefined;
  if (typeof o.textView === 'string' && o.textView !== '') return o.textView.startsWith('ID:') ? o.textView : `ID:${o.textView}`;
  const p = producerKey(o.producerId);
  return p === undefined ? undefined : `${p}:${Number(o.producerSequenceId)}`;
}

/**
 * A MessageId for a stored message id. Java compares MessageIds by producer and sequence, so
 * both must be there: we split them off the id's last three `:`-separated numbers, as
 * ActiveMQ's own ids are built (`<connection>:<session>:<producer>:<seq>`).
 */
export function owMessageId(id: string, fallbackSeq: number): OwObject {
  const m = /^(.*):(\d+):(\d+):(\d+)$/s.exec(id);
  const producerId: OwObject = m
    ? { type: T.PRODUCER_ID, connectionId: m[1], sessionId: Number(m[2]), value: Number(m[3]) }
    : { type: T.PRODUCER_ID, connectionId: id, sessionId: 0, value: 0 };
  return { type: T.MESSAGE_ID, textView: id, producerId, producerSequenceId: m ? Number(m[4]) : fallbackSeq, brokerSequenceId: 0 };
}

function propertyString(v: PrimitiveValue): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export interface InboundLimits {
  /** The largest body a compressed message may inflate to. */
  maxBodyBytes: number;
}

/** An OpenWire message from a producer → what the broker core stores. `replyTo` is left raw for the session to resolve. */
export function sendRequestFromMessage(m: OwObject, limits: InboundLimits): { req: SendRequest; replyTo: DestinationRef | undefined } {
  const destination = destinationRef(m.destination, 'the message destination');
  const headers: Record<string, string> = {};
  if (m.marshalledProperties) {
    const { values, types } = decodeProperties(m.marshalledProperties as Buffer, 'the message properties');
    for (const k of Object.keys(values)) setOwn(headers, k, propertyString(values[k]));
    if (Object.keys(types).length > 0) headers[PROPERTY_TYPES_HEADER] = JSON.stringify(types);
  }
  if (typeof m.correlationId === 'string') headers['correlation-id'] = m.correlationId;
  if (typeof m.jmsType === 'string') headers['type'] = m.jmsType;
  if (typeof m.groupID === 'string') {
    headers['JMSXGroupID'] = m.groupID;
    headers['JMSXGroupSeq'] = String(m.groupSequence ?? 0);
  }
  const content = (m.content as Buffer | null) ?? null;
  const compressed = m.compressed === true;
  let body: Buffer;
  let bodyIsBytes: boolean;
  if (m.type === T.TEXT_MESSAGE) {
    body = Buffer.from(decodeTextContent(content, compressed, limits.maxBodyBytes) ?? '', 'utf8');
    bodyIsBytes = false;
  } else if (m.type === T.BYTES_MESSAGE || m.type === T.BLOB_MESSAGE) {
    body = content === null ? Buffer.alloc(0) : compressed ? inflateBytesContent(content, limits.maxBodyBytes) : content;
    bodyIsBytes = true;
  } else {
    const kind = OPAQUE_BODIES.get(m.type);
    if (kind === undefined) throw new QmqError('FRAME_MALFORMED', `OpenWire: data structure type ${String(m.type)} is not a message`);
    body = content === null ? Buffer.alloc(0) : compressed ? inflateContent(content, limits.maxBodyBytes) : content;
    bodyIsBytes = kind !== 'message';
    headers[BODY_KIND_HEADER] = kind;
  }
  const req: SendRequest = {
    destination,
    headers,
    body,
    bodyIsBytes,
    persistent: m.persistent === true,
    priority: typeof m.priority === 'number' ? m.priority : undefined,
    expires: typeof m.expiration === 'number' && m.expiration > 0 ? m.expiration : 0,
  };
  const producerId = producerKey(m.producerId) ?? producerKey((m.messageId as OwObject | null)?.producerId);
  const seq = (m.messageId as OwObject | null)?.producerSequenceId;
  if (producerId !== undefined && typeof seq === 'number') {
    req.producerId = producerId;
    req.producerSeq = seq;
  }
  const id = messageIdString(m.messageId);
  if (id !== undefined) req.messageId = id;
  const replyTo = m.replyTo ? destinationRef(m.replyTo, 'JMSReplyTo') : undefined;
  return { req, replyTo };
}

const HEADERS_AS_FIELDS = new Set(['correlation-id', 'type', 'reply-to', 'JMSXGroupID', 'JMSXGroupSeq', BODY_KIND_HEADER, 'content-length', PROPERTY_TYPES_HEADER]);

function propertyTypes(h: Record<string, string>): Record<string, string> {
  const raw = h[PROPERTY_TYPES_HEADER];
  if (raw === undefined) return {};
  try {
    const t = JSON.parse(raw) as unknown;
    return t !== null && typeof t === 'object' && !Array.isArray(t) ? (t as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** A stored message → the ActiveMQ*Message a consumer gets inside a MessageDispatch. */
export function messageForDispatch(msg: Message, tag: number, now: number): OwObject {
  const h = msg.headers;
  const props: Record<string, string> = {};
  for (const k of Object.keys(h)) if (!HEADERS_AS_FIELDS.has(k)) setOwn(props, k, h[k]);
  let type: number;
  let content: Buffer | null;
  const opaque = h[BODY_KIND_HEADER] !== undefined ? OPAQUE_TYPES.get(h[BODY_KIND_HEADER]) : undefined;
  if (opaque !== undefined) {
    type = opaque;
    content = msg.body.length > 0 ? msg.body : null;
  } else if (msg.bodyIsBytes) {
    type = T.BYTES_MESSAGE;
    content = msg.body;
  } else {
    type = T.TEXT_MESSAGE;
    content = encodeTextContent(msg.body.toString('utf8'));
  }
  let replyTo: OwObject | null = null;
  if (h['reply-to'] !== undefined) {
    try {
      replyTo = owDestination(parseDestinationKey(h['reply-to']));
    } catch {
      // A STOMP producer's reply-to that names no destination we know stays a property.
      props['reply-to'] = h['reply-to'];
    }
  }
  const messageId = owMessageId(msg.id, tag);
  const groupSeq = Number(h['JMSXGroupSeq']);
  return {
    type,
    commandId: 0,
    responseRequired: false,
    producerId: messageId.producerId,
    destination: owDestination(msg.destination),
    originalDestination: msg.originalDestination ? owDestination(msg.originalDestination) : null,
    messageId,
    groupID: h['JMSXGroupID'] ?? null,
    groupSequence: Number.isSafeInteger(groupSeq) ? groupSeq : 0,
    correlationId: h['correlation-id'] ?? null,
    persistent: msg.persistent,
    expiration: msg.expires,
    priority: msg.priority,
    replyTo,
    timestamp: msg.timestamp,
    content,
    marshalledProperties: Object.keys(props).length > 0 ? encodeProperties(props, propertyTypes(h)) : null,
    compressed: false,
    redeliveryCounter: msg.redeliveryCount,
    arrival: 0,
    brokerInTime: msg.timestamp,
    brokerOutTime: now,
    jmsType: h['type'] ?? null,
  };
}
