import type { Clock } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { MessageStore } from '../store/message-store.js';
import { decideDispatch } from './dispatch.js';
import { isExpired } from './expiry.js';
import type { MemoryUsage } from './flow-control.js';
import { messageSizeBytes as sizeOf, type DestinationRef } from './message.js';
import type { QueueEntry } from './queue-entry.js';

/** What a queue needs from something that consumes from it. */
export interface QueueConsumer {
  /** Unique broker-wide. */
  readonly key: string;
  readonly priority: number;
  readonly exclusive: boolean;
  room(): number;
  accepts(entry: QueueEntry): boolean;
  /** Receives an entry that the queue has already moved from pending to in-flight. */
  take(queue: MessageQueue, entry: QueueEntry): void;
}

export interface QueueContext {
  store: MessageStore;
  clock: Clock;
  logger: Logger;
  /** An entry expired while pending and left it; the broker settles it and drops or dead-letters it. */
  onExpired(queue: MessageQueue, entry: QueueEntry): void;
  /** A message was consumed (acked) from this queue; topics count their dequeues through this. */
  onConsumed(queue: MessageQueue): void;
}

/** In-memory window of pending messages: page in when it falls under the low mark. */
export const WINDOW_MAX_MESSAGES = 1000;
export const WINDOW_LOW_MESSAGES = 250;
export const WINDOW_MAX_BYTES = 32 * 1024 * 1024;
/** Browsing shows at most this many messages (ActiveMQ caps it with maxBrowsePageSize). */
export const MAX_BROWSE_MESSAGES = 10_000;

type ArrivalState = 'waiting' | 'ready' | 'cancelled';

export interface ArrivalSlot {
  ready(): void;
  cancel(): void;
}

/**
 * A message queue: a JMS queue, a temporary queue, a durable subscription's backlog or the
 * private buffer of a non-durable topic subscription. It keeps a bounded window of pending
 * messages in memory and pages the rest in from the store, orders arrivals, and applies the
 * pure dispatch decision.
 */
export class MessageQueue {
  private nextSeq: number;
  private pending: QueueEntry[] = [];
  private pendingBytes = 0;
  private readonly consumers: QueueConsumer[] = [];
  private groups = new Map<string, string>();
  private cursor = 0;
  /** Entries whose store write is in flight, in seq order: they become visible in that order. */
  private arriving: Array<{ entry: QueueEntry; state: ArrivalState }> = [];
  private arrivingHead = 0;
  /** When set, the store holds messages with seq >= this that are not in memory. */
  private pagedOutFromSeq: number | undefined;
  private pageInFlight = false;
  /** Resolves when the page-in in flight is done (a purge waits for it). */
  private pageInDone: Promise<void> = Promise.resolve();
  /**
   * An operator's change (purge, move, delete of one message) is reading the backlog and
   * removing from it: no page-in may bring those messages in meanwhile, and such changes run
   * one at a time.
   */
  private operating = false;
  private arrivedDuringRead: QueueEntry[] = [];
  private dispatchScheduled = false;
  private closed = false;

  depth = 0;
  enqueueCount = 0;
  dequeueCount = 0;
  inflight = 0;
  /** Delivered and not yet settled or returned: still in the queue, so browsers see them. */
  private readonly inflightEntries = new Set<QueueEntry>();

  constructor(
    /** The destination shown in stats (for a subscription: the subscribed topic). */
    readonly ref: DestinationRef,
    /** undefined = memory only (temporary destinations, non-durable topic subscriptions). */
    readonly storeKey: string | undefined,
    readonly usage: MemoryUsage,
    public prioritized: boolean,
    private readonly ctx: QueueContext,
    recovered?: { lastSeq: number; count: number },
  ) {
    this.nextSeq = (recovered?.lastSeq ?? 0) + 1;
    this.recoveredThroughSeq = recovered?.lastSeq ?? 0;
    if (recovered && recovered.count > 0) {
      // Recovered queues start paged out: the cursor brings messages in as consumers need them.
      this.depth = recovered.count;
      this.pagedOutFromSeq = 0;
    }
  }

  /**
   * Messages up to this seq were in the store when the broker started: an earlier master (or
   * this node before a crash) may have delivered them, and the ack may have died with it.
   * JMS lets a provider flag such messages redelivered ("likely, but not guaranteed"), so
   * consumers and history checks can tell a possible redelivery from a duplicate.
   */
  readonly recoveredThroughSeq: number;

  /** Whether a delivery of this entry must carry the redelivered flag. */
  isRedelivery(entry: QueueEntry): boolean {
    return entry.message.redeliveryCount > 0 || (entry.stored && entry.seq <= this.recoveredThroughSeq);
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  allocSeq(): number {
    return this.nextSeq++;
  }

  /** Reserves the entry's place in arrival order; it becomes visible once the slot is ready. */
  reserve(entry: QueueEntry): ArrivalSlot {
    const a = { entry, state: 'waiting' as ArrivalState };
    this.arriving.push(a);
    return {
      ready: () => {
        a.state = 'ready';
        this.drainArrivals();
      },
      cancel: () => {
        a.state = 'cancelled';
        this.drainArrivals();
      },
    };
  }

  private drainArrivals(): void {
    // A head index instead of shift(): thousands of sends may be waiting on the store at once.
    let head = this.arrivingHead;
    while (head < this.arriving.length && this.arriving[head].state !== 'waiting') {
      const a = this.arriving[head++];
      if (a.state === 'ready' && !this.closed) this.accept(a.entry);
    }
    if (head === this.arriving.length) {
      this.arriving = [];
      head = 0;
    } else if (head > 1024 && head * 2 > this.arriving.length) {
      this.arriving = this.arriving.slice(head);
      head = 0;
    }
    this.arrivingHead = head;
  }

  private accept(entry: QueueEntry): void {
    this.enqueueCount++;
    this.depth++;
    if (entry.stored) {
      if (this.pageInFlight) {
        this.arrivedDuringRead.push(entry);
        return;
      }
      // The cursor will reach it, unless a page-in already went past it while it was arriving.
      if (this.pagedOutFromSeq !== undefined && entry.seq >= this.pagedOutFromSeq) return;
      if (this.pending.length >= WINDOW_MAX_MESSAGES || this.pendingBytes >= WINDOW_MAX_BYTES) {
        // Memory bound: leave it in the store and read it back when the window drains.
        this.pagedOutFromSeq = entry.seq;
        return;
      }
    }
    this.insertPending(entry);
    this.usage.add(entry.sizeBytes);
    this.scheduleDispatch();
  }

  private compare(a: QueueEntry, b: QueueEntry): number {
    if (this.prioritized && a.message.priority !== b.message.priority) return b.message.priority - a.message.priority;
    return a.seq - b.seq;
  }

  private insertPending(entry: QueueEntry): void {
    let lo = 0;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.pending[mid], entry) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.pending.splice(lo, 0, entry);
    this.pendingBytes += entry.sizeBytes;
  }

  attach(consumer: QueueConsumer): void {
    this.consumers.push(consumer);
    this.scheduleDispatch();
  }

  detach(consumer: QueueConsumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
    this.scheduleDispatch();
  }

  /** A delivered entry comes back (NACK, or its consumer left): it rejoins pending in order. */
  returnEntry(entry: QueueEntry): void {
    this.inflight--;
    this.inflightEntries.delete(entry);
    if (this.closed) return;
    this.insertPending(entry);
    this.scheduleDispatch();
  }

  /**
   * An entry leaves the queue for good: acked (`consumed`), expired, or dead-lettered. Store
   * removal is the caller's job.
   */
  settle(entry: QueueEntry, wasInflight: boolean, consumed: boolean): void {
    if (wasInflight) {
      this.inflight--;
      this.inflightEntries.delete(entry);
    }
    this.depth--;
    if (consumed) {
      this.dequeueCount++;
      this.ctx.onConsumed(this);
    }
    this.usage.release(entry.sizeBytes);
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.closed) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Drops expired entries from pending; also run by the broker's periodic sweep. */
  sweepExpired(): void {
    const now = this.ctx.clock.now();
    if (!this.pending.some((e) => isExpired(e.message, now))) return;
    const keep: QueueEntry[] = [];
    const expired: QueueEntry[] = [];
    for (const e of this.pending) (isExpired(e.message, now) ? expired : keep).push(e);
    this.pending = keep;
    for (const e of expired) {
      this.pendingBytes -= e.sizeBytes;
      this.ctx.onExpired(this, e);
    }
  }

  private dispatch(): void {
    if (this.closed) return;
    this.sweepExpired();
    this.maybePageIn();
    if (this.consumers.length === 0 || this.pending.length === 0) return;
    const decision = decideDispatch({
      pending: this.pending,
      consumers: this.consumers.map((c) => ({
        id: c.key,
        priority: c.priority,
        exclusive: c.exclusive,
        room: c.room(),
        accepts: (e: QueueEntry) => c.accepts(e),
      })),
      groups: this.groups,
      cursor: this.cursor,
      group: (e) => {
        const id = e.message.headers['JMSXGroupID'];
        if (id === undefined || id === '') return undefined;
        return { id, closes: e.message.headers['JMSXGroupSeq'] === '-1' };
      },
    });
    this.groups = decision.groups;
    this.cursor = decision.cursor;
    if (decision.assignments.length === 0) return;
    const assigned = decision.assignments;
    const entries = assigned.map((a) => ({ entry: this.pending[a.index], key: a.consumerId }));
    // Assignments come in ascending index order; in the usual FIFO case they are a prefix of
    // pending, cut with one splice instead of rebuilding a window of up to 1000 entries per round.
    if (assigned[assigned.length - 1].index === assigned.length - 1) {
      this.pending.splice(0, assigned.length);
    } else {
      const taken = new Set(assigned.map((a) => a.index));
      this.pending = this.pending.filter((_, i) => !taken.has(i));
    }
    const only = this.consumers.length === 1 ? this.consumers[0] : undefined;
    const byKey = only ? undefined : new Map(this.consumers.map((c) => [c.key, c]));
    for (const { entry, key } of entries) {
      this.pendingBytes -= entry.sizeBytes;
      this.inflight++;
      this.inflightEntries.add(entry);
      (only ?? byKey!.get(key)!).take(this, entry);
    }
    this.maybePageIn();
  }

  /** Seqs reserved but not yet accepted (their store write has not resolved). */
  private arrivingSeqs(): Set<number> {
    const seqs = new Set<number>();
    for (let i = this.arrivingHead; i < this.arriving.length; i++) seqs.add(this.arriving[i].entry.seq);
    return seqs;
  }

  private maybePageIn(): void {
    if (this.pagedOutFromSeq === undefined || this.pageInFlight || this.operating || this.storeKey === undefined) return;
    if (this.consumers.length === 0 || this.pending.length >= WINDOW_LOW_MESSAGES) return;
    const from = this.pagedOutFromSeq;
    const want = WINDOW_MAX_MESSAGES - this.pending.length;
    this.pageInFlight = true;
    this.pageInDone = this.ctx.store.read(this.storeKey, from, want).then(
      (rows) => {
        this.pageInFlight = false;
        if (this.closed) return;
        const loaded = new Set<number>();
        // A send's record reaches the store before its write resolves (a replicated store waits
        // for the slaves after the local write). Such an entry is still arriving and accept()
        // brings it in; loading it here as well delivered it twice, the second time unflagged.
        const arriving = this.arrivingSeqs();
        for (const row of rows) {
          if (row.seq < from || arriving.has(row.seq)) continue;
          loaded.add(row.seq);
          const entry: QueueEntry = { seq: row.seq, message: row.message, sizeBytes: sizeOf(row.message), stored: true };
          this.insertPending(entry);
          this.usage.add(entry.sizeBytes);
        }
        if (rows.length < want) {
          // The backlog is exhausted; what arrived during the read is in memory from now on.
          this.pagedOutFromSeq = undefined;
          for (const e of this.arrivedDuringRead) {
            if (loaded.has(e.seq)) continue;
            this.insertPending(e);
            this.usage.add(e.sizeBytes);
          }
        } else {
          this.pagedOutFromSeq = rows[rows.length - 1].seq + 1;
          // Accepted during the read but missing from its rows: the cursor is past them now.
          for (const e of this.arrivedDuringRead) {
            if (loaded.has(e.seq) || e.seq >= this.pagedOutFromSeq) continue;
            this.insertPending(e);
            this.usage.add(e.sizeBytes);
          }
        }
        this.arrivedDuringRead = [];
        this.scheduleDispatch();
      },
      (err: unknown) => {
        this.pageInFlight = false;
        this.ctx.logger.error({ err, queue: this.storeKey }, 'paging messages in from the store failed');
      },
    );
  }

  /**
   * A snapshot for a browser: every message still in the queue, in queue order, without
   * consuming or locking anything. Delivered but unacknowledged ones count, as ActiveMQ's
   * browser shows them (compat `browseWithUnacked`); then the paged-out backlog from the store,
   * whose seqs all lie above what is in memory.
   */
  async browse(): Promise<QueueEntry[]> {
    const now = this.ctx.clock.now();
    const inMemory = this.inflightEntries.size === 0 ? this.pending : [...this.pending, ...this.inflightEntries].sort((a, b) => this.compare(a, b));
    const out = inMemory.filter((e) => !isExpired(e.message, now));
    if (this.pagedOutFromSeq !== undefined && this.storeKey !== undefined) {
      let from = this.pagedOutFromSeq;
      while (out.length < MAX_BROWSE_MESSAGES) {
        const rows = await this.ctx.store.read(this.storeKey, from, Math.min(1000, MAX_BROWSE_MESSAGES - out.length));
        if (rows.length === 0) break;
        for (const r of rows) {
          if (!isExpired(r.message, now)) out.push({ seq: r.seq, message: r.message, sizeBytes: 0, stored: true });
        }
        from = rows[rows.length - 1].seq + 1;
      }
    }
    return out.slice(0, MAX_BROWSE_MESSAGES);
  }

  /**
   * Removes every message waiting in the queue, in memory and paged out, and returns how many.
   * Deliveries not yet acknowledged are left alone (RabbitMQ's queue.purge; ActiveMQ's purge
   * also drops them, and their later acks find nothing), as are sends whose store write is
   * still in flight: they arrived after the purge began.
   */
  async purge(): Promise<number> {
    return this.exclusively(async () => {
      const taken = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      const ops: { type: 'remove'; queue: string; seq: number }[] = [];
      for (const e of taken) {
        this.depth--;
        this.usage.release(e.sizeBytes);
        if (e.stored && this.storeKey !== undefined) ops.push({ type: 'remove', queue: this.storeKey, seq: e.seq });
      }
      let purged = taken.length;
      const backlog = this.pagedOutFromSeq;
      if (backlog !== undefined && this.storeKey !== undefined) {
        // Everything at or above this seq was sent after the purge began.
        const endSeq = this.nextSeq;
        const arriving = this.arrivingSeqs();
        for (let from = backlog; ; ) {
          const rows = await this.ctx.store.read(this.storeKey, from, 1000);
          const inRange = rows.filter((r) => r.seq < endSeq);
          for (const r of inRange) {
            if (arriving.has(r.seq)) continue;
            ops.push({ type: 'remove', queue: this.storeKey, seq: r.seq });
            this.depth--;
            purged++;
          }
          if (rows.length < 1000 || inRange.length < rows.length) break;
          from = rows[rows.length - 1].seq + 1;
        }
      }
      for (let i = 0; i < ops.length; i += 1000) await this.ctx.store.write(ops.slice(i, i + 1000));
      return purged;
    });
  }

  /**
   * Takes one waiting message (by message id) out of the queue for an operator: `apply` gets
   * it and must write its removal to the store (with whatever else: a copy elsewhere). If
   * `apply` fails, the message stays. False when no waiting message has that id (a delivered,
   * unacknowledged one is not waiting).
   */
  async takeWaiting(messageId: string, apply: (entry: QueueEntry) => Promise<void>): Promise<boolean> {
    return this.exclusively(async () => {
      const i = this.pending.findIndex((e) => e.message.id === messageId);
      if (i >= 0) {
        const [entry] = this.pending.splice(i, 1);
        this.pendingBytes -= entry.sizeBytes;
        try {
          await apply(entry);
        } catch (e) {
          if (!this.closed) this.insertPending(entry);
          throw e;
        }
        this.depth--;
        this.usage.release(entry.sizeBytes);
        return true;
      }
      if (this.pagedOutFromSeq === undefined || this.storeKey === undefined) return false;
      const arriving = this.arrivingSeqs();
      for (let from = this.pagedOutFromSeq; ; ) {
        const rows = await this.ctx.store.read(this.storeKey, from, 1000);
        const row = rows.find((r) => r.message.id === messageId && !arriving.has(r.seq));
        if (row) {
          await apply({ seq: row.seq, message: row.message, sizeBytes: sizeOf(row.message), stored: true });
          this.depth--;
          return true;
        }
        if (rows.length < 1000) return false;
        from = rows[rows.length - 1].seq + 1;
      }
    });
  }

  /** Runs an operator's change with page-ins held off; one change at a time. */
  private async exclusively<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new QmqError('UNKNOWN_DESTINATION', `the ${this.ref.kind} ${this.ref.name} was deleted`);
    if (this.operating) throw new QmqError('DESTINATION_IN_USE', `another change to ${this.ref.kind} ${this.ref.name} is running; try again`);
    this.operating = true;
    try {
      await this.pageInDone;
      return await fn();
    } finally {
      this.operating = false;
      this.scheduleDispatch();
    }
  }

  /** Drops everything held in memory; the queue takes nothing more. Store cleanup is the caller's. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.inflightEntries.clear();
    this.arriving = [];
    this.arrivingHead = 0;
    this.arrivedDuringRead = [];
    this.usage.dispose();
  }
}
