/**
 * The one catalogue of error codes. Logs, STOMP ERROR frames, the CLI and the HTTP API all
 * use these codes, so an operator can grep for one string and find every place it surfaced.
 * Codes are stable: add new ones, never renumber or reuse.
 */
export const ErrorCodes = {
  // protocol (the client sent something we cannot accept)
  FRAME_MALFORMED: 'QMQ-1001',
  FRAME_TOO_LARGE: 'QMQ-1002',
  HEADER_INVALID: 'QMQ-1003',
  TOO_MANY_HEADERS: 'QMQ-1004',
  UNKNOWN_COMMAND: 'QMQ-1005',
  BAD_ESCAPE: 'QMQ-1006',
  VERSION_UNSUPPORTED: 'QMQ-1007',
  NOT_CONNECTED: 'QMQ-1008',
  MISSING_HEADER: 'QMQ-1009',
  BAD_HEARTBEAT: 'QMQ-1010',
  FRAME_TIMEOUT: 'QMQ-1011',
  /** An HTTP API request is malformed (a bad parameter or JSON body). */
  REQUEST_INVALID: 'QMQ-1012',
  // messaging (the request was well formed but cannot be honoured)
  INVALID_DESTINATION: 'QMQ-2001',
  INVALID_SELECTOR: 'QMQ-2002',
  UNKNOWN_TRANSACTION: 'QMQ-2003',
  TRANSACTION_EXISTS: 'QMQ-2004',
  UNKNOWN_MESSAGE: 'QMQ-2005',
  UNKNOWN_SUBSCRIPTION: 'QMQ-2006',
  SUBSCRIPTION_EXISTS: 'QMQ-2007',
  CLIENT_ID_IN_USE: 'QMQ-2008',
  CLIENT_ID_REQUIRED: 'QMQ-2009',
  DURABLE_ON_QUEUE: 'QMQ-2010',
  DESTINATION_IN_USE: 'QMQ-2011',
  RESOURCE_LIMIT: 'QMQ-2012',
  NOT_AUTHENTICATED: 'QMQ-2013',
  UNKNOWN_DESTINATION: 'QMQ-2014',
  /** Authenticated, but the user's groups do not allow the operation. */
  NOT_AUTHORIZED: 'QMQ-2015',
  // store
  STORE_CORRUPT: 'QMQ-3001',
  STORE_IO: 'QMQ-3002',
  STORE_CLOSED: 'QMQ-3003',
  STORE_FULL: 'QMQ-3004',
  STORE_LOCKED: 'QMQ-3005',
  // configuration
  CONFIG_INVALID: 'QMQ-4001',
  CONFIG_UNSUPPORTED: 'QMQ-4002',
  CONFIG_NOT_AVAILABLE: 'QMQ-4003',
  // cluster / HA
  NOT_MASTER: 'QMQ-5001',
  NO_QUORUM: 'QMQ-5002',
  FENCED: 'QMQ-5003',
  SYNC_TIMEOUT: 'QMQ-5004',
  /** The work may or may not have taken effect; the connection is closed without an answer. */
  OUTCOME_UNKNOWN: 'QMQ-5005',
  // client side
  OPERATION_TIMEOUT: 'QMQ-7001',
  TRANSACTION_ROLLED_BACK: 'QMQ-7002',
  TRANSACTION_IN_DOUBT: 'QMQ-7003',
  // lifecycle
  SHUTTING_DOWN: 'QMQ-6001',
  INTERNAL: 'QMQ-9999',
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorCodeName];

/** An error that carries a catalogue code. `fatal` means the connection that caused it must close. */
export class QmqError extends Error {
  readonly code: ErrorCode;
  readonly codeName: ErrorCodeName;
  readonly fatal: boolean;
  readonly detail?: string;

  constructor(codeName: ErrorCodeName, message: string, opts: { fatal?: boolean; detail?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'QmqError';
    this.codeName = codeName;
    this.code = ErrorCodes[codeName];
    this.fatal = opts.fatal ?? false;
    this.detail = opts.detail;
  }
}

export function isQmqError(e: unknown): e is QmqError {
  return e instanceof QmqError;
}

/** Wraps anything thrown into a QmqError without losing the original as `cause`. */
export function toQmqError(e: unknown): QmqError {
  if (e instanceof QmqError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new QmqError('INTERNAL', msg, { cause: e });
}
