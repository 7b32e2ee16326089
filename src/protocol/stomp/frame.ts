import { setOwn } from '../../util/own-property.js';

/**
 * The STOMP frame as the codec hands it over: what was on the wire, headers already unescaped
 * and in wire order (duplicates kept, because STOMP 1.2 gives the first one meaning and a
 * proxy must be able to forward the rest untouched).
 */
export type StompVersion = '1.0' | '1.1' | '1.2';

export const STOMP_VERSIONS: readonly StompVersion[] = ['1.0', '1.1', '1.2'];

export interface StompFrame {
  command: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** What `encodeFrame` accepts besides a parsed frame: headers as a record, body as text. */
export interface StompFrameInput {
  command: string;
  headers: Record<string, string> | Array<[string, string]>;
  body?: Buffer | string;
}

// STOMP 1.2 "Client Frames": STOMP is an alias of CONNECT; NACK exists from 1.1 on, but a
// 1.0 client sending it is a session-level error, not a framing one.
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  'CONNECT',
  'STOMP',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'ACK',
  'NACK',
  'DISCONNECT',
]);

// STOMP 1.2 "Server Frames".
export const SERVER_COMMANDS: ReadonlySet<string> = new Set(['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR']);

/**
 * STOMP 1.2 "Value Encoding": the frames that open a connection are never escaped, so that a
 * 1.0 peer can read them before any version is agreed. STOMP is CONNECT under another name.
 */
export function isEscapeExempt(command: string): boolean {
  return command === 'CONNECT' || command === 'CONNECTED' || command === 'STOMP';
}

/** STOMP 1.2 "Body": only these frames may carry a body. The codec does not enforce it. */
export function commandAllowsBody(command: string): boolean {
  return command === 'SEND' || command === 'MESSAGE' || command === 'ERROR';
}

/** STOMP 1.2 "Repeated Header Entries": only the first occurrence counts. */
export function getHeader(frame: Pick<StompFrame, 'headers'>, name: string): string | undefined {
  const headers = frame.headers;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i][0] === name) return headers[i][1];
  }
  return undefined;
}

/** Headers as a plain object, first occurrence winning (STOMP 1.2 "Repeated Header Entries"). */
export function headersToRecord(frame: Pick<StompFrame, 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of frame.headers) {
    if (Object.hasOwn(out, name)) continue;
    setOwn(out, name, value);
  }
  return out;
}

/** Turns either header form into wire-order pairs. */
export function headerPairs(headers: Record<string, string> | Array<[string, string]>): Array<[string, string]> {
  return Array.isArray(headers) ? headers : Object.entries(headers);
}
