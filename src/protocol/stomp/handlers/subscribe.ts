import type { AckMode, SubscribeRequest } from '../../../broker/api.js';
import { QmqError } from '../../../util/errors.js';
import type { FrameHandler } from '../session-types.js';
import { resolveDestinations } from './send.js';
import { requireHeader } from './require-header.js';

const ACK_MODES = new Set<AckMode>(['auto', 'client', 'client-individual']);

/** ActiveMQPrefetchPolicy defaults. */
const DEFAULT_PREFETCH = { queue: 1000, topic: 32767, durable: 100, browser: 500 };

function flag(v: string | undefined): boolean {
  return v === 'true';
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new QmqError('HEADER_INVALID', `SUBSCRIBE header ${name}:${v} must be a whole number`);
  return Number(v);
}

export const handleSubscribe: FrameHandler = (ctx, _frame, h) => {
  const destText = requireHeader(h, 'destination', 'SUBSCRIBE');
  // STOMP 1.1+ §SUBSCRIBE: `id` is required. 1.0 allows it to be absent; the destination stands in.
  const id = ctx.version === '1.0' ? h.id ?? destText : requireHeader(h, 'id', 'SUBSCRIBE');
  if (ctx.subscriptions.has(id)) {
    throw new QmqError('SUBSCRIPTION_EXISTS', `a subscription with id "${id}" already exists on this connection`);
  }
  const ack = (h.ack ?? 'auto') as AckMode;
  if (!ACK_MODES.has(ack)) {
    throw new QmqError('HEADER_INVALID', `SUBSCRIBE ack:${h.ack} is not valid; use auto, client or client-individual`);
  }
  const dests = resolveDestinations(ctx, destText);
  if (dests.length !== 1) {
    throw new QmqError('INVALID_DESTINATION', `cannot subscribe to "${destText}": a composite subscription must use one kind of destination`);
  }
  const destination = dests[0];
  // ActiveMQ also accepts the older `durable-subscriber-name`.
  const durableName = h['activemq.subscriptionName'] ?? h['durable-subscriber-name'];
  const browser = flag(h.browser);
  const isTopic = destination.kind === 'topic' || destination.kind === 'temp-topic';
  const defaultPrefetch = browser
    ? DEFAULT_PREFETCH.browser
    : durableName
      ? DEFAULT_PREFETCH.durable
      : isTopic
        ? DEFAULT_PREFETCH.topic
        : DEFAULT_PREFETCH.queue;
  const prefetch = intOption('activemq.prefetchSize', h['activemq.prefetchSize']) ?? intOption('prefetch-count', h['prefetch-count']) ?? defaultPrefetch;
  const req: SubscribeRequest = {
    id,
    destination,
    ackMode: ack,
    // STOMP has no pull: ActiveMQ 5.17 accepts prefetch 0 and then delivers nothing (compat
    // prefetchZero). 1 is the smallest window that delivers at all.
    prefetch: Math.max(1, prefetch),
    startPaused: true,
  };
  if (h.selector !== undefined && h.selector.trim() !== '') req.selector = h.selector;
  if (durableName !== undefined) req.durableName = durableName;
  if (flag(h['activemq.exclusive'])) req.exclusive = true;
  if (flag(h['activemq.noLocal'])) req.noLocal = true;
  const prio = intOption('activemq.priority', h['activemq.priority']);
  if (prio !== undefined) req.consumerPriority = prio;
  if (browser) req.browser = true;

  const sub = ctx.core.subscribe(req, ctx.sinkFor(id, ack, destination, h.id !== undefined));
  ctx.subscriptions.set(id, { id, ackMode: ack, durableName });
  // Dispatch starts only after the RECEIPT is on the wire (ActiveMQ does the same).
  return () => sub.start();
};

export const handleUnsubscribe: FrameHandler = async (ctx, _frame, h) => {
  const durableName = h['activemq.subscriptionName'] ?? h['durable-subscriber-name'];
  const id = h.id ?? (ctx.version === '1.0' ? h.destination : undefined);
  if (id === undefined && durableName === undefined) {
    throw new QmqError('MISSING_HEADER', 'UNSUBSCRIBE frame is missing the required "id" header');
  }
  if (id !== undefined && ctx.subscriptions.has(id)) {
    ctx.subscriptions.delete(id);
    ctx.core.unsubscribe(id);
  } else if (durableName === undefined) {
    throw new QmqError('UNKNOWN_SUBSCRIPTION', `no subscription with id "${id}" on this connection`);
  }
  // ActiveMQ: UNSUBSCRIBE carrying the subscription name destroys the durable subscription.
  if (durableName !== undefined) await ctx.core.removeDurableSubscription(durableName);
};
