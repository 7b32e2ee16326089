import type { Delivery, SendRequest } from '../../broker/api.js';
import { parseDestinationKey, PROPERTY_TYPES_HEADER, type DestinationRef, type Message } from '../../broker/message.js';
import { QmqError } from '../../util/errors.js';
import { setOwn } from '../../util/own-property.js';

/**
 * Headers of a SEND that mean something to the broker and so are not kept as message
 * properties (ActiveMQ FrameTranslator: these are removed or mapped to JMS fields).
 */
const CONSUMED_SEND_HEADERS = new Set([
  'destination', 'receipt', 'transaction', 'content-length', 'persistent', 'priority', 'expires',
  'reply-to', 'message-id', 'redelivered', 'subscription', 'JMSXUserID', 'ack',
  'qmq-producer-id', 'qmq-producer-seq', PROPERTY_TYPES_HEADER,
]);

export interface SendFields {
  headers: Record<string, string>;
  persistent: boolean;
  priority?: number;
  expires?: number;
  bodyIsBytes: boolean;
  producerId?: string;
  producerSeq?: number;
}

function intHeader(name: string, value: string, min: number, max: number): number {
  // Values are strings on the wire; anything that is not a whole number in range is the client's error.
  if (!/^-?\d+$/.test(value.trim())) throw new QmqError('HEADER_INVALID', `header ${name}:${value} is not a whole number`);
  const n = Number(value.trim());
  if (n < min || n > max) throw new QmqError('HEADER_INVALID', `header ${name}:${value} is out of range ${min}..${max}`);
  return n;
}

/** SEND headers → the broker-level fields of a message (ActiveMQ's mapping, protocols.md §1.2). */
export function sendFieldsFromHeaders(h: Record<string, string>): SendFields {
  const headers: Record<string, string> = {};
  for (const k in h) if (!CONSUMED_SEND_HEADERS.has(k)) setOwn(headers, k, h[k]);
  const fields: SendFields = {
    headers,
    // ActiveMQ: STOMP messages are non-persistent unless `persistent:true`.
    persistent: h.persistent === 'true',
    // ActiveMQ: a frame with content-length becomes a BytesMessage, without it a TextMessage.
    bodyIsBytes: h['content-length'] !== undefined,
  };
  if (h.priority !== undefined) fields.priority = intHeader('priority', h.priority, 0, 9);
  // ActiveMQ: `expires` is an absolute epoch ms (JMSExpiration), 0 = never.
  if (h.expires !== undefined) fields.expires = intHeader('expires', h.expires, 0, Number.MAX_SAFE_INTEGER);
  if (h['qmq-producer-id'] !== undefined) {
    fields.producerId = h['qmq-producer-id'];
    fields.producerSeq = intHeader('qmq-producer-seq', h['qmq-producer-seq'] ?? '', 0, Number.MAX_SAFE_INTEGER);
  }
  return fields;
}

export type SendRequestWithoutDestination = Omit<SendRequest, 'destination'>;

export function buildSendRequest(destination: DestinationRef, f: SendFields, body: Buffer, replyTo?: DestinationRef): SendRequest {
  const req: SendRequest = {
    destination,
    headers: f.headers,
    body,
    bodyIsBytes: f.bodyIsBytes,
    persistent: f.persistent,
  };
  if (f.priority !== undefined) req.priority = f.priority;
  if (f.expires !== undefined) req.expires = f.expires;
  if (replyTo) req.replyTo = replyTo;
  if (f.producerId !== undefined) {
    req.producerId = f.producerId;
    req.producerSeq = f.producerSeq;
  }
  return req;
}

/**
 * A delivery → MESSAGE headers (ActiveMQ copyStandardHeadersFromMessageToFrame): the standard
 * headers always, optional ones when set, then every property as a string.
 */
export function messageHeaders(
  d: Delivery,
  opts: { ackId?: string; render: (dest: DestinationRef) => string; showSubscription?: boolean },
): Array<[string, string]> {
  const m: Message = d.message;
  const out: Array<[string, string]> = [
    ['destination', opts.render(m.destination)],
    ['message-id', m.id],
  ];
  // STOMP 1.0 §SUBSCRIBE: a MESSAGE names its subscription only if the SUBSCRIBE gave an id.
  if (opts.showSubscription !== false) out.push(['subscription', d.subscriptionId]);
  // STOMP 1.2 §MESSAGE: with client acks the MESSAGE carries an `ack` header to echo back.
  if (opts.ackId !== undefined) out.push(['ack', opts.ackId]);
  out.push(['expires', String(m.expires)], ['priority', String(m.priority)], ['timestamp', String(m.timestamp)]);
  if (m.persistent) out.push(['persistent', 'true']);
  if (d.redelivered) out.push(['redelivered', 'true']);
  if (m.redeliveryCount > 0) out.push(['redelivery-count', String(m.redeliveryCount)]);
  if (m.originalDestination) out.push(['original-destination', opts.render(m.originalDestination)]);
  for (const k in m.headers) {
    if (k === 'reply-to') {
      out.push(['reply-to', renderReplyTo(m.headers[k], opts.render)]);
    } else if (k !== 'content-length' && k !== PROPERTY_TYPES_HEADER) {
      out.push([k, m.headers[k]]);
    }
  }
  if (m.bodyIsBytes) out.push(['content-length', String(m.body.length)]);
  return out;
}

/** The core keeps `reply-to` as a destination key (`queue://x`); a plain string is passed through. */
function renderReplyTo(value: string, render: (dest: DestinationRef) => string): string {
  try {
    return render(parseDestinationKey(value));
  } catch {
    return value;
  }
}
