import { QmqError } from '../util/errors.js';
import type { BrowsedMessage } from './api.js';
import type { BrokerServices } from './connection.js';
import type { StoreOp } from '../store/message-store.js';
import { destinationKey, type DestinationRef, type Message } from './message.js';

function existingQueue(svc: BrokerServices, ref: DestinationRef) {
  if (ref.kind !== 'queue') throw new QmqError('INVALID_DESTINATION', `only queues can be purged or browsed here, not a ${ref.kind}`);
  const q = svc.registry.queues.get(destinationKey(ref));
  if (!q) throw new QmqError('UNKNOWN_DESTINATION', `there is no queue named ${ref.name}`);
  return q;
}

/**
 * Deletes a queue or topic and every message it holds (ActiveMQ's removeDestination, as
 * `ActiveMQConnection.destroyDestination` and the web console's "Delete" ask for it). Refused
 * while a consumer reads it, as ActiveMQ refuses with a zero timeout ("still has an active
 * subscription"), and while deliveries of it are unacknowledged. Temporary destinations go
 * through their connection, durable subscriptions through their own removal.
 */
export async function deleteDestination(svc: BrokerServices, ref: DestinationRef): Promise<void> {
  if (ref.kind !== 'queue' && ref.kind !== 'topic') throw new QmqError('INVALID_DESTINATION', `a ${ref.kind} is deleted by its connection, not by name`);
  const key = destinationKey(ref);
  const q = svc.registry.queues.get(key);
  const t = svc.registry.topics.get(key);
  if (!q && !t) throw new QmqError('UNKNOWN_DESTINATION', `there is no ${ref.kind} named ${ref.name}`);
  const consumers = q ? q.consumerCount : svc.topics.countFor(ref);
  if (consumers > 0) throw new QmqError('DESTINATION_IN_USE', `${ref.kind} ${ref.name} still has ${consumers} consumer(s); close them first`);
  if (q && q.inflight > 0) throw new QmqError('DESTINATION_IN_USE', `queue ${ref.name} has ${q.inflight} delivered message(s) not yet acknowledged`);
  await svc.registry.deleteDestination(ref);
  svc.logger.info({ destination: key }, 'destination deleted');
}

/** Removes the messages waiting in a queue (not those delivered and unacknowledged); returns how many. */
export async function purgeQueue(svc: BrokerServices, ref: DestinationRef): Promise<number> {
  const purged = await existingQueue(svc, ref).purge();
  svc.logger.info({ destination: destinationKey(ref), purged }, 'queue purged');
  return purged;
}

/** The first `limit` messages in a queue (delivered, unacknowledged ones included), in queue order, consuming nothing. */
export async function browseQueue(svc: BrokerServices, ref: DestinationRef, limit: number): Promise<BrowsedMessage[]> {
  const entries = await existingQueue(svc, ref).browse();
  return entries.slice(0, Math.max(0, limit)).map((e) => ({ seq: e.seq, message: e.message }));
}

/**
 * Moves one waiting message to `to`, or back to where it was first sent when `to` is absent
 * (the console's "Retry" of a dead letter). As ActiveMQ's `Queue.moveMessageTo` does, the copy
 * keeps its message id, names the queue it leaves as its original destination and starts
 * with no redeliveries; the add and the removal are one store batch. Returns where it went.
 */
export async function moveMessage(svc: BrokerServices, from: DestinationRef, messageId: string, to?: DestinationRef): Promise<DestinationRef> {
  const q = existingQueue(svc, from);
  let moved: DestinationRef | undefined;
  const found = await q.takeWaiting(messageId, async (entry) => {
    const dest = to ?? entry.message.originalDestination;
    if (!dest) throw new QmqError('INVALID_DESTINATION', `message ${messageId} has no original destination to retry to; move it to a named queue instead`);
    if (dest.kind === from.kind && dest.name === from.name) throw new QmqError('INVALID_DESTINATION', `message ${messageId} is already in ${from.kind} ${from.name}`);
    if (dest.kind !== 'queue' && dest.kind !== 'topic') throw new QmqError('INVALID_DESTINATION', `messages can be moved to a queue or topic, not a ${dest.kind}`);
    const copy: Message = { ...entry.message, destination: dest, originalDestination: entry.message.destination, redeliveryCount: 0 };
    const removeOps: StoreOp[] = entry.stored ? [{ type: 'remove', queue: q.storeKey!, seq: entry.seq }] : [];
    await svc.router.storeAndOffer(svc.router.targetsFor(dest, copy, undefined), removeOps);
    moved = dest;
  });
  if (!found || !moved) throw notWaiting(from, messageId);
  svc.logger.info({ messageId, from: destinationKey(from), to: destinationKey(moved) }, 'message moved');
  return moved;
}

/** Removes one waiting message for good. */
export async function deleteMessage(svc: BrokerServices, from: DestinationRef, messageId: string): Promise<void> {
  const q = existingQueue(svc, from);
  const found = await q.takeWaiting(messageId, async (entry) => {
    if (entry.stored) await svc.router.storeAndOffer([], [{ type: 'remove', queue: q.storeKey!, seq: entry.seq }]);
  });
  if (!found) throw notWaiting(from, messageId);
  svc.logger.info({ messageId, from: destinationKey(from) }, 'message deleted');
}

/**
 * Sends every waiting message of a queue (a DLQ) that knows its original destination back
 * there, one by one, as ActiveMQ's `retryMessages()`; the others stay. Returns how many moved.
 */
export async function retryMessages(svc: BrokerServices, from: DestinationRef): Promise<number> {
  const q = existingQueue(svc, from);
  let moved = 0;
  // Snapshot first: a message retried back into this very queue (a loop) is not retried twice.
  for (const e of await q.browse()) {
    if (!e.message.originalDestination) continue;
    try {
      await moveMessage(svc, from, e.message.id, undefined);
      moved++;
    } catch (err) {
      if (err instanceof QmqError && err.codeName === 'UNKNOWN_MESSAGE') continue; // consumed meanwhile
      throw err;
    }
  }
  return moved;
}

function notWaiting(from: DestinationRef, messageId: string): QmqError {
  return new QmqError('UNKNOWN_MESSAGE', `${from.kind} ${from.name} has no waiting message with id ${messageId} (a delivered, unacknowledged one cannot be changed)`);
}
