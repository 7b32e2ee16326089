import type { MessageStore, RecoveredQueue, StoreOp } from '../store/message-store.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { DestinationRef, Message } from './message.js';
import { expandComposite, type Router } from './routing.js';
import { nextDelivery, withoutScheduling, type SchedulePlan } from './schedule-plan.js';

/** A scheduled message as an operator sees it. */
export interface ScheduledJob {
  /** The scheduled message's id; its deliveries name it in `scheduledJobId`. */
  jobId: string;
  nextAt: number;
  periodMs: number;
  repeatsLeft: number;
  /** Without the scheduling headers. */
  message: Message;
}

/** The store queue that holds scheduled messages, each under the seq it was given here. */
export const SCHEDULE_QUEUE = 'sched://';
const AT = 'qmq-scheduled-at';
const LEFT = 'qmq-scheduled-left';
const FIRED = 'qmq-scheduled-fired';
/** A timer is armed at most this far ahead (Node's limit is about 24.8 days); it re-arms. */
const MAX_TIMER_MS = 24 * 3600 * 1000;
/** A delivery that failed (the store refused it) is tried again this much later. */
const RETRY_MS = 1000;

/**
 * Holds scheduled messages (`schedule-plan.ts`) in the store until they are due, then sends
 * them to their destination: the delivered copy, the removal of the scheduled one and, for a
 * repeat, its next occurrence are one store batch, so a crash neither loses nor doubles a
 * delivery. Only seqs and due times are kept in memory; each message is read back when due.
 * It runs on the master only (it is part of the core), and a new master picks the schedule
 * up from the store.
 */
export class Scheduler {
  private nextSeq = 1;
  /** Due entries, soonest first, with the job id (the scheduled message's id). */
  private due: { seq: number; at: number; jobId: string }[] = [];
  private timer: TimerHandle | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private firing = false;
  private closed = false;

  constructor(
    private readonly store: MessageStore,
    private readonly router: Router,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.due.length;
  }

  /** Loads the stored schedule (after a restart or a failover) and arms the timer. */
  async recover(queue: RecoveredQueue | undefined): Promise<void> {
    if (!queue) return;
    this.nextSeq = queue.lastSeq + 1;
    for (let from = 0; ; ) {
      const rows = await this.store.read(SCHEDULE_QUEUE, from, 1000);
      for (const r of rows) this.insert(r.seq, Number(r.message.headers[AT]) || this.clock.now(), r.message.id);
      if (rows.length < 1000) break;
      from = rows[rows.length - 1].seq + 1;
    }
    if (this.due.length > 0) this.logger.info({ scheduled: this.due.length }, 'scheduled messages recovered');
    this.arm();
  }

  /**
   * The store op that schedules `message` (whose destination is where it will go), and what to
   * call once that op is stored. The caller writes the op in its own batch (with the producer's
   * sequence mark, or a transaction's commit).
   */
  prepare(message: Message, plan: SchedulePlan): { op: StoreOp; stored: () => void } {
    const seq = this.nextSeq++;
    const headers = { ...message.headers, [AT]: String(plan.firstAt), [LEFT]: String(plan.repeat), [FIRED]: '0' };
    return {
      op: { type: 'add', queue: SCHEDULE_QUEUE, seq, message: { ...message, headers } },
      stored: () => {
        this.insert(seq, plan.firstAt, message.id);
        this.arm();
      },
    };
  }

  private insert(seq: number, at: number, jobId: string): void {
    let i = this.due.length;
    while (i > 0 && this.due[i - 1].at > at) i--;
    this.due.splice(i, 0, { seq, at, jobId });
  }

  /** The next `limit` scheduled messages, soonest first (ActiveMQ's console "Scheduled" view). */
  async list(limit: number): Promise<ScheduledJob[]> {
    const out: ScheduledJob[] = [];
    for (const e of this.due.slice(0, Math.max(0, limit))) {
      const [row] = await this.store.read(SCHEDULE_QUEUE, e.seq, 1);
      if (!row || row.seq !== e.seq) continue;
      const h = row.message.headers;
      out.push({ jobId: e.jobId, nextAt: e.at, periodMs: Number(h.AMQ_SCHEDULED_PERIOD) || 0, repeatsLeft: Number(h[LEFT]) || 0, message: { ...row.message, headers: withoutScheduling(h) } });
    }
    return out;
  }

  /** Cancels a scheduled message, and its repeats; false when no job has that id. */
  async remove(jobId: string): Promise<boolean> {
    const i = this.due.findIndex((e) => e.jobId === jobId);
    if (i < 0) return false;
    const [e] = this.due.splice(i, 1);
    try {
      await this.router.storeAndOffer([], [{ type: 'remove', queue: SCHEDULE_QUEUE, seq: e.seq }]);
    } catch (err) {
      this.insert(e.seq, e.at, e.jobId);
      throw err;
    }
    this.logger.info({ jobId }, 'scheduled message removed');
    return true;
  }

  private arm(): void {
    if (this.closed || this.firing || this.due.length === 0) return;
    const at = this.due[0].at;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.schedule(Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock.now())), () => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      void this.fireDue();
    });
  }

  private async fireDue(): Promise<void> {
    if (this.firing || this.closed) return;
    this.firing = true;
    try {
      while (!this.closed && this.due.length > 0 && this.due[0].at <= this.clock.now()) {
        const { seq, at, jobId } = this.due.shift()!;
        try {
          await this.deliver(seq, at);
        } catch (err) {
          this.logger.error({ err, seq }, 'delivering a scheduled message failed; trying again shortly');
          this.insert(seq, this.clock.now() + RETRY_MS, jobId);
        }
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  }

  private async deliver(seq: number, at: number): Promise<void> {
    const [row] = await this.store.read(SCHEDULE_QUEUE, seq, 1);
    if (!row || row.seq !== seq) return; // removed meanwhile
    const stored = row.message;
    const fired = Number(stored.headers[FIRED]) || 0;
    const period = Number(stored.headers.AMQ_SCHEDULED_PERIOD) || 0;
    const next = nextDelivery(at, period, Number(stored.headers[LEFT]) || 0);
    const repeating = next !== null || fired > 0;
    const now = this.clock.now();
    // As ActiveMQ's SchedulerBroker: each delivery of a repeated message has an id of its own,
    // and a time to live counts from the delivery.
    const copy: Message = {
      ...stored,
      id: repeating ? `${stored.id}:${fired + 1}` : stored.id,
      headers: { ...withoutScheduling(stored.headers), scheduledJobId: stored.id },
      timestamp: now,
      expires: stored.expires > 0 ? now + (stored.expires - stored.timestamp) : 0,
    };
    const ops: StoreOp[] = [{ type: 'remove', queue: SCHEDULE_QUEUE, seq }];
    let nextSeq: number | undefined;
    if (next) {
      nextSeq = this.nextSeq++;
      ops.push({ type: 'add', queue: SCHEDULE_QUEUE, seq: nextSeq, message: { ...stored, headers: { ...stored.headers, [AT]: String(next.at), [LEFT]: String(next.left), [FIRED]: String(fired + 1) } } });
    }
    let targets;
    try {
      targets = expandComposite(stored.destination).flatMap((d: DestinationRef) => this.router.targetsFor(d, { ...copy, destination: d }, undefined));
    } catch (err) {
      // Its destination is gone for good (a temporary queue whose connection closed): drop it.
      this.logger.warn({ err: String(err), messageId: stored.id }, 'a scheduled message has nowhere to go; dropped');
      await this.router.storeAndOffer([], [{ type: 'remove', queue: SCHEDULE_QUEUE, seq }]);
      return;
    }
    await this.router.storeAndOffer(targets, ops);
    if (next && nextSeq !== undefined) this.insert(nextSeq, next.at, stored.id);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }
}
