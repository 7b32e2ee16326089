import { QmqError } from '../../util/errors.js';

export interface HeartbeatPlan {
  /** How often the server sends a heart-beat; 0 = never. */
  sendEveryMs: number;
  /** How long the server waits for any byte from the client before it gives up; 0 = never. */
  expectWithinMs: number;
  /** The `heart-beat` header value for CONNECTED. */
  header: string;
}

/**
 * STOMP 1.2 §Heart-beating. The client sends `heart-beat:cx,cy` (cx: it can send every cx ms;
 * cy: it wants to receive every cy ms). Like ActiveMQ, the server mirrors the client and answers
 * `cy,cx`: it sends every cy ms and expects traffic every cx ms (times a grace multiplier).
 * A malformed header is fatal (ActiveMQ ProtocolConverter).
 */
export function planHeartbeat(header: string | undefined, graceMultiplier: number): HeartbeatPlan {
  if (header === undefined) return { sendEveryMs: 0, expectWithinMs: 0, header: '0,0' };
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(header);
  if (!m) {
    throw new QmqError('BAD_HEARTBEAT', `heart-beat header "${header}" is not two comma-separated whole numbers`, { fatal: true });
  }
  const cx = Number(m[1]);
  const cy = Number(m[2]);
  return {
    sendEveryMs: cy,
    expectWithinMs: cx === 0 ? 0 : Math.ceil(cx * graceMultiplier),
    header: `${cy},${cx}`,
  };
}

/** STOMP 1.2 §Protocol Negotiation: the highest version both sides support. */
export function negotiateVersion(acceptVersion: string | undefined): '1.0' | '1.1' | '1.2' | undefined {
  if (acceptVersion === undefined) return '1.0';
  const offered = new Set(acceptVersion.split(',').map((v) => v.trim()));
  for (const v of ['1.2', '1.1', '1.0'] as const) if (offered.has(v)) return v;
  return undefined;
}
