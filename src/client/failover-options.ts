import { QmqError } from '../util/errors.js';

/**
 * The `failover:` URL options, with ActiveMQ's names and meanings (FailoverTransport). The one
 * deliberate difference: `timeout` defaults to 30 s instead of -1, so no operation waits forever.
 */
export interface FailoverOptions {
  /** Shuffle the address list before each reconnect pass (default true). */
  randomize: boolean;
  /** Delay before the second pass over the addresses (default 10 ms). */
  initialReconnectDelayMs: number;
  /** Upper bound on the delay between passes (default 30000 ms). */
  maxReconnectDelayMs: number;
  /** Multiply the delay by `reconnectDelayExponent` after every failed pass (default true). */
  useExponentialBackOff: boolean;
  reconnectDelayExponent: number;
  /** Passes after a connection loss before giving up; -1 = no limit, 0 = never reconnect (default -1). */
  maxReconnectAttempts: number;
  /** Passes for the first connection; -1 = follow `timeout` alone (default -1). */
  startupMaxReconnectAttempts: number;
  /** How long any operation (send, subscribe, commit, connect) may wait, reconnects included (default 30000 ms). */
  timeoutMs: number;
  /** Prefer the priority addresses: try them first on every pass (default false). */
  priorityBackup: boolean;
  /** The priority addresses (default: the first one in the list). */
  priorityURIs: string[];
  /** ActiveMQ keeps a warm standby connection; accepted for compatibility, reconnection is fast without it. */
  backup: boolean;
  /** Add the addresses the broker announces in CONNECTED `qmq-cluster` to the list (default true). */
  updateURIsSupported: boolean;
}

export const DEFAULT_FAILOVER_OPTIONS: Readonly<FailoverOptions> = Object.freeze({
  randomize: true,
  initialReconnectDelayMs: 10,
  maxReconnectDelayMs: 30_000,
  useExponentialBackOff: true,
  reconnectDelayExponent: 2,
  maxReconnectAttempts: -1,
  startupMaxReconnectAttempts: -1,
  timeoutMs: 30_000,
  priorityBackup: false,
  priorityURIs: [],
  backup: false,
  updateURIsSupported: true,
});

type Kind = 'bool' | 'int' | 'number' | 'list';
const OPTION_TABLE: Record<string, { key: keyof FailoverOptions; kind: Kind; min?: number }> = {
  randomize: { key: 'randomize', kind: 'bool' },
  initialReconnectDelay: { key: 'initialReconnectDelayMs', kind: 'int', min: 0 },
  maxReconnectDelay: { key: 'maxReconnectDelayMs', kind: 'int', min: 0 },
  useExponentialBackOff: { key: 'useExponentialBackOff', kind: 'bool' },
  reconnectDelayExponent: { key: 'reconnectDelayExponent', kind: 'number', min: 1 },
  maxReconnectAttempts: { key: 'maxReconnectAttempts', kind: 'int', min: -1 },
  startupMaxReconnectAttempts: { key: 'startupMaxReconnectAttempts', kind: 'int', min: -1 },
  timeout: { key: 'timeoutMs', kind: 'int', min: -1 },
  priorityBackup: { key: 'priorityBackup', kind: 'bool' },
  priorityURIs: { key: 'priorityURIs', kind: 'list' },
  backup: { key: 'backup', kind: 'bool' },
  updateURIsSupported: { key: 'updateURIsSupported', kind: 'bool' },
};

export const FAILOVER_OPTION_NAMES: readonly string[] = Object.keys(OPTION_TABLE);

/** Validates the options of a failover URL; an unknown name or a bad value is an error that lists the valid ones. */
export function parseFailoverOptions(params: ReadonlyMap<string, string>, url: string): FailoverOptions {
  const out: FailoverOptions = { ...DEFAULT_FAILOVER_OPTIONS, priorityURIs: [] };
  const record = out as unknown as Record<string, unknown>;
  for (const [name, raw] of params) {
    const spec = OPTION_TABLE[name];
    if (!spec) {
      throw new QmqError('CONFIG_INVALID', `unknown failover option "${name}" in "${url}"; valid options: ${FAILOVER_OPTION_NAMES.join(', ')} (and nested.* for the inner URIs)`);
    }
    const bad = (why: string) => new QmqError('CONFIG_INVALID', `failover option ${name}=${raw} in "${url}" ${why}`);
    switch (spec.kind) {
      case 'bool':
        if (raw !== 'true' && raw !== 'false') throw bad('must be true or false');
        record[spec.key] = raw === 'true';
        break;
      case 'int':
      case 'number': {
        const re = spec.kind === 'int' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
        if (!re.test(raw)) throw bad(spec.kind === 'int' ? 'is not a whole number' : 'is not a number');
        const n = Number(raw);
        if (spec.min !== undefined && n < spec.min) throw bad(`is below the minimum ${spec.min}`);
        record[spec.key] = n;
        break;
      }
      case 'list':
        record[spec.key] = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
        break;
    }
  }
  // ActiveMQ's timeout=-1 means "forever"; we keep every wait bounded, so -1 is refused with the reason.
  if (out.timeoutMs < 1) {
    throw new QmqError('CONFIG_INVALID', `failover option timeout=${out.timeoutMs} in "${url}": QuorumMQ's client keeps every wait bounded; give a number of milliseconds > 0`);
  }
  if (out.maxReconnectDelayMs < out.initialReconnectDelayMs) out.maxReconnectDelayMs = out.initialReconnectDelayMs;
  return out;
}
