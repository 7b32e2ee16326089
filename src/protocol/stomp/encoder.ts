/**
 * Writes STOMP frames. Output is one Buffer per frame, built with a single allocation: the
 * command and headers become one string, and the body is copied in once.
 */
import { QmqError } from '../../util/errors.js';
import { headerPairs, isEscapeExempt, type StompFrame, type StompFrameInput, type StompVersion } from './frame.js';
import { escapeHeaderText, unrepresentableReason } from './escaping.js';
import { quoteForMessage } from './parser.js';

export interface EncodeOptions {
  /**
   * Always write content-length (ActiveMQ: a MESSAGE carrying a BytesMessage must). Without
   * it, content-length is written when the body contains a NUL, or when the given headers
   * already hold one; its value is always recomputed from the body actually written.
   */
  contentLength?: boolean;
  /**
   * A header this version cannot carry (1.0 has no escaping, so a line feed in a value cannot
   * be sent): 'throw' (the default) raises HEADER_INVALID; 'skip' leaves the header out, for
   * relaying messages that came from a newer client to an older one.
   */
  unrepresentable?: 'throw' | 'skip';
}

const HEARTBEAT = 0x0a;

export function encodeHeartbeat(): Buffer {
  return Buffer.from([HEARTBEAT]);
}

export function encodeFrame(frame: StompFrame | StompFrameInput, version: StompVersion, opts: EncodeOptions = {}): Buffer {
  const command = frame.command;
  if (command.length === 0 || command.indexOf('\n') !== -1 || command.indexOf('\r') !== -1) {
    throw new QmqError('FRAME_MALFORMED', `cannot encode a frame whose command is ${quoteForMessage(command)}`);
  }
  const body = frame.body ?? '';
  const bodyIsText = typeof body === 'string';
  const bodyBytes = bodyIsText ? Buffer.byteLength(body) : body.length;
  // STOMP 1.2 "Body": a body holding a NUL can only be framed with content-length.
  const bodyHasNul = bodyBytes > 0 && (bodyIsText ? body.indexOf('\0') !== -1 : body.indexOf(0) !== -1);
  // STOMP 1.2 "Value Encoding": no escaping in 1.0, nor in CONNECT/CONNECTED frames.
  const escaped = version !== '1.0' && !isEscapeExempt(command);
  const skipBad = opts.unrepresentable === 'skip';

  let head = command + '\n';
  let wroteLength = false;
  for (const [name, value] of headerPairs(frame.headers)) {
    if (name === 'content-length') {
      // STOMP 1.2 "Repeated Header Entries": only the first one means anything.
      if (!wroteLength) head += `content-length:${bodyBytes}\n`;
      wroteLength = true;
      continue;
    }
    const why = unrepresentableReason(name, value, version, escaped);
    if (why !== undefined) {
      if (skipBad) continue;
      throw new QmqError('HEADER_INVALID', `cannot encode header ${quoteForMessage(name)} of a ${command} frame for STOMP ${version}: ${why}`);
    }
    head += escaped ? `${escapeHeaderText(name, version)}:${escapeHeaderText(value, version)}\n` : `${name}:${value}\n`;
  }
  if (!wroteLength && (opts.contentLength === true || bodyHasNul)) head += `content-length:${bodyBytes}\n`;
  head += '\n';

  const headBytes = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headBytes + bodyBytes + 1);
  out.write(head, 0, 'utf8');
  if (bodyIsText) out.write(body, headBytes, 'utf8');
  else body.copy(out, headBytes);
  out[headBytes + bodyBytes] = 0;
  return out;
}
