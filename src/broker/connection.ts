import type { BrokerConfig } from '../config/types.js';
import type { MessageStore, StoreOp } from '../store/message-store.js';
import type { Clock } from '../util/clock.js';
import { QmqError, toQmqError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Settlement } from './acks.js';
import type {
  Connection,
  ConnectInfo,
  DeliverySink,
  SendRequest,
  SubscribeRequest,
  Subscription,
} from './api.js';
import { deleteDestination } from './destination-admin.js';
import { authorizationFailure, type Principal } from './authorization.js';
import { checkNotSchedulerManagement, planSchedule } from './schedule-plan.js';
import type { ConnectionStats } from './stats.js';
import type { Scheduler } from './scheduler.js';
import { DestinationRegistry } from './destinations.js';
import type { DuplicateFilter } from './duplicate-filter.js';
import type { DurableSubscriptions } from './durable.js';
import { destinationKey, type DestinationRef, type Message } from './message.js';
import type { MessageQueue } from './queue.js';
import { expandComposite, storeHoldsBatch, type Router, type Target } from './routing.js';
import { compileSelector, type Selector } from './selector/index.js';
import { Consumer, type InflightDelivery } from './subscription.js';
import type { TopicRouter, TopicSubscriber } from './topic.js';
import { TransactionTable } from './transactions.js';
import { isWildcard } from './wildcard.js';

/** What a connection uses of the broker. */
export interface BrokerServices {
  config: BrokerConfig;
  store: MessageStore;
  clock: Clock;
  logger: Logger;
  registry: DestinationRegistry;
  topics: TopicRouter;
  durables: DurableSubscriptions;
  router: Router;
  settlement: Settlement;
  duplicates: DuplicateFilter;
  /** COMMITs being stored right now, by transaction id (for in-doubt status queries). */
  commitsInFlight: Map<string, Promise<unknown>>;
  /** Delayed delivery, when `schedulerSupport` is on. */
  scheduler?: Scheduler;
  connectionClosed(conn: BrokerConnection): void;
}

interface ConsumerRecord {
  consumer: Consumer;
  /** Undoes what subscribing set up (topic buffers, durable attachment). */
  teardown(): void;
}

const DEFAULT_PRIORITY = 4;

/** A non-durable topic subscription's private buffer, fed by the TopicRouter. */
class TopicBuffer implements TopicSubscriber {
  readonly durable = false;
  constructor(
    readonly pattern: DestinationRef,
    readonly queue: MessageQueue,
    readonly selector: Selector | undefined,
    readonly noLocal: boolean,
    private readonly connId: string,
  ) {}
  connectionId(): string {
    return this.connId;
  }
}

/** One client connection's view of the broker core (see `api.ts` for the contract). */
export class BrokerConnection implements Connection {
  readonly clientId: string | undefined;
  private readonly consumers = new Map<string, ConsumerRecord>();
  /** Delivery tag -> the consumer holding that unacked delivery. */
  private readonly tagOwners = new Map<number, Consumer>();
  private readonly txs = new TransactionTable();
  /** Local temp name (`kind:name`) -> broker-wide destination. */
  private readonly temps = new Map<string, DestinationRef>();
  private nextTag = 1;
  private messageCounter = 0;
  private closed = false;
  readonly connectedAt: number;

  constructor(
    readonly id: string,
    readonly info: ConnectInfo,
    private readonly svc: BrokerServices,
    /** Who the client authenticated as; what an authorization map grants (authorization.ts). */
    readonly principal: Principal = { user: info.login ?? 'anonymous', groups: [] },
  ) {
    this.clientId = info.clientId;
    this.connectedAt = svc.clock.now();
  }

  /** What the console's Connections view shows of this connection. */
  stats(): ConnectionStats {
    return {
      id: this.id,
      ...(this.clientId !== undefined ? { clientId: this.clientId } : {}),
      ...(this.info.login || this.svc.config.authentication ? { user: this.principal.user } : {}),
      protocol: this.info.protocol,
      remoteAddress: this.info.remoteAddress,
      connectedAt: this.connectedAt,
      consumers: [...this.consumers.values()].map(({ consumer: c }) => ({
        id: c.req.id,
        destination: destinationKey(c.req.destination),
        ackMode: c.ackMode,
        prefetch: c.prefetch,
        ...(c.req.selector ? { selector: c.req.selector } : {}),
        ...(c.req.durableName ? { durableName: c.req.durableName } : {}),
        inflight: c.inflight.size,
      })),
    };
  }

  /**
   * ActiveMQ's AuthorizationBroker checks, a no-op without an authorization map: `op` on every
   * name of `ref`, and admin for each name that does not exist yet, since using it creates it.
   */
  private authorize(ref: DestinationRef, op: 'read' | 'write'): void {
    const cfg = this.svc.config.authorization;
    if (cfg === undefined) return;
    const refused = authorizationFailure(cfg, this.principal, ref, op);
    if (refused !== null) throw new QmqError('NOT_AUTHORIZED', refused);
    for (const d of expandComposite(ref)) {
      if (isWildcard(d.name) || this.destinationExists(d)) continue;
      const noCreate = authorizationFailure(cfg, this.principal, d, 'admin');
      if (noCreate !== null) throw new QmqError('NOT_AUTHORIZED', noCreate);
    }
  }

  private authorizeAdmin(ref: DestinationRef, verb: string): void {
    const cfg = this.svc.config.authorization;
    if (cfg === undefined) return;
    const refused = authorizationFailure(cfg, this.principal, ref, 'admin', verb);
    if (refused !== null) throw new QmqError('NOT_AUTHORIZED', refused);
  }

  private destinationExists(d: DestinationRef): boolean {
    const key = destinationKey(d);
    if (d.kind === 'temp-queue' || d.kind === 'temp-topic') return this.svc.registry.tempOwners.has(key);
    return d.kind === 'queue' ? this.svc.registry.queues.has(key) : this.svc.registry.topics.has(key);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closed) throw new QmqError('SHUTTING_DOWN', 'the connection is closed');
  }

  private buildMessage(req: SendRequest, destination: DestinationRef): Message {
    const headers = { ...req.headers };
    // reply-to travels as the canonical key (`queue://x`, `temp-queue://ID:...`); the adapter
    // maps it back to its own form (`/queue/x`, `/remote-temp-queue/ID:...`) when rendering.
    if (req.replyTo) headers['reply-to'] = destinationKey(req.replyTo);
    const priority = req.priority === undefined || !Number.isFinite(req.priority) ? DEFAULT_PRIORITY : Math.min(9, Math.max(0, Math.trunc(req.priority)));
    return {
      id: req.messageId ?? `ID:${this.id}:1:1:${++this.messageCounter}`,
      destination,
      headers,
      body: req.body,
      bodyIsBytes: req.bodyIsBytes,
      persistent: req.persistent,
      priority,
      expires: req.expires ?? 0,
      timestamp: this.svc.clock.now(),
      redeliveryCount: 0,
      producerId: req.producerId,
      producerSeq: req.producerSeq,
    };
  }

  async send(req: SendRequest, txId?: string): Promise<void> {
    this.assertOpen();
    this.authorize(req.destination, 'write');
    const destinations = expandComposite(req.destination);
    if (this.svc.scheduler) checkNotSchedulerManagement(destinations.map((d) => d.name));
    const message = this.buildMessage(req, destinations.length === 1 ? destinations[0] : req.destination);
    if (txId !== undefined) {
      const tx = this.txs.get(txId);
      for (const d of destinations) this.checkSendable(d);
      // Checked now, so a bad schedule fails the SEND, not the COMMIT; scheduled at commit.
      if (this.svc.scheduler) planSchedule(message.headers, this.svc.clock.now());
      tx.sends.push({ destinations, message });
      return;
    }
    const { producerId, producerSeq } = req;
    if (this.svc.duplicates.isDuplicate(producerId, producerSeq)) {
      // Dropped, but answered only as the original is: its write may still fail.
      try {
        await this.svc.duplicates.inFlight(producerId, producerSeq);
      } catch (err) {
        throw toQmqError(err);
      }
      return;
    }
    const scheduled = this.scheduling(message);
    const undo = producerId !== undefined && producerSeq !== undefined ? this.svc.duplicates.accept(producerId, producerSeq) : undefined;
    const ops: StoreOp[] = undo && req.persistent ? [{ type: 'producer-seq', producerId: producerId!, seq: producerSeq! }] : [];
    if (scheduled) ops.push(scheduled.op);
    let queues: MessageQueue[];
    try {
      const targets = scheduled ? [] : destinations.flatMap((d) => this.svc.router.targetsFor(d, message, this.id));
      const stored = this.svc.router.storeAndOffer(targets, ops);
      // Stored in doubt counts as stored, as for any send (storeHoldsBatch).
      if (scheduled) void stored.then(scheduled.stored, (e: unknown) => (storeHoldsBatch(e) ? scheduled.stored() : undefined));
      if (undo) this.svc.duplicates.track(producerId!, producerSeq!, stored.then(() => undefined));
      queues = await stored;
    } catch (err) {
      // Stored in doubt: the client resends with the same seq, and the mark must drop that copy.
      if (!storeHoldsBatch(err)) undo?.();
      throw toQmqError(err);
    }
    // Producer flow control: the send is accepted, but its completion waits for memory.
    await Promise.all(queues.map((q) => q.usage.waitForSpace()));
  }

  /**
   * With `schedulerSupport`, a message asking for delayed or repeated delivery is stored with the
   * scheduler instead of its destination (ActiveMQ's SchedulerBroker); undefined otherwise.
   */
  private scheduling(message: Message): { op: StoreOp; stored: () => void } | undefined {
    const scheduler = this.svc.scheduler;
    if (!scheduler) return undefined;
    const plan = planSchedule(message.headers, this.svc.clock.now());
    return plan ? scheduler.prepare(message, plan) : undefined;
  }

  private checkSendable(d: DestinationRef): void {
    if ((d.kind === 'temp-queue' || d.kind === 'temp-topic') && !this.svc.registry.tempOwners.has(destinationKey(d))) {
      throw new QmqError('INVALID_DESTINATION', `the temporary destination ${d.name} does not exist (its connection has closed)`);
    }
  }

  subscribe(req: SubscribeRequest, sink: DeliverySink): Subscription {
    this.assertOpen();
    if (this.consumers.has(req.id)) throw new QmqError('SUBSCRIPTION_EXISTS', `subscription id "${req.id}" is already in use on this connection`);
    const selector = req.selector !== undefined && req.selector.trim() !== '' ? compileSelector(req.selector) : undefined;
    const destinations = expandComposite(req.destination);
    this.authorize(req.destination, 'read');
    const isQueue = req.destination.kind === 'queue' || req.destination.kind === 'temp-queue';
    if (req.durableName !== undefined && req.durableName !== '') {
      // ActiveMQ STOMP: activemq.subscriptionName is only for topics.
      if (isQueue) throw new QmqError('DURABLE_ON_QUEUE', `a durable subscription needs a topic, not the queue ${req.destination.name}`);
      if (!this.clientId) throw new QmqError('CLIENT_ID_REQUIRED', 'a durable subscription needs a client-id on CONNECT');
      if (destinations.length !== 1) throw new QmqError('INVALID_DESTINATION', 'a durable subscription takes exactly one topic');
    }
    for (const d of destinations) {
      DestinationRegistry.validateName(d);
      if (d.kind === 'temp-queue' || d.kind === 'temp-topic') {
        const owner = this.svc.registry.tempOwners.get(destinationKey(d));
        if (owner === undefined) throw new QmqError('INVALID_DESTINATION', `the temporary destination ${d.name} does not exist`);
        // JMS: only the connection that created a temporary destination may consume from it.
        if (owner !== this.id) throw new QmqError('INVALID_DESTINATION', `the temporary destination ${d.name} belongs to another connection`);
      }
    }

    const consumer = new Consumer(this.id, req, sink, selector, {
      nextTag: () => this.nextTag++,
      consumedOnDispatch: (q, e) => this.svc.settlement.consumedOnDispatch(q, e),
      delivered: (tag, c) => this.tagOwners.set(tag, c),
      onSinkError: (err) => this.svc.logger.error({ err, subscription: req.id }, 'the delivery sink threw'),
    });

    if (req.browser) {
      if (!isQueue) throw new QmqError('INVALID_DESTINATION', 'only queues can be browsed');
      const queues = destinations.map((d) => this.queueFor(d));
      this.consumers.set(req.id, { consumer, teardown: () => undefined });
      const run = () => void this.browse(consumer, queues, sink);
      if (req.startPaused) consumer.onStart = run;
      else queueMicrotask(run);
      return consumer;
    }

    const teardowns: Array<() => void> = [];
    if (isQueue) {
      for (const d of destinations) {
        if (d.kind === 'queue' && isWildcard(d.name)) {
          this.svc.registry.addWildcardConsumer(d.name, consumer);
          teardowns.push(() => this.svc.registry.removeWildcardConsumer(consumer));
          continue;
        }
        const q = this.queueFor(d);
        consumer.queues.push(q);
        q.attach(consumer);
      }
      teardowns.push(() => {
        for (const q of consumer.queues) q.detach(consumer);
      });
    } else if (req.durableName) {
      this.svc.durables.attach(
        { clientId: this.clientId!, name: req.durableName, destination: destinations[0], selector: selector?.text, noLocal: req.noLocal || undefined },
        selector,
        consumer,
      );
      teardowns.push(() => this.svc.durables.detach(consumer));
    } else {
      for (const d of destinations) {
        if (d.kind === 'topic') this.svc.registry.topic(d, true);
        const buffer = new TopicBuffer(d, this.svc.registry.newQueue(d, undefined), selector, req.noLocal ?? false, this.id);
        this.svc.topics.add(buffer);
        consumer.queues.push(buffer.queue);
        buffer.queue.attach(consumer);
        teardowns.push(() => {
          this.svc.topics.remove(buffer);
          buffer.queue.detach(consumer);
          buffer.queue.close();
        });
      }
    }
    this.consumers.set(req.id, { consumer, teardown: () => teardowns.forEach((t) => t()) });
    return consumer;
  }

  private queueFor(d: DestinationRef): MessageQueue {
    const q = this.svc.registry.queue(d, d.kind === 'queue');
    if (!q) throw new QmqError('INVALID_DESTINATION', `the temporary queue ${d.name} does not exist`);
    return q;
  }

  private async browse(consumer: Consumer, queues: MessageQueue[], sink: DeliverySink): Promise<void> {
    try {
      for (const q of queues) {
        for (const e of await q.browse()) {
          if (consumer.closed) return;
          if (!consumer.accepts(e)) continue;
          // Browsed messages are neither locked nor acked: the tag is never registered.
          sink.deliver({ tag: this.nextTag++, subscriptionId: consumer.id, message: e.message, redelivered: e.message.redeliveryCount > 0 });
        }
      }
    } catch (err) {
      this.svc.logger.error({ err, subscription: consumer.id }, 'browsing failed');
    }
    if (!consumer.closed) sink.browseEnd?.();
  }

  unsubscribe(subscriptionId: string, opts?: { deliveredThroughTag?: number }): void {
    this.assertOpen();
    const rec = this.consumers.get(subscriptionId);
    if (!rec) throw new QmqError('UNKNOWN_SUBSCRIPTION', `no subscription with id "${subscriptionId}" on this connection`);
    this.detach(rec, opts?.deliveredThroughTag);
  }

  private detach(rec: ConsumerRecord, deliveredThroughTag = Number.POSITIVE_INFINITY): void {
    const c = rec.consumer;
    this.consumers.delete(c.id);
    c.closed = true;
    for (const tag of c.inflight.keys()) this.tagOwners.delete(tag);
    rec.teardown();
    this.svc.settlement.returnAll(c, deliveredThroughTag);
  }

  durableSubscriptions(): { name: string; destination: DestinationRef; selector?: string }[] {
    this.assertOpen();
    const out: { name: string; destination: DestinationRef; selector?: string }[] = [];
    for (const s of this.svc.durables.byKey.values()) {
      if (s.record.clientId !== this.clientId) continue;
      out.push({ name: s.record.name, destination: s.record.destination, ...(s.record.selector ? { selector: s.record.selector } : {}) });
    }
    return out;
  }

  async removeDurableSubscription(name: string): Promise<void> {
    this.assertOpen();
    if (!this.clientId) throw new QmqError('CLIENT_ID_REQUIRED', 'removing a durable subscription needs a client-id on CONNECT');
    await this.svc.durables.remove(this.clientId, name);
  }

  private delivery(tag: number) {
    const consumer = this.tagOwners.get(tag);
    const d = consumer?.inflight.get(tag);
    if (!consumer || !d) {
      throw new QmqError('UNKNOWN_MESSAGE', `no unacknowledged delivery with tag ${tag} on this connection (already acknowledged, never delivered, or its subscription is gone)`);
    }
    return { consumer, d };
  }

  async ack(tag: number, txId?: string): Promise<void> {
    this.assertOpen();
    const { consumer } = this.delivery(tag);
    const tx = txId !== undefined ? this.txs.get(txId) : undefined;
    const covered = consumer.coveredBy(tag);
    if (tx) {
      for (const d of covered) {
        consumer.markTxAcked(d, tx.id);
        tx.acks.push({ consumer, delivery: d });
      }
      return;
    }
    for (const d of covered) this.tagOwners.delete(d.tag);
    await this.svc.settlement.ack(consumer, covered);
  }

  async nack(tag: number, txId?: string): Promise<void> {
    this.assertOpen();
    const { consumer, d } = this.delivery(tag);
    if (txId !== undefined) {
      const tx = this.txs.get(txId);
      consumer.markTxAcked(d, tx.id);
      tx.nacks.push({ consumer, delivery: d });
      return;
    }
    this.tagOwners.delete(tag);
    await this.svc.settlement.nack(consumer, d);
  }

  async poison(tag: number, cause?: string): Promise<void> {
    this.assertOpen();
    const { consumer, d } = this.delivery(tag);
    this.tagOwners.delete(tag);
    await this.svc.settlement.poison(consumer, d, cause);
  }

  releaseWindow(tag: number): void {
    this.assertOpen();
    const { consumer } = this.delivery(tag);
    consumer.releaseSlotsUpTo(tag);
  }

  begin(txId: string): void {
    this.assertOpen();
    this.txs.begin(txId);
  }

  /**
   * One atomic store batch holds every add, every ack's remove and the `tx-commit` record;
   * only after it is durable do the sends become visible.
   */
  async commit(txId: string): Promise<void> {
    this.assertOpen();
    const tx = this.txs.take(txId);
    const ops: StoreOp[] = [];
    const targets: Target[] = [];
    const undos: Array<() => void> = [];
    const scheduledAfter: Array<() => void> = [];
    try {
      for (const s of tx.sends) {
        const { producerId, producerSeq } = s.message;
        if (this.svc.duplicates.isDuplicate(producerId, producerSeq)) continue;
        if (producerId !== undefined && producerSeq !== undefined) {
          undos.push(this.svc.duplicates.accept(producerId, producerSeq));
          if (s.message.persistent) ops.push({ type: 'producer-seq', producerId, seq: producerSeq });
        }
        // ActiveMQ schedules a transacted send after the commit; here, in the commit's batch.
        const scheduled = this.scheduling(s.message);
        if (scheduled) {
          ops.push(scheduled.op);
          scheduledAfter.push(scheduled.stored);
          continue;
        }
        for (const d of s.destinations) targets.push(...this.svc.router.targetsFor(d, s.message, this.id));
      }
    } catch (err) {
      undos.forEach((u) => u());
      this.abortAcks(tx.acks.concat(tx.nacks));
      throw toQmqError(err);
    }
    // Acks whose delivery went away meanwhile (acked again, or returned) are skipped.
    const live = (a: { consumer: Consumer; delivery: { tag: number } }) => a.consumer.inflight.get(a.delivery.tag) === a.delivery;
    const acks = tx.acks.filter(live);
    const nacks = tx.nacks.filter(live);
    for (const a of acks) {
      if (a.delivery.entry.stored) ops.push({ type: 'remove', queue: a.delivery.queue.storeKey!, seq: a.delivery.entry.seq });
      this.tagOwners.delete(a.delivery.tag);
      a.consumer.release([a.delivery]);
    }
    ops.push({ type: 'tx-commit', txId });
    const stored = this.svc.router.storeAndOffer(targets, ops);
    this.svc.commitsInFlight.set(txId, stored);
    try {
      await stored;
    } catch (err) {
      if (!storeHoldsBatch(err)) {
        undos.forEach((u) => u());
        // The consumed messages were not removed: give them back for redelivery.
        for (const a of acks) a.delivery.queue.returnEntry(a.delivery.entry);
        throw toQmqError(err);
      }
      // Committed in doubt: the store holds the commit (the client will find it so when it
      // asks), so the acked messages are gone; returning them would deliver them again.
      scheduledAfter.forEach((f) => f());
      await this.finishCommit(acks, nacks);
      throw toQmqError(err);
    } finally {
      if (this.svc.commitsInFlight.get(txId) === stored) this.svc.commitsInFlight.delete(txId);
    }
    scheduledAfter.forEach((f) => f());
    await this.finishCommit(acks, nacks);
  }

  private async finishCommit(
    acks: ReadonlyArray<{ delivery: InflightDelivery }>,
    nacks: ReadonlyArray<{ consumer: Consumer; delivery: InflightDelivery }>,
  ): Promise<void> {
    for (const a of acks) a.delivery.queue.settle(a.delivery.entry, true, true);
    for (const n of nacks) {
      this.tagOwners.delete(n.delivery.tag);
      await this.svc.settlement.nack(n.consumer, n.delivery);
    }
  }

  abort(txId: string): void {
    this.assertOpen();
    const tx = this.txs.take(txId);
    this.abortAcks(tx.acks.concat(tx.nacks));
  }

  private abortAcks(acks: Array<{ consumer: Consumer; delivery: InflightDelivery }>): void {
    for (const a of acks) if (a.delivery.txAckedIn !== undefined) a.consumer.clearTxAck(a.delivery);
  }

  temporaryDestination(kind: 'temp-queue' | 'temp-topic', name: string, opts?: { nameIsGlobal?: boolean }): DestinationRef {
    this.assertOpen();
    const local = `${kind}:${name}`;
    const existing = this.temps.get(local);
    if (existing) return existing;
    const ref: DestinationRef = { kind, name: opts?.nameIsGlobal === true ? name : `ID:${this.id}:${name}` };
    if (opts?.nameIsGlobal === true && this.svc.registry.tempOwners.has(destinationKey(ref))) {
      throw new QmqError('INVALID_DESTINATION', `the temporary destination ${name} already exists`);
    }
    this.authorizeAdmin(ref, 'create');
    this.svc.registry.createTemp(ref, this.id);
    this.temps.set(local, ref);
    return ref;
  }

  deleteTemporaryDestination(ref: DestinationRef): void {
    this.assertOpen();
    const key = destinationKey(ref);
    const owner = this.svc.registry.tempOwners.get(key);
    if (owner === undefined) return;
    if (owner !== this.id) throw new QmqError('INVALID_DESTINATION', `the temporary destination ${ref.name} belongs to another connection`);
    for (const rec of this.consumers.values()) {
      // JMS TemporaryQueue.delete(): "If there are existing receivers still using it, a JMSException will be thrown."
      if (expandComposite(rec.consumer.req.destination).some((d) => destinationKey(d) === key)) {
        throw new QmqError('DESTINATION_IN_USE', `the temporary destination ${ref.name} still has a consumer (${rec.consumer.id})`);
      }
    }
    this.svc.registry.deleteTemp(ref);
    for (const [local, r] of this.temps) if (destinationKey(r) === key) this.temps.delete(local);
  }

  async deleteDestination(ref: DestinationRef): Promise<void> {
    this.assertOpen();
    // AuthorizationBroker.removeDestination: admin, unless there is nothing to remove.
    if (this.destinationExists(ref)) this.authorizeAdmin(ref, 'remove');
    return deleteDestination(this.svc, ref);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Open transactions abort when their connection goes (STOMP 1.2 "BEGIN").
    for (const tx of this.txs.takeAll()) this.abortAcks(tx.acks.concat(tx.nacks));
    for (const rec of [...this.consumers.values()]) this.detach(rec);
    for (const ref of this.temps.values()) this.svc.registry.deleteTemp(ref);
    this.temps.clear();
    this.closed = true;
    this.svc.connectionClosed(this);
  }
}
