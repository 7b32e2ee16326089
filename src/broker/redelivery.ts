import type { DeadLetterStrategy, RedeliveryPolicy } from '../config/types.js';
import { setPropertyType, type DestinationRef, type Message } from './message.js';

/**
 * Redelivery and dead-letter decisions: pure functions of the message and the policy.
 *
 * Issue 2 departs from ActiveMQ's STOMP NACK (which poisons the message straight to the DLQ):
 * a NACKed or returned message is redelivered until its redelivery count would exceed
 * `maximumRedeliveries`, then dead-lettered.
 */

export type RedeliveryDecision =
  | { action: 'redeliver'; message: Message; delayMs: number }
  | { action: 'dead-letter'; message: Message };

export function decideRedelivery(message: Message, policy: RedeliveryPolicy): RedeliveryDecision {
  const count = message.redeliveryCount + 1;
  const max = policy.maximumRedeliveries;
  // -1 = redeliver forever (ActiveMQ RedeliveryPolicy.NO_MAXIMUM_REDELIVERIES).
  if (max >= 0 && count > max) return { action: 'dead-letter', message };
  return { action: 'redeliver', message: { ...message, redeliveryCount: count }, delayMs: Math.max(0, policy.redeliveryDelayMs) };
}

export type DeadLetterReason = 'redelivery' | 'expired';

/**
 * Where a dead message goes, or undefined when it is dropped. Mirrors ActiveMQ's
 * DeadLetterStrategy: `processExpired` / `processNonPersistent` gate which messages are kept,
 * the shared strategy uses one queue, the individual one derives a name from the original.
 * `source` is the destination the message is leaving (for a durable subscription, its topic).
 */
export function deadLetterTarget(
  message: Message,
  source: DestinationRef,
  strategy: DeadLetterStrategy,
  reason: DeadLetterReason,
): DestinationRef | undefined {
  if (strategy.kind === 'discarding') return undefined;
  if (reason === 'expired' && !strategy.processExpired) return undefined;
  if (!message.persistent && !strategy.processNonPersistent) return undefined;
  let target: DestinationRef;
  if (strategy.kind === 'shared') {
    target = { kind: 'queue', name: strategy.queueName };
  } else {
    const isQueue = source.kind === 'queue' || source.kind === 'temp-queue';
    const prefix = isQueue ? strategy.queuePrefix : strategy.topicPrefix;
    const asQueue = isQueue ? strategy.useQueueForQueueMessages : strategy.useQueueForTopicMessages;
    target = { kind: asQueue ? 'queue' : 'topic', name: prefix + source.name };
  }
  // A message dying in the dead-letter queue itself is dropped rather than looping.
  if (target.kind === source.kind && target.name === source.name) return undefined;
  return target;
}

/**
 * The copy that lands in the dead-letter destination. It keeps its id and records where it was
 * first sent (`original-destination` in ActiveMQ's STOMP MESSAGE) and why it died, in the
 * properties ActiveMQ's RegionBroker.sendToDeadLetterQueue sets: `dlqDeliveryFailureCause`
 * (`cause` when the client said why, as an OpenWire poison ack does), and `originalExpiration`
 * on every dead letter, as the DLQ's own expiration is 0. Its redelivery count starts again at 0 so that a DLQ consumer sees a fresh message and a
 * NACK there does not dead-letter it again at once.
 */
export function deadLetterCopy(message: Message, source: DestinationRef, target: DestinationRef, reason: DeadLetterReason, cause?: string): Message {
  const headers = { ...message.headers };
  if (cause !== undefined) headers.dlqDeliveryFailureCause = cause;
  // ActiveMQ's words, as its Throwable prints them (RegionBroker.messageExpired).
  else if (reason === 'expired') headers.dlqDeliveryFailureCause = `java.lang.Throwable: Message Expired. Expiration:${message.expires}`;
  else headers.dlqDeliveryFailureCause = `Delivery[${message.redeliveryCount + 1}] exceeds the redelivery policy's maximumRedeliveries`;
  if (headers.originalExpiration === undefined) {
    headers.originalExpiration = String(message.expires);
    // A Long in ActiveMQ, which JMS consumers see through getObjectProperty.
    setPropertyType(headers, 'originalExpiration', 'J');
  }
  return {
    ...message,
    headers,
    destination: target,
    originalDestination: message.originalDestination ?? source,
    redeliveryCount: 0,
    // ActiveMQ clears the expiration of dead-lettered messages, or an expired message would
    // expire again inside the DLQ and be lost.
    expires: 0,
  };
}
