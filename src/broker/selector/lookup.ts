/**
 * What a selector identifier means for a broker message. JMS 1.1 §3.8.1.1 lets selectors name
 * the header fields JMSDeliveryMode, JMSPriority, JMSMessageID, JMSTimestamp, JMSCorrelationID
 * and JMSType; like ActiveMQ we also offer JMSDestination, JMSReplyTo, JMSExpiration,
 * JMSRedelivered and JMSXDeliveryCount. Every other identifier is a message property, which in
 * this broker is a string header. A missing one is undefined, which the selector reads as NULL.
 */
import { destinationKey, type Message } from '../message.js';
import type { Lookup } from './evaluate.js';

type HeaderReader = (m: Message) => string | number | boolean | undefined;

const JMS_HEADERS: ReadonlyMap<string, HeaderReader> = new Map<string, HeaderReader>([
  ['JMSMessageID', (m) => m.id],
  ['JMSCorrelationID', (m) => m.headers['correlation-id']],
  ['JMSType', (m) => m.headers['type']],
  ['JMSReplyTo', (m) => m.headers['reply-to']],
  ['JMSPriority', (m) => m.priority],
  ['JMSTimestamp', (m) => m.timestamp],
  ['JMSExpiration', (m) => m.expires],
  // JMS 1.1 §3.8.1.1: "When used in a message selector JMSDeliveryMode is treated as having the
  // values 'PERSISTENT' and 'NON_PERSISTENT'."
  ['JMSDeliveryMode', (m) => (m.persistent ? 'PERSISTENT' : 'NON_PERSISTENT')],
  ['JMSRedelivered', (m) => m.redeliveryCount > 0],
  // JMS 1.1 §3.5.9: JMSXDeliveryCount counts this delivery too, so it starts at 1.
  ['JMSXDeliveryCount', (m) => m.redeliveryCount + 1],
  ['JMSDestination', (m) => destinationKey(m.destination)],
]);

export function messageSelectorLookup(m: Message): Lookup {
  return (name) => {
    const reader = JMS_HEADERS.get(name);
    if (reader) return reader(m);
    return Object.prototype.hasOwnProperty.call(m.headers, name) ? m.headers[name] : undefined;
  };
}
