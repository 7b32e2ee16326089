import { QmqError, type ErrorCodeName } from '../util/errors.js';

/**
 * A commit that did not (or may not have) taken effect after a failover.
 * `rolled-back`: the broker has no record of the commit, and the transaction consumed messages,
 * which cannot be replayed: they come back, flagged redelivered. `in-doubt`: the broker cannot
 * say (it does not answer the transaction-status query, see `qmq-tx-query`).
 */
export class TransactionOutcomeError extends QmqError {
  constructor(
    readonly transaction: string,
    readonly outcome: 'rolled-back' | 'in-doubt',
    message: string,
  ) {
    super('UNKNOWN_TRANSACTION', message, { detail: outcome });
    this.name = 'TransactionOutcomeError';
  }
}

/** An operation that got no answer in time; its outcome at the broker is unknown. */
export function operationTimeout(command: string, timeoutMs: number, address: string | undefined): QmqError {
  const where = address ? `from ${address}` : 'while no broker was reachable';
  return new QmqError('RESOURCE_LIMIT', `${command} timed out after ${timeoutMs} ms (failover timeout) with no receipt ${where}; its outcome is unknown`);
}

export function clientError(code: ErrorCodeName, message: string, cause?: unknown): QmqError {
  return new QmqError(code, message, cause === undefined ? {} : { cause });
}
