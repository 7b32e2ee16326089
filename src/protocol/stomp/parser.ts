/**
 * Incremental STOMP 1.0/1.1/1.2 frame parser. Bytes go in with `push`, whole frames come out
 * through `onFrame`, synchronously and in order. It never touches a socket.
 *
 * Hot-path choices: lines and NULs are found with `Buffer.indexOf`, never byte by byte; a
 * frame that fits in one chunk is decoded straight from that chunk; a frame that spans chunks
 * keeps references to the pieces and joins them once, when it is complete. The body is copied
 * exactly once, into a buffer of its own size, so a retained message never pins a whole
 * socket chunk. The parser keeps references to pushed chunks until their frame completes, so
 * callers must not reuse a chunk after pushing it.
 */
import { QmqError } from '../../util/errors.js';
import { CLIENT_COMMANDS, SERVER_COMMANDS, isEscapeExempt, type StompFrame, type StompVersion } from './frame.js';
import { unescapeHeaderText } from './escaping.js';

export interface ParserLimits {
  maxBodyBytes: number;
  /** Bytes of the command line, every header line and the blank line, EOLs included. */
  maxHeaderBytes: number;
  /** Header lines in one frame. */
  maxHeaders: number;
}

export interface StompParserOptions {
  limits: ParserLimits;
  /** 'server' parses what clients send; 'client' parses what servers send. */
  side: 'server' | 'client';
  onFrame(frame: StompFrame): void;
  /** Called once per EOL seen between frames (STOMP 1.2 "Heart-beating"). */
  onHeartbeat?(): void;
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

// The longest command is UNSUBSCRIBE (11 octets); a frame start with no LF in this many bytes
// is not STOMP (a TLS hello or an HTTP request on the wrong port), and saying so early beats
// reporting an oversized header section.
const MAX_COMMAND_LINE_BYTES = 32;

const EMPTY_BODY = Buffer.alloc(0);

// Parser states.
const S_IDLE = 0; // between frames: EOLs here are heart-beats
const S_IDLE_CR = 1; // between frames, after a CR that must be followed by LF
const S_HEAD = 2; // reading the command line and header lines
const S_BODY_COUNTED = 3; // reading exactly content-length bytes
const S_BODY_NUL = 4; // counted body complete; the next byte must be the NUL
const S_BODY_SCAN = 5; // no content-length: the body runs to the first NUL
const S_FAILED = 6;
type State = typeof S_IDLE | typeof S_IDLE_CR | typeof S_HEAD | typeof S_BODY_COUNTED | typeof S_BODY_NUL | typeof S_BODY_SCAN | typeof S_FAILED;

/** Quotes a piece of wire text for an error message, shortened so an ERROR frame stays small. */
export function quoteForMessage(text: string, maxChars = 80): string {
  const cut = text.length > maxChars ? text.slice(0, maxChars) : text;
  return JSON.stringify(cut) + (cut.length < text.length ? '…' : '');
}

function fatal(code: ConstructorParameters<typeof QmqError>[0], message: string): QmqError {
  return new QmqError(code, message, { fatal: true });
}

export class StompParser {
  /**
   * Governs header unescaping. The connection sets it once CONNECT/CONNECTED has agreed a
   * version; setting it inside `onFrame` takes effect from the very next frame, even one that
   * arrived in the same chunk.
   */
  version: StompVersion = '1.0';

  private readonly limits: ParserLimits;
  private readonly side: 'server' | 'client';
  private readonly commands: ReadonlySet<string>;
  private readonly onFrame: (frame: StompFrame) => void;
  private readonly onHeartbeat: (() => void) | undefined;

  private state: State = S_IDLE;
  private failure: unknown;

  // The frame being assembled.
  private command: string | undefined;
  private escaped = false;
  private headers: Array<[string, string]> = [];
  private headBytes = 0;
  private contentLength = -1;

  // Pieces of a line or body that spans chunks; joined once it is complete.
  private lineParts: Buffer[] = [];
  private linePartsBytes = 0;
  private bodyParts: Buffer[] = [];
  private bodyPartsBytes = 0;

  constructor(opts: StompParserOptions) {
    this.limits = opts.limits;
    this.side = opts.side;
    this.commands = opts.side === 'server' ? CLIENT_COMMANDS : SERVER_COMMANDS;
    this.onFrame = opts.onFrame;
    this.onHeartbeat = opts.onHeartbeat;
  }

  /** True while a frame has started but not ended (for the stalled-client timeout). */
  get midFrame(): boolean {
    return this.state === S_HEAD || this.state === S_BODY_COUNTED || this.state === S_BODY_NUL || this.state === S_BODY_SCAN;
  }

  /**
   * Feeds bytes. Throws a fatal QmqError on bad input; after any throw (including one from
   * `onFrame`) the rest of the stream cannot be framed, so every later call rethrows it.
   */
  push(chunk: Buffer): void {
    if (this.state === S_FAILED) throw this.failure;
    try {
      this.consume(chunk);
    } catch (e) {
      this.state = S_FAILED;
      this.failure = e;
      this.lineParts = [];
      this.bodyParts = [];
      throw e;
    }
  }

  private consume(buf: Buffer): void {
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      switch (this.state) {
        case S_IDLE: {
          const b = buf[pos];
          // STOMP 1.2 "Heart-beating": a heart-beat is one EOL, which is [CR] LF.
          if (b === LF) {
            pos++;
            this.onHeartbeat?.();
          } else if (b === CR) {
            pos++;
            this.state = S_IDLE_CR;
          } else {
            this.startFrame();
          }
          break;
        }
        case S_IDLE_CR:
          if (buf[pos] !== LF) {
            throw fatal('FRAME_MALFORMED', `a carriage return between frames must be followed by a line feed, found byte 0x${buf[pos].toString(16).padStart(2, '0')}`);
          }
          pos++;
          this.state = S_IDLE;
          this.onHeartbeat?.();
          break;
        case S_HEAD:
          pos = this.readHead(buf, pos);
          break;
        case S_BODY_COUNTED:
          pos = this.readCountedBody(buf, pos);
          break;
        case S_BODY_NUL:
          if (buf[pos] !== NUL) throw this.missingNul(buf[pos]);
          pos++;
          this.finishFrame(this.joinBody(this.contentLength));
          break;
        case S_BODY_SCAN:
          pos = this.readScannedBody(buf, pos);
          break;
        default:
          throw this.failure;
      }
    }
  }

  private startFrame(): void {
    this.state = S_HEAD;
    this.command = undefined;
    this.headers = [];
    this.headBytes = 0;
    this.contentLength = -1;
  }

  private frameName(): string {
    return this.command === undefined ? 'frame' : `${this.command} frame`;
  }

  private headTooLarge(atLeastBytes: number): QmqError {
    return fatal(
      'FRAME_TOO_LARGE',
      `${this.frameName()}: the command and headers are at least ${atLeastBytes} bytes; the limit is ${this.limits.maxHeaderBytes} bytes`,
    );
  }

  private unknownCommandFromPartialLine(): QmqError {
    const start = Buffer.concat(this.lineParts).toString('utf8', 0, MAX_COMMAND_LINE_BYTES);
    return fatal('UNKNOWN_COMMAND', `the bytes where a frame should start are not STOMP: they begin ${quoteForMessage(start)}, which is no STOMP command`);
  }

  /** Reads command and header lines from `buf[pos..]`; returns where it stopped. */
  private readHead(buf: Buffer, pos: number): number {
    if (this.command === undefined && this.lineParts.length === 0) {
      const end = this.readWholeHead(buf, pos);
      if (end !== -1) return end;
    }
    const len = buf.length;
    const maxHeaderBytes = this.limits.maxHeaderBytes;
    while (this.state === S_HEAD) {
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) {
        const n = len - pos;
        if (n > 0) {
          this.lineParts.push(buf.subarray(pos));
          this.linePartsBytes += n;
        }
        if (this.command === undefined && this.linePartsBytes > MAX_COMMAND_LINE_BYTES) throw this.unknownCommandFromPartialLine();
        const soFar = this.headBytes + this.linePartsBytes;
        if (soFar > maxHeaderBytes) throw this.headTooLarge(soFar);
        return len;
      }
      const lineBytes = this.linePartsBytes + (nl - pos) + 1;
      this.headBytes += lineBytes;
      // A too-long first line is reported as the unknown command it must be (see headLine).
      if (this.headBytes > maxHeaderBytes && this.command !== undefined) throw this.headTooLarge(this.headBytes);
      let line: string;
      if (this.lineParts.length === 0) {
        line = decodeLine(buf, pos, nl);
      } else {
        this.lineParts.push(buf.subarray(pos, nl));
        const joined = Buffer.concat(this.lineParts, lineBytes - 1);
        this.lineParts = [];
        this.linePartsBytes = 0;
        line = decodeLine(joined, 0, joined.length);
      }
      pos = nl + 1;
      this.headLine(line);
      if (this.headBytes > maxHeaderBytes) throw this.headTooLarge(this.headBytes);
    }
    return pos;
  }

  /**
   * The common case: the whole head of a fresh frame lies in this chunk and is within limits.
   * It is decoded with one string conversion instead of one per line. Returns -1, having
   * consumed nothing, when that is not so; the line-by-line path then takes over and reports
   * any limit that was hit.
   */
  private readWholeHead(buf: Buffer, pos: number): number {
    const maxEnd = pos + this.limits.maxHeaderBytes;
    const maxLines = this.limits.maxHeaders + 1;
    let lineStart = pos;
    let lines = 0;
    for (;;) {
      const nl = buf.indexOf(LF, lineStart);
      if (nl === -1 || nl >= maxEnd) return -1;
      if (nl === lineStart || (nl === lineStart + 1 && buf[lineStart] === CR)) {
        if (lines === 0) return -1;
        break;
      }
      if (++lines > maxLines) return -1;
      lineStart = nl + 1;
    }
    const headEnd = buf.indexOf(LF, lineStart) + 1;
    this.headBytes = headEnd - pos;
    const text = buf.toString('utf8', pos, lineStart);
    let from = 0;
    while (from < text.length) {
      let nl = text.indexOf('\n', from);
      const next = nl + 1;
      if (nl > from && text.charCodeAt(nl - 1) === CR) nl--;
      this.headLine(text.slice(from, nl));
      from = next;
    }
    this.headLine('');
    return headEnd;
  }

  private headLine(line: string): void {
    if (this.command === undefined) {
      // STOMP 1.2 "STOMP Frames": commands are case-sensitive.
      if (!this.commands.has(line)) throw this.unknownCommand(line);
      this.command = line;
      // STOMP 1.2 "Value Encoding": 1.0 has no escaping, and CONNECT/CONNECTED never do.
      this.escaped = this.version !== '1.0' && !isEscapeExempt(line);
      return;
    }
    if (line.length === 0) {
      this.endOfHead();
      return;
    }
    if (this.headers.length >= this.limits.maxHeaders) {
      throw fatal(
        'TOO_MANY_HEADERS',
        `${this.command} frame has more than ${this.limits.maxHeaders} headers; the limit is ${this.limits.maxHeaders}`,
      );
    }
    // STOMP 1.2 BNF: header = header-name ":" header-value; the value may hold further ':'
    // in 1.0, and in 1.1+ a ':' inside a name or value is escaped, so the first one splits.
    const colon = line.indexOf(':');
    if (colon === -1) {
      throw fatal('HEADER_INVALID', `${this.command} frame: header line ${quoteForMessage(line)} has no ':' between name and value`);
    }
    if (colon === 0) {
      throw fatal('HEADER_INVALID', `${this.command} frame: header line ${quoteForMessage(line)} has an empty header name`);
    }
    let name = line.slice(0, colon);
    // STOMP 1.2 "Value Encoding": values are never trimmed; ActiveMQ keeps spaces too.
    let value = line.slice(colon + 1);
    if (this.escaped && line.indexOf('\\') !== -1) {
      const version = this.version;
      const command = this.command;
      name = unescapeHeaderText(name, version, () => `${command} frame: the name of header line ${quoteForMessage(line)}`);
      value = unescapeHeaderText(value, version, () => `${command} frame: the value of header line ${quoteForMessage(line)}`);
    }
    this.headers.push([name, value]);
  }

  private unknownCommand(line: string): QmqError {
    const peerCommands = this.side === 'server' ? SERVER_COMMANDS : CLIENT_COMMANDS;
    const who = this.side === 'server' ? 'a client' : 'a server';
    if (peerCommands.has(line)) {
      return fatal('UNKNOWN_COMMAND', `${line} is not a command ${who} may send; expected one of ${[...this.commands].join(', ')}`);
    }
    const hint = this.commands.has(line.toUpperCase()) ? ` (commands are case-sensitive; did you mean ${line.toUpperCase()}?)` : '';
    return fatal('UNKNOWN_COMMAND', `unknown STOMP command ${quoteForMessage(line)}${hint}; expected one of ${[...this.commands].join(', ')}`);
  }

  private endOfHead(): void {
    const command = this.command as string;
    let lengthHeader: string | undefined;
    for (let i = 0; i < this.headers.length; i++) {
      // STOMP 1.2 "Repeated Header Entries": the first content-length is the one that counts.
      if (this.headers[i][0] === 'content-length') {
        lengthHeader = this.headers[i][1];
        break;
      }
    }
    if (lengthHeader === undefined) {
      this.state = S_BODY_SCAN;
      return;
    }
    // Surrounding blanks are tolerated because ActiveMQ trims this one value before parsing it.
    const m = /^[ \t]*([0-9]{1,15})[ \t]*$/.exec(lengthHeader);
    if (m === null) {
      throw fatal('HEADER_INVALID', `${command} frame: content-length ${quoteForMessage(lengthHeader)} is not a whole number of bytes`);
    }
    const bodyBytes = Number(m[1]);
    // STOMP 1.2 "Size Limits": refuse before buffering anything.
    if (bodyBytes > this.limits.maxBodyBytes) {
      throw fatal('FRAME_TOO_LARGE', `${command} frame: content-length is ${bodyBytes} bytes; the body limit is ${this.limits.maxBodyBytes} bytes`);
    }
    this.contentLength = bodyBytes;
    this.state = bodyBytes === 0 ? S_BODY_NUL : S_BODY_COUNTED;
  }

  /** STOMP 1.2 "Header content-length": exactly that many octets, NULs included, then a NUL. */
  private readCountedBody(buf: Buffer, pos: number): number {
    const need = this.contentLength - this.bodyPartsBytes;
    const avail = buf.length - pos;
    if (avail > need) {
      const end = pos + need;
      if (buf[end] !== NUL) throw this.missingNul(buf[end]);
      const body = this.bodyParts.length === 0 ? copyRange(buf, pos, end) : this.joinBody(this.contentLength, buf.subarray(pos, end));
      this.finishFrame(body);
      return end + 1;
    }
    this.bodyParts.push(buf.subarray(pos));
    this.bodyPartsBytes += avail;
    if (avail === need) this.state = S_BODY_NUL;
    return buf.length;
  }

  /** STOMP 1.2 "Body": without content-length the body ends at the first NUL. */
  private readScannedBody(buf: Buffer, pos: number): number {
    const nul = buf.indexOf(NUL, pos);
    const maxBodyBytes = this.limits.maxBodyBytes;
    if (nul === -1) {
      const n = buf.length - pos;
      this.bodyParts.push(buf.subarray(pos));
      this.bodyPartsBytes += n;
      if (this.bodyPartsBytes > maxBodyBytes) throw this.bodyTooLarge(this.bodyPartsBytes);
      return buf.length;
    }
    const bodyBytes = this.bodyPartsBytes + (nul - pos);
    if (bodyBytes > maxBodyBytes) throw this.bodyTooLarge(bodyBytes);
    const body = this.bodyParts.length === 0 ? copyRange(buf, pos, nul) : this.joinBody(bodyBytes, buf.subarray(pos, nul));
    this.finishFrame(body);
    return nul + 1;
  }

  private bodyTooLarge(atLeastBytes: number): QmqError {
    return fatal(
      'FRAME_TOO_LARGE',
      `${this.frameName()}: the body is at least ${atLeastBytes} bytes (no content-length, no NUL yet); the body limit is ${this.limits.maxBodyBytes} bytes`,
    );
  }

  private missingNul(found: number): QmqError {
    return fatal(
      'FRAME_MALFORMED',
      `${this.frameName()}: expected a NUL byte after the ${this.contentLength}-byte body given by content-length, found byte 0x${found.toString(16).padStart(2, '0')}`,
    );
  }

  private joinBody(totalBytes: number, last?: Buffer): Buffer {
    if (totalBytes === 0) return EMPTY_BODY;
    const parts = this.bodyParts;
    if (last !== undefined) parts.push(last);
    this.bodyParts = [];
    this.bodyPartsBytes = 0;
    if (parts.length === 1) return copyRange(parts[0], 0, parts[0].length);
    return Buffer.concat(parts, totalBytes);
  }

  private finishFrame(body: Buffer): void {
    const frame: StompFrame = { command: this.command as string, headers: this.headers, body };
    this.state = S_IDLE;
    this.command = undefined;
    this.headers = [];
    this.bodyParts = [];
    this.bodyPartsBytes = 0;
    this.onFrame(frame);
  }
}

/** One head line as text, without its EOL (STOMP 1.2 "EOL = [CR] LF"; accepted for every version). */
function decodeLine(buf: Buffer, start: number, end: number): string {
  if (end > start && buf[end - 1] === CR) end--;
  return buf.toString('utf8', start, end);
}

function copyRange(buf: Buffer, start: number, end: number): Buffer {
  if (end === start) return EMPTY_BODY;
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}
