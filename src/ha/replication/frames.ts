import { QmqError } from '../../util/errors.js';
import { MAX_RECORD_BYTES } from '../../store/journal/record-codec.js';

/**
 * The replication wire format (DESIGN §4), one TCP connection per slave:
 *
 *   u32 LE  frameBytes   bytes after this field
 *   u32 LE  headerBytes  length of the JSON header
 *   …       header       UTF-8 JSON, always with `t` (the frame type)
 *   …       body         raw bytes (journal records, exactly as on disk), may be empty
 *
 * JSON keeps the control frames readable in a packet capture; the records ride as raw bytes so
 * they are never re-encoded. Every frame from the master carries its `epoch` (DESIGN §4 step 4).
 */
export interface EpochStart {
  epoch: number;
  /** Log position of the first record of this epoch in the log. */
  start: number;
}

export interface LogShape {
  /** Position of the first record still held (segments before it were compacted away). */
  first: number;
  /** End of the last durable record. */
  end: number;
  /** Epoch starts in ascending order; the first entry covers `first`. */
  epochs: EpochStart[];
}

/**
 * The master holds no record before `first` (it compacted them away) as of its log end `asOf`; a
 * slave whose index is checkpointed past `asOf` may delete its segments before `first` too.
 * Optional, so an older peer simply never deletes.
 */
export interface Retained {
  first: number;
  asOf: number;
}

export type SlaveFrame =
  /** Opens the session: who the slave is, its token, the highest epoch it has promised to, its log. */
  | { t: 'login'; nodeId: string; securityToken: string; promisedEpoch: number; log: LogShape }
  /** Catch-up done: the slave's log now ends at `end` and records may flow. */
  | { t: 'ready'; end: number }
  | { t: 'ack'; received: number; synced: number }
  /** The slave has seen `epoch`, higher than the master's: the master is stale. */
  | { t: 'fenced'; epoch: number; reason: string };

export type MasterFrame =
  /**
   * `ackReceived: false`: the sync level counts no slave's receipt (only fdatasyncs), so the slave
   * acknowledges after its syncs and on heartbeats, not after every read; absent means true.
   */
  | { t: 'login-ok'; epoch: number; nodeId: string; ackReceived?: boolean }
  | { t: 'refused'; epoch: number; reason: string }
  /** Cut the log at `position` (a divergence point); the bytes after it go to quarantine. */
  | { t: 'truncate-to'; epoch: number; position: number; reason: string }
  /** Too far behind: set the whole log aside and restart it empty at `position`; records follow. */
  | { t: 'snapshot-begin'; epoch: number; position: number; reason: string }
  /** Records will follow from `position`. */
  | { t: 'stream-from'; epoch: number; position: number }
  /**
   * Body: whole or partial journal records, contiguous, starting at `start`. `sync: false`: the
   * master does not wait for this slave's disk (it has the sync duty elsewhere), so the slave may
   * defer the fdatasync (DESIGN §4, sync duty); absent means true.
   */
  | { t: 'records'; epoch: number; start: number; retained?: Retained; sync?: boolean }
  /**
   * Keeps an idle stream alive and tells the slave where the master's log ends. `sync: true`:
   * the slave has just been given the sync duty and fdatasyncs what it deferred, now.
   */
  | { t: 'heartbeat'; epoch: number; end: number; retained?: Retained; sync?: boolean }
  | { t: 'fenced'; epoch: number; reason: string };

export type AnyFrame = SlaveFrame | MasterFrame;

export interface Frame<H extends AnyFrame = AnyFrame> {
  header: H;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);
/** Before login succeeds a peer gets only this much, so garbage cannot make us allocate a lot. */
export const MAX_LOGIN_FRAME_BYTES = 1024 * 1024;
/** A records frame holds at most one over-long record plus the frame's usual share. */
export const MAX_FRAME_BYTES = MAX_RECORD_BYTES + 1024 * 1024;

export function encodeFrame(header: AnyFrame, body: Buffer = EMPTY): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(8 + json.length + body.length);
  out.writeUInt32LE(4 + json.length + body.length, 0);
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  body.copy(out, 8 + json.length);
  return out;
}

/** Splits a byte stream into frames; feed it socket chunks in order. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  maxFrameBytes: number;

  constructor(maxFrameBytes = MAX_LOGIN_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const frameBytes = head.readUInt32LE(0);
      if (frameBytes < 4 || frameBytes > this.maxFrameBytes) {
        throw new QmqError('FRAME_MALFORMED', `replication frame of ${frameBytes} bytes is outside 4..${this.maxFrameBytes}`, { fatal: true });
      }
      if (this.buffered < 4 + frameBytes) break;
      const whole = this.take(4 + frameBytes);
      out.push(decodeFrameBody(whole.subarray(4)));
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0].length === n) {
      this.buffered -= n;
      return this.chunks.shift()!;
    }
    if (this.chunks[0].length > n) {
      const c = this.chunks[0];
      this.chunks[0] = c.subarray(n);
      this.buffered -= n;
      return c.subarray(0, n);
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}

function decodeFrameBody(b: Buffer): Frame {
  const headerBytes = b.readUInt32LE(0);
  if (headerBytes > b.length - 4) throw new QmqError('FRAME_MALFORMED', `replication frame header of ${headerBytes} bytes exceeds the frame`, { fatal: true });
  let header: unknown;
  try {
    header = JSON.parse(b.toString('utf8', 4, 4 + headerBytes));
  } catch (e) {
    throw new QmqError('FRAME_MALFORMED', `replication frame header is not JSON: ${(e as Error).message}`, { fatal: true });
  }
  if (typeof header !== 'object' || header === null || typeof (header as { t?: unknown }).t !== 'string') {
    throw new QmqError('FRAME_MALFORMED', 'replication frame header has no type', { fatal: true });
  }
  return { header: header as AnyFrame, body: b.subarray(4 + headerBytes) };
}
