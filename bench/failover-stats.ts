/**
 * Reading a failover trial from what the producing client saw, and summing up the trials.
 * Pure, so the rule for "first acknowledged send on the new master" is unit-tested.
 */
import { median } from './stats.js';

/** What the failover client reported during one trial, in the order it happened. */
export type ClientEvent =
  | { kind: 'ack'; atMs: number; /** the connection the receipt came on; undefined while a reconnect is being restored */ address: string | undefined }
  | { kind: 'disconnected'; atMs: number; address: string };

/**
 * Milliseconds from the kill to the first send acknowledged by another node, or undefined if
 * there was none. Receipts the dead master sent before it died can still be read after the kill
 * (they were in our socket buffer), so acks from `oldAddress` never count. An ack while the
 * client is restoring a connection (no address yet) counts only once the client has seen the
 * old connection drop: it can then only have come from a new one.
 */
export function failoverMs(events: readonly ClientEvent[], killAtMs: number, oldAddress: string): number | undefined {
  let oldConnectionGone = false;
  for (const e of events) {
    if (e.atMs < killAtMs) continue;
    if (e.kind === 'disconnected') {
      if (e.address === oldAddress) oldConnectionGone = true;
      continue;
    }
    if (e.address === oldAddress) continue;
    if (e.address === undefined && !oldConnectionGone) continue;
    return e.atMs - killAtMs;
  }
  return undefined;
}

/** Where one failover's time went, each from the kill, from the logs of ZooKeeper and the brokers. */
export interface FailoverPhases {
  /** A ZooKeeper server expired the dead master's session (its znode is gone). */
  sessionExpiredMs?: number;
  /** The new master took the next epoch and listens for slaves. */
  electedMs?: number;
  /** Its epoch marker met the sync level; it opens its client ports. */
  portsOpenMs?: number;
}

export interface TrialResult {
  /** kill -9 to the first acknowledged send on the new master. */
  failoverMs: number;
  /** kill -9 to the new master answering `/readyz` (polled, so up to ~100 ms late). */
  servingMs: number | undefined;
  phases?: FailoverPhases;
}

export interface FailoverSummary {
  trials: number;
  failoverMedianMs: number;
  failoverMaxMs: number;
  failoverMinMs: number;
  servingMedianMs: number | null;
  /** Medians over the trials that logged the phase. */
  sessionExpiredMedianMs: number | null;
  electedMedianMs: number | null;
  portsOpenMedianMs: number | null;
  failoverMsTrials: number[];
}

export function summarizeTrials(results: readonly TrialResult[]): FailoverSummary {
  if (results.length === 0) throw new RangeError('no failover trial completed');
  const ms = results.map((r) => r.failoverMs);
  const serving = results.flatMap((r) => (r.servingMs === undefined ? [] : [r.servingMs]));
  const phase = (k: keyof FailoverPhases): number | null => {
    const v = results.flatMap((r) => (r.phases?.[k] === undefined ? [] : [r.phases[k]!]));
    return v.length === 0 ? null : median(v);
  };
  return {
    trials: results.length,
    failoverMedianMs: median(ms),
    failoverMaxMs: Math.max(...ms),
    failoverMinMs: Math.min(...ms),
    servingMedianMs: serving.length === 0 ? null : median(serving),
    sessionExpiredMedianMs: phase('sessionExpiredMs'),
    electedMedianMs: phase('electedMs'),
    portsOpenMedianMs: phase('portsOpenMs'),
    failoverMsTrials: ms,
  };
}

/**
 * The time of a ZooKeeper server's "Expiring session …" log line (log4j ISO8601, the JVM's
 * local time zone, which is this process's), or undefined for any other line.
 */
export function zkExpiryTime(line: string): number | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) .*Expiring session 0x[0-9a-f]+/.exec(line);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

/** The `time` (epoch ms) of the first JSON log line at or after `sinceMs` whose `msg` matches. */
export function firstLogTime(output: string, msg: RegExp, sinceMs: number): number | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let o: { time?: unknown; msg?: unknown };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      continue;
    }
    if (typeof o.time === 'number' && o.time >= sinceMs && typeof o.msg === 'string' && msg.test(o.msg)) return o.time;
  }
  return undefined;
}

/**
 * The failover URL with its reconnect back-off capped at `maxMs`. The client doubles its pause
 * after every failed pass (ActiveMQ's rule), so with the chaos URL's cap of 500 ms a client
 * that kept failing through the ~2.5 s without a master found the new one open up to 500 ms
 * late; the bench measures the broker's failover, so it asks the client to look every `maxMs`.
 * Only this URL changes: the client's defaults stay ActiveMQ's.
 */
export function withMaxReconnectDelay(url: string, maxMs: number): string {
  const [head, query = ''] = url.split('?', 2) as [string, string?];
  const params = query.split('&').filter((p) => p !== '' && !/^maxReconnectDelay=/.test(p));
  params.push(`maxReconnectDelay=${maxMs}`);
  return `${head}?${params.join('&')}`;
}
