/** How a client error maps to an operation outcome in the history. */
import { BrokerError, TransactionOutcomeError } from '../client/index.js';
import { ErrorCodes } from '../util/errors.js';
import type { Outcome } from './history.js';

/**
 * Broker answers that mean "nothing was stored". Anything else, SYNC_TIMEOUT included (the
 * record may exist locally and reach the slaves later), leaves the outcome unknown.
 */
const DEFINITE_REFUSALS: ReadonlySet<string> = new Set([
  ErrorCodes.NOT_MASTER,
  ErrorCodes.STORE_FULL,
  ErrorCodes.INVALID_DESTINATION,
  ErrorCodes.FRAME_TOO_LARGE,
  ErrorCodes.UNKNOWN_TRANSACTION,
]);

export function classifyError(e: unknown): Outcome {
  if (e instanceof TransactionOutcomeError) return e.outcome === 'rolled-back' ? 'failed' : 'unknown';
  if (e instanceof BrokerError) return e.code !== undefined && DEFINITE_REFUSALS.has(e.code) ? 'failed' : 'unknown';
  // Timeouts and lost connections: the operation may or may not have happened.
  return 'unknown';
}
