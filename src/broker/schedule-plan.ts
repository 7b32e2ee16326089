/**
 * Delayed and repeated delivery as ActiveMQ's scheduler (`schedulerSupport="true"`) reads it from
 * a message's properties:
 * - `AMQ_SCHEDULED_DELAY` ms before the first delivery;
 * - `AMQ_SCHEDULED_PERIOD` ms between repeats, and before the first delivery when there is no delay;
 * - `AMQ_SCHEDULED_REPEAT` more deliveries after the first.
 * ActiveMQ's InMemoryJobScheduler is the reference for the arithmetic. Pure, with a table test;
 * `scheduler.ts` stores and fires what this plans.
 */
import { QmqError } from '../util/errors.js';

export const SCHEDULED_DELAY = 'AMQ_SCHEDULED_DELAY';
export const SCHEDULED_PERIOD = 'AMQ_SCHEDULED_PERIOD';
export const SCHEDULED_REPEAT = 'AMQ_SCHEDULED_REPEAT';
export const SCHEDULED_CRON = 'AMQ_SCHEDULED_CRON';
/** ActiveMQ's `maxRepeatAllowed` default. */
export const MAX_REPEAT = 1000;
/** The longest delay or period accepted: about 10 years, and within a timer's reach by re-arming. */
export const MAX_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;

export interface SchedulePlan {
  /** When the first delivery is due (epoch ms). */
  firstAt: number;
  periodMs: number;
  /** Deliveries after the first. */
  repeat: number;
}

function wholeNumber(headers: Record<string, string>, name: string, max: number): number | undefined {
  const raw = headers[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new QmqError('HEADER_INVALID', `${name} must be a whole number from 0 to ${max}, not '${raw}'`);
  return n;
}

/**
 * The plan for a message, or null when it asks for no scheduling (none of the properties, or
 * all zero: delivered at once, as ActiveMQ does). Cron expressions and endless repeats are
 * refused by name rather than delivered at the wrong time.
 */
export function planSchedule(headers: Record<string, string>, now: number): SchedulePlan | null {
  if (headers[SCHEDULED_CRON] !== undefined && headers[SCHEDULED_CRON].trim() !== '') {
    throw new QmqError('HEADER_INVALID', `${SCHEDULED_CRON} is not supported; use ${SCHEDULED_DELAY}, ${SCHEDULED_PERIOD} and ${SCHEDULED_REPEAT}`);
  }
  const rawRepeat = headers[SCHEDULED_REPEAT];
  if (rawRepeat !== undefined && Number(rawRepeat) < 0) throw new QmqError('HEADER_INVALID', `${SCHEDULED_REPEAT}=${rawRepeat} (repeat for ever) is not supported; give a count up to ${MAX_REPEAT}`);
  const delay = wholeNumber(headers, SCHEDULED_DELAY, MAX_DELAY_MS) ?? 0;
  const period = wholeNumber(headers, SCHEDULED_PERIOD, MAX_DELAY_MS) ?? 0;
  const repeat = wholeNumber(headers, SCHEDULED_REPEAT, MAX_REPEAT) ?? 0;
  if (delay === 0 && period === 0 && repeat === 0) return null;
  return { firstAt: now + (delay > 0 ? delay : period), periodMs: period, repeat };
}

/** ActiveMQ's destination for browsing and removing jobs; not supported here, so refused rather than filled. */
export const SCHEDULER_MANAGEMENT = 'ActiveMQ.Scheduler.Management';

export function checkNotSchedulerManagement(names: readonly string[]): void {
  const hit = names.find((n) => n.toLowerCase().startsWith(SCHEDULER_MANAGEMENT.toLowerCase()));
  if (hit !== undefined) throw new QmqError('INVALID_DESTINATION', `${hit}: managing the scheduler through ${SCHEDULER_MANAGEMENT} is not supported`);
}

/** After a delivery due at `at` with `left` repeats to go: when the next is due, or null when done. */
export function nextDelivery(at: number, periodMs: number, left: number): { at: number; left: number } | null {
  return left > 0 ? { at: at + periodMs, left: left - 1 } : null;
}

/** What a delivered copy keeps: every property but the scheduling ones (so it is not scheduled again). */
export function withoutScheduling(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k === SCHEDULED_DELAY || k === SCHEDULED_PERIOD || k === SCHEDULED_REPEAT || k === SCHEDULED_CRON || k.startsWith('qmq-scheduled-')) continue;
    out[k] = v;
  }
  return out;
}
