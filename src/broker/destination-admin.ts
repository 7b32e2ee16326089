import { QmqError } from '../util/errors.js';
import type { BrowsedMessage } from './api.js';
import type { BrokerServices } from './connection.js';
import { destinationKey, type DestinationRef } from './message.js';

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

/** The first `limit` messages waiting in a queue, in delivery order, without consuming them. */
export async function browseQueue(svc: BrokerServices, ref: DestinationRef, limit: number): Promise<BrowsedMessage[]> {
  const entries = await existingQueue(svc, ref).browse();
  return entries.slice(0, Math.max(0, limit)).map((e) => ({ seq: e.seq, message: e.message }));
}
