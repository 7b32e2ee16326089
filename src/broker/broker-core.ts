import type { BrokerConfig } from '../config/types.js';
import { durableQueueKey, type MessageStore, type RecoveredQueue } from '../store/message-store.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { RemoveBatcher, Settlement } from './acks.js';
import { authenticationFailure, principalOf } from './authentication.js';
import type { BrokerCoreApi, BrowsedMessage, ConnectInfo, Connection } from './api.js';
import { BrokerConnection, type BrokerServices } from './connection.js';
import { DestinationRegistry } from './destinations.js';
import { DuplicateFilter } from './duplicate-filter.js';
import { DurableSubscriptions } from './durable.js';
import { EXPIRY_SWEEP_INTERVAL_MS } from './expiry.js';
import { MemoryUsage } from './flow-control.js';
import { browseQueue, deleteDestination, deleteMessage, moveMessage, purgeQueue, retryMessages } from './destination-admin.js';
import { destinationKey, type DestinationRef } from './message.js';
import type { QueueContext } from './queue.js';
import { Router } from './routing.js';
import { SCHEDULE_QUEUE, Scheduler, type ScheduledJob } from './scheduler.js';
import type { BrokerStats, ConnectionStats, DestinationStats } from './stats.js';
import { TopicRouter } from './topic.js';

export interface BrokerCoreOptions {
  config: BrokerConfig;
  store: MessageStore;
  clock: Clock;
  logger: Logger;
  /** Prefix of connection and message ids; defaults to the broker name. */
  nodeId?: string;
}

/**
 * The protocol-agnostic broker: destinations, subscriptions, dispatch, acks, transactions,
 * redelivery and dead-lettering, expiry, flow control and duplicate detection. Time, storage
 * and logging come in through the options (DESIGN §2); there is no I/O of its own.
 *
 * Map of `broker/`:
 *   connection.ts      the Connection API: send, subscribe, ack/nack, transactions, temp destinations
 *   routing.ts         the send path: targets of a destination, one store batch, then visibility
 *   destinations.ts    registry of queues/topics, auto-create, temp ownership, wildcard queue consumers
 *   queue.ts           a message queue: arrival order, in-memory window + paging, applying dispatch
 *   dispatch.ts        the pure dispatch decision (prefetch, priority, exclusive, groups, selectors)
 *   subscription.ts    a consumer: prefetch window and unacked deliveries
 *   topic.ts           topic fan-out to subscriber queues (wildcards, selectors, noLocal)
 *   durable.ts         durable topic subscriptions
 *   acks.ts            ack / nack / return / dead-letter, batched store removes
 *   redelivery.ts      pure redelivery and dead-letter decisions
 *   transactions.ts    per-connection transaction buffers
 *   expiry.ts, flow-control.ts, duplicate-filter.ts, wildcard.ts, policy.ts, stats.ts
 */
export class BrokerCore implements BrokerCoreApi {
  private readonly connections = new Map<string, BrokerConnection>();
  private readonly svc: BrokerServices;
  private readonly brokerUsage: MemoryUsage;
  private readonly idPrefix: string;
  private connectionCounter = 0;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;
  private readonly remover: RemoveBatcher;

  private constructor(private readonly opts: BrokerCoreOptions, duplicates: DuplicateFilter) {
    const { config, store, clock, logger } = opts;
    this.idPrefix = `${(opts.nodeId ?? config.brokerName).replace(/[:\s]/g, '_')}-${clock.now()}`;
    this.brokerUsage = new MemoryUsage('broker', config.memoryLimitBytes > 0 ? config.memoryLimitBytes : undefined);
    // The queue context needs the settlement, which needs the registry: close the loop lazily.
    let settlement: Settlement | undefined;
    const queueContext: QueueContext = {
      store,
      clock,
      logger,
      onExpired: (queue, entry) => {
        void settlement!.deadLetter(queue, entry, 'expired', false);
      },
      onConsumed: (queue) => {
        if (queue.ref.kind !== 'topic' && queue.ref.kind !== 'temp-topic') return;
        const topic = registry.topics.get(destinationKey(queue.ref));
        if (topic) topic.dequeueCount++;
      },
    };
    const registry = new DestinationRegistry({ config, store, logger, brokerUsage: this.brokerUsage, queueContext });
    const topics = new TopicRouter();
    const router = new Router(registry, topics, store);
    this.remover = new RemoveBatcher(store);
    settlement = new Settlement(config, clock, logger, this.remover, router);
    this.svc = {
      config,
      store,
      clock,
      logger,
      registry,
      topics,
      durables: new DurableSubscriptions(registry, topics, store, logger),
      router,
      settlement,
      duplicates,
      commitsInFlight: new Map(),
      ...(config.schedulerSupport ? { scheduler: new Scheduler(store, router, clock, logger) } : {}),
      connectionClosed: (c) => this.connections.delete(c.id),
    };
  }

  async transactionStatus(txId: string): Promise<'committed' | 'not-committed'> {
    const inFlight = this.svc.commitsInFlight.get(txId);
    if (inFlight) await inFlight.catch(() => undefined);
    return (await this.svc.store.isTransactionCommitted(txId)) ? 'committed' : 'not-committed';
  }

  /** Opens the store and recovers destinations, durable subscriptions, queue backlogs and producer marks. */
  static async open(opts: BrokerCoreOptions): Promise<BrokerCore> {
    const state = await opts.store.open();
    const core = new BrokerCore(opts, new DuplicateFilter(state.producerSeqs));
    const recoveredQueues = new Map<string, RecoveredQueue>(state.queues.map((q) => [q.queue, q]));
    for (const d of state.destinations) core.svc.registry.recover(d, recoveredQueues.get(destinationKey(d)));
    // A queue with messages but no destination record still comes back.
    for (const q of state.queues) {
      if (q.queue.startsWith('queue://')) core.svc.registry.recover({ kind: 'queue', name: q.queue.slice('queue://'.length) }, q);
    }
    for (const s of state.subscriptions) core.svc.durables.recover(s, recoveredQueues.get(durableQueueKey(s.clientId, s.name)));
    const schedule = recoveredQueues.get(SCHEDULE_QUEUE);
    if (core.svc.scheduler) await core.svc.scheduler.recover(schedule);
    else if (schedule && schedule.count > 0) opts.logger.warn({ scheduled: schedule.count }, 'the store holds scheduled messages, but schedulerSupport is off: they wait until it is on again');
    core.scheduleSweep();
    opts.logger.info(
      { destinations: state.destinations.length, subscriptions: state.subscriptions.length, queues: state.queues.length, store: opts.store.kind },
      'broker core recovered',
    );
    return core;
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = this.opts.clock.schedule(EXPIRY_SWEEP_INTERVAL_MS, () => {
      this.sweepExpired();
      this.scheduleSweep();
    });
  }

  /** Drops or dead-letters every expired pending message now (also runs periodically). */
  sweepExpired(): void {
    for (const q of this.svc.registry.queues.values()) q.sweepExpired();
    for (const s of this.svc.durables.byKey.values()) s.queue.sweepExpired();
  }

  deleteDestination(ref: DestinationRef): Promise<void> {
    return deleteDestination(this.svc, ref);
  }

  purgeQueue(ref: DestinationRef): Promise<number> {
    return purgeQueue(this.svc, ref);
  }

  browseQueue(ref: DestinationRef, limit: number): Promise<BrowsedMessage[]> {
    return browseQueue(this.svc, ref, limit);
  }

  moveMessage(from: DestinationRef, messageId: string, to?: DestinationRef): Promise<DestinationRef> {
    return moveMessage(this.svc, from, messageId, to);
  }

  deleteMessage(from: DestinationRef, messageId: string): Promise<void> {
    return deleteMessage(this.svc, from, messageId);
  }

  retryMessages(from: DestinationRef): Promise<number> {
    return retryMessages(this.svc, from);
  }

  connect(info: ConnectInfo): Connection {
    if (this.closed) throw new QmqError('SHUTTING_DOWN', 'the broker is shutting down');
    const auth = this.opts.config.authentication;
    if (auth !== undefined) {
      const refused = authenticationFailure(auth, info.login, info.passcode);
      if (refused !== null) throw new QmqError('NOT_AUTHENTICATED', refused, { fatal: true });
    }
    const { passcode: _passcode, ...kept } = info;
    if (info.clientId !== undefined && info.clientId !== '') {
      for (const c of this.connections.values()) {
        // ActiveMQ: a client id may be used by one live connection at a time.
        if (c.clientId === info.clientId) throw new QmqError('CLIENT_ID_IN_USE', `client id "${info.clientId}" is already connected`);
      }
    }
    const id = `${this.idPrefix}-${++this.connectionCounter}`;
    const conn = new BrokerConnection(id, { ...kept, clientId: info.clientId || undefined }, this.svc, principalOf(auth, info.login));
    this.connections.set(id, conn);
    return conn;
  }

  scheduledMessages(limit: number): Promise<ScheduledJob[]> {
    return this.svc.scheduler?.list(limit) ?? Promise.resolve([]);
  }

  async removeScheduled(jobId: string): Promise<void> {
    const removed = (await this.svc.scheduler?.remove(jobId)) ?? false;
    if (!removed) throw new QmqError('UNKNOWN_MESSAGE', this.svc.scheduler ? `no scheduled message has the id ${jobId}` : 'scheduled delivery is off (schedulerSupport="true" turns it on)');
  }

  /** Every open client connection with its consumers (the console's Connections view). */
  connectionStats(): ConnectionStats[] {
    return [...this.connections.values()].map((c) => c.stats());
  }

  stats(): BrokerStats {
    const destinations: DestinationStats[] = [];
    for (const q of this.svc.registry.queues.values()) {
      destinations.push({
        name: q.ref.name,
        kind: q.ref.kind,
        depth: q.depth,
        enqueueCount: q.enqueueCount,
        dequeueCount: q.dequeueCount,
        consumerCount: q.consumerCount,
        inflight: q.inflight,
        memoryBytes: q.usage.used,
      });
    }
    for (const t of this.svc.registry.topics.values()) {
      destinations.push({
        name: t.ref.name,
        kind: t.ref.kind,
        depth: 0,
        enqueueCount: t.enqueueCount,
        dequeueCount: t.dequeueCount,
        consumerCount: this.svc.topics.countFor(t.ref),
        inflight: 0,
        memoryBytes: 0,
      });
    }
    const durableSubscriptions = [...this.svc.durables.byKey.values()].map((s) => ({
      clientId: s.record.clientId,
      name: s.record.name,
      destination: destinationKey(s.record.destination),
      selector: s.record.selector,
      active: s.active !== undefined,
      depth: s.queue.depth,
      enqueueCount: s.queue.enqueueCount,
      dequeueCount: s.queue.dequeueCount,
      inflight: s.queue.inflight,
    }));
    return {
      destinations,
      durableSubscriptions,
      connections: this.connections.size,
      scheduledMessages: this.svc.scheduler?.size ?? 0,
      memory: { usedBytes: this.brokerUsage.used, limitBytes: this.opts.config.memoryLimitBytes },
    };
  }

  /** Stops dispatch, closes every connection (returning unacked messages) and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweepTimer?.cancel();
    this.svc.scheduler?.close();
    for (const c of [...this.connections.values()]) await c.close();
    this.svc.settlement.cancelTimers();
    await this.svc.router.drain();
    await this.remover.flush();
    for (const q of this.svc.registry.queues.values()) q.close();
    for (const s of this.svc.durables.byKey.values()) s.queue.close();
    await this.opts.store.close();
  }
}
