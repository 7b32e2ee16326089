/**
 * The history checker: a pure function from a recorded history (sends, commits, durable
 * subscriptions, deliveries, faults) to the counts issue 8 asks for. It decides per message
 * and per receiver, never from totals, so a redelivery cannot hide a loss.
 */
import { isQueue, receiverOf, type CommitOp, type FaultOp, type HistoryOp, type Outcome, type ReceiveOp, type SendOp, type SubscribeOp } from './history.js';

/** How many example ids each list keeps; the counts are always exact. */
const EXAMPLES = 20;

export interface FailoverSample {
  kind: string;
  target: string;
  /** When the fault had taken effect. */
  atMs: number;
  /** From then to the first acknowledged send that started afterwards; null if none did. */
  failoverMs: number | null;
}

export interface CheckResult {
  /** Sends whose receipt (or whose transaction's commit receipt) arrived. */
  acked: number;
  /** Sends the broker definitely refused (ERROR, rolled-back transaction). */
  failed: number;
  /** Sends whose outcome is unknown (timeout, connection lost, in-doubt commit). */
  inDoubt: number;
  /** (message, receiver) pairs: acknowledged but never delivered to a receiver that should get it. */
  lost: number;
  /**
   * Like `lost`, on receivers that acknowledge automatically: STOMP `ack:auto` consumes a
   * message when it is dispatched, so one in flight on a dying connection is gone by design.
   */
  lostAtMostOnce: number;
  /** Deliveries after the first without the redelivered flag. */
  duplicated: number;
  /** Deliveries after the first with the redelivered flag. */
  redelivered: number;
  /** (message, receiver) pairs delivered although never sent there, or sent and definitely refused. */
  unexpected: number;
  /** In-doubt sends that were delivered after all. */
  recovered: number;
  /** Deliveries whose body failed its checksum. */
  corrupt: number;
  /** Distinct (message, receiver) pairs delivered. */
  delivered: number;
  /** Every delivery, repeats included. */
  deliveries: number;
  failovers: FailoverSample[];
  failoverMedianMs: number | null;
  failoverMaxMs: number | null;
  /** Faults after which no send was acknowledged any more. */
  unrecoveredFaults: number;
  /** The longest stretch of the run with no acknowledged send. */
  maxUnavailableMs: number;
  examples: {
    lost: Array<{ id: string; receiver: string }>;
    duplicated: Array<{ id: string; receiver: string }>;
    unexpected: Array<{ id: string; receiver: string; why: string }>;
    corrupt: Array<{ id: string; receiver: string }>;
  };
  /** Why the run fails; empty when it passes. */
  violations: string[];
}

export interface CheckOptions {
  /** Also fail on unflagged duplicates (at-least-once setups legitimately produce them after a crash). */
  failOnDuplicates?: boolean;
  /** Receivers (queues or subscriptions) with at-most-once delivery: their losses count in `lostAtMostOnce`. */
  atMostOnceReceivers?: readonly string[];
}

const RANK: Record<Outcome, number> = { failed: 0, unknown: 1, ok: 2 };

function weaker(a: Outcome, b: Outcome): Outcome {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * A transactional send takes effect only with its commit. An abort, whatever its own outcome,
 * means the transaction never committed (a broker rolls back a transaction whose connection
 * ends). No ending recorded at all: the run stopped mid-transaction, so stay in doubt.
 */
function effectiveOutcome(send: SendOp, endings: Map<string, CommitOp>): Outcome {
  if (send.tx === undefined) return send.outcome;
  const end = endings.get(send.tx);
  const txOutcome: Outcome = end === undefined ? 'unknown' : end.op === 'abort' ? 'failed' : end.outcome;
  return weaker(send.outcome, txOutcome);
}

function median(sortedValues: number[]): number | null {
  if (sortedValues.length === 0) return null;
  const mid = sortedValues.length >> 1;
  return sortedValues.length % 2 === 1 ? sortedValues[mid]! : (sortedValues[mid - 1]! + sortedValues[mid]!) / 2;
}

function pushExample<T>(list: T[], item: T): void {
  if (list.length < EXAMPLES) list.push(item);
}

export function checkHistory(history: readonly HistoryOp[], options: CheckOptions = {}): CheckResult {
  const sends = new Map<string, SendOp>();
  const endings = new Map<string, CommitOp>();
  const subscriptions: SubscribeOp[] = [];
  const faults: FaultOp[] = [];
  const receives: ReceiveOp[] = [];
  for (const op of history) {
    switch (op.op) {
      case 'send':
        // A retried send of the same id keeps the strongest outcome seen: one receipt is enough.
        {
          const prev = sends.get(op.id);
          if (!prev || RANK[op.outcome] > RANK[prev.outcome]) sends.set(op.id, op);
        }
        break;
      case 'commit':
      case 'abort':
        endings.set(op.tx, op);
        break;
      case 'subscribe':
        if (op.outcome === 'ok') subscriptions.push(op);
        break;
      case 'receive':
        receives.push(op);
        break;
      case 'fault':
        faults.push(op);
        break;
      case 'heal':
        break;
    }
  }

  const outcomeOf = new Map<string, Outcome>();
  let acked = 0;
  let failed = 0;
  let inDoubt = 0;
  for (const s of sends.values()) {
    const o = effectiveOutcome(s, endings);
    outcomeOf.set(s.id, o);
    if (o === 'ok') acked++;
    else if (o === 'failed') failed++;
    else inDoubt++;
  }

  // Deliveries per (receiver, id), in the order the application saw them.
  const byPair = new Map<string, ReceiveOp[]>();
  for (const r of [...receives].sort((a, b) => a.completeMs - b.completeMs)) {
    const key = `${receiverOf(r)}\u0000${r.id}`;
    let list = byPair.get(key);
    if (!list) byPair.set(key, (list = []));
    list.push(r);
  }

  const examples: CheckResult['examples'] = { lost: [], duplicated: [], unexpected: [], corrupt: [] };
  let duplicated = 0;
  let redelivered = 0;
  let unexpected = 0;
  let corrupt = 0;
  const deliveredIds = new Set<string>();
  const subscriptionDestination = new Map(subscriptions.map((s) => [s.subscription, s.destination]));
  for (const list of byPair.values()) {
    const first = list[0]!;
    const receiver = receiverOf(first);
    for (const r of list) {
      if (r.corrupt) {
        corrupt++;
        pushExample(examples.corrupt, { id: r.id, receiver });
      }
    }
    for (const r of list.slice(1)) {
      if (r.redelivered) redelivered++;
      else {
        duplicated++;
        pushExample(examples.duplicated, { id: r.id, receiver });
      }
    }
    const send = sends.get(first.id);
    const outcome = outcomeOf.get(first.id);
    const expectedDestination = first.subscription === undefined ? first.destination : (subscriptionDestination.get(first.subscription) ?? first.destination);
    let why: string | undefined;
    if (!send) why = 'never sent';
    else if (outcome === 'failed') why = send.tx !== undefined ? `its transaction ${send.tx} did not commit` : 'the broker refused the send';
    else if (send.destination !== expectedDestination) why = `sent to ${send.destination}`;
    if (why !== undefined) {
      unexpected++;
      pushExample(examples.unexpected, { id: first.id, receiver, why });
    } else deliveredIds.add(`${receiver}\u0000${first.id}`);
  }

  let lost = 0;
  let lostAtMostOnce = 0;
  const atMostOnce = new Set(options.atMostOnceReceivers ?? []);
  let recovered = 0;
  for (const s of sends.values()) {
    const o = outcomeOf.get(s.id)!;
    const receivers = isQueue(s.destination)
      ? [s.destination]
      : subscriptions.filter((sub) => sub.destination === s.destination && sub.completeMs <= s.invokeMs).map((sub) => sub.subscription);
    if (o === 'ok') {
      for (const receiver of receivers) {
        if (deliveredIds.has(`${receiver}\u0000${s.id}`)) continue;
        if (atMostOnce.has(receiver)) {
          lostAtMostOnce++;
          continue;
        }
        lost++;
        pushExample(examples.lost, { id: s.id, receiver });
      }
    } else if (o === 'unknown') {
      const seen = isQueue(s.destination)
        ? deliveredIds.has(`${s.destination}\u0000${s.id}`)
        : subscriptions.some((sub) => sub.destination === s.destination && deliveredIds.has(`${sub.subscription}\u0000${s.id}`));
      if (seen) recovered++;
    }
  }

  // Acknowledgements on the time line: plain sends, and commits that carried sends.
  const txWithSends = new Set([...sends.values()].filter((s) => s.tx !== undefined).map((s) => s.tx!));
  const ackTimes: Array<{ invokeMs: number; completeMs: number }> = [];
  let windowStartMs = Infinity;
  let windowEndMs = -Infinity;
  for (const s of sends.values()) {
    windowStartMs = Math.min(windowStartMs, s.invokeMs);
    windowEndMs = Math.max(windowEndMs, s.completeMs);
    if (s.tx === undefined && s.outcome === 'ok') ackTimes.push(s);
  }
  for (const c of endings.values()) {
    if (c.op === 'commit' && c.outcome === 'ok' && txWithSends.has(c.tx)) {
      ackTimes.push(c);
      windowEndMs = Math.max(windowEndMs, c.completeMs);
    }
  }
  ackTimes.sort((a, b) => a.completeMs - b.completeMs);

  let maxUnavailableMs = 0;
  if (Number.isFinite(windowStartMs)) {
    let prevMs = windowStartMs;
    for (const a of ackTimes) {
      maxUnavailableMs = Math.max(maxUnavailableMs, a.completeMs - prevMs);
      prevMs = Math.max(prevMs, a.completeMs);
    }
    maxUnavailableMs = Math.max(maxUnavailableMs, windowEndMs - prevMs);
  }

  // An ack that started before the fault landed says nothing about recovery from it.
  const byInvoke = [...ackTimes].sort((a, b) => a.invokeMs - b.invokeMs);
  const failovers: FailoverSample[] = faults
    .sort((a, b) => a.completeMs - b.completeMs)
    .map((f) => {
      let best: number | null = null;
      for (const a of byInvoke) {
        if (a.invokeMs < f.completeMs) continue;
        const d = a.completeMs - f.completeMs;
        if (best === null || d < best) best = d;
      }
      return { kind: f.kind, target: f.target, atMs: f.completeMs, failoverMs: best };
    });
  const times = failovers.map((f) => f.failoverMs).filter((v): v is number => v !== null).sort((a, b) => a - b);

  const violations: string[] = [];
  if (lost > 0) violations.push(`${lost} acknowledged message(s) lost`);
  if (unexpected > 0) violations.push(`${unexpected} unexpected message(s) delivered`);
  if (corrupt > 0) violations.push(`${corrupt} corrupt delivery(ies)`);
  if (options.failOnDuplicates && duplicated > 0) violations.push(`${duplicated} unflagged duplicate(s)`);

  return {
    acked,
    failed,
    inDoubt,
    lost,
    lostAtMostOnce,
    duplicated,
    redelivered,
    unexpected,
    recovered,
    corrupt,
    delivered: deliveredIds.size,
    deliveries: receives.length,
    failovers,
    failoverMedianMs: median(times),
    failoverMaxMs: times.length ? times[times.length - 1]! : null,
    unrecoveredFaults: failovers.filter((f) => f.failoverMs === null).length,
    maxUnavailableMs,
    examples,
    violations,
  };
}
