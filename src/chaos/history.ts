/**
 * The operation history a chaos run records: one entry per client operation and per injected
 * fault, each with the wall-clock times it was invoked and completed. The checker
 * (`check-history.ts`) reads nothing else, so a history saved as JSON can be checked again later.
 */

/**
 * `ok`: the broker confirmed it (receipt). `failed`: the broker definitely did not do it (an
 * ERROR answer, a transaction reported rolled back). `unknown`: no answer in time, or the
 * connection died first: it may or may not have taken effect.
 */
export type Outcome = 'ok' | 'failed' | 'unknown';

interface Timed {
  /** Wall-clock time (ms since the epoch) the operation started. */
  invokeMs: number;
  /** Wall-clock time it finished (answer, error or give-up). */
  completeMs: number;
  /** Which workload process (producer or consumer name) did it. */
  process?: string;
}

/** A message sent; inside a transaction (`tx`) its fate is that of the transaction's commit. */
export interface SendOp extends Timed {
  op: 'send';
  /** Unique message id, also carried in the body. */
  id: string;
  destination: string;
  outcome: Outcome;
  tx?: string;
}

/** The end of a producer transaction: its sends count as acknowledged only if this is `ok`. */
export interface CommitOp extends Timed {
  op: 'commit' | 'abort';
  tx: string;
  outcome: Outcome;
}

/**
 * A durable subscription (or queue consumer group) that expects every message sent to
 * `destination` after it was created. Queues need no entry: each queue is its own receiver.
 */
export interface SubscribeOp extends Timed {
  op: 'subscribe';
  destination: string;
  /** The receiver's name; a `receive` names it in `subscription`. */
  subscription: string;
  outcome: Outcome;
}

/** One delivery of a message to the application. */
export interface ReceiveOp extends Timed {
  op: 'receive';
  /** The id parsed from the body; the raw body text when it held none. */
  id: string;
  destination: string;
  /** The durable subscription it came through; absent for queues (the queue is the receiver). */
  subscription?: string;
  /** The broker's `redelivered` flag. */
  redelivered: boolean;
  /** The body failed its checksum: the broker handed out damaged data. */
  corrupt?: boolean;
  outcome: Outcome;
}

/** A fault the harness injected (`kill`, `pause`, `zk`, `partition`, `disk`) or a heal. */
export interface FaultOp extends Timed {
  op: 'fault' | 'heal';
  kind: string;
  /** What it hit, e.g. `master node-1`, `zk-2`, `isolate node-3`. */
  target: string;
  outcome: Outcome;
}

export type HistoryOp = SendOp | CommitOp | SubscribeOp | ReceiveOp | FaultOp;

/** The receiver name of a delivery: its subscription, or its queue. */
export function receiverOf(op: { destination: string; subscription?: string }): string {
  return op.subscription ?? op.destination;
}

/** True for destinations where every message goes to one receiver (the queue itself). */
export function isQueue(destination: string): boolean {
  return !destination.startsWith('/topic/');
}
