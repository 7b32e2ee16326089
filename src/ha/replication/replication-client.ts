import net from 'node:net';
import type { JournalStore } from '../../store/journal/journal-store.js';
import { FLAG_MORE, HEADER_BYTES } from '../../store/journal/record-codec.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { QmqError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, type Frame, type MasterFrame, type Retained, type SlaveFrame } from './frames.js';
import { scanLogShape } from './log-shape.js';
import { promiseEpoch, readPromisedEpoch } from './promised-epoch.js';
import { parseBind } from './replication-server.js';
import type { LogPosition } from './types.js';

export interface ReplicationClientOptions {
  journal: JournalStore;
  nodeId: string;
  securityToken?: string;
  logger: Logger;
  clock?: Clock;
  /** Received but not yet fsynced, at most; beyond it the socket is paused (default 16 MiB). */
  maxUnsyncedBytes?: number;
  /** How long the master may stay silent before the stream counts as lost (default 5000 ms). */
  idleTimeoutMs?: number;
  /** Acknowledgement period while idle (default 1000 ms); acks also go out after every write. */
  heartbeatMs?: number;
  /** Connect and login must finish within this (default 10000 ms). */
  connectTimeoutMs?: number;
}

/** End of the last whole batch in `buf` (records start at offset 0), or 0 if none ends in it. */
function lastBatchEnd(buf: Buffer): number {
  let off = 0;
  let end = 0;
  while (buf.length - off >= HEADER_BYTES) {
    const length = buf.readUInt32LE(off);
    if (length < HEADER_BYTES || off + length > buf.length) break;
    const more = (buf[off + 24] & FLAG_MORE) !== 0;
    off += length;
    if (!more) end = off;
  }
  return end;
}

/**
 * Slave side of replication (DESIGN §4): follows one master. Logs in with its log's shape,
 * carries out the master's catch-up order (truncate a divergent tail into quarantine, or set
 * the log aside for a snapshot), then appends the streamed records byte for byte and
 * acknowledges what it has received and what it has fsynced.
 */
export class ReplicationClient {
  private readonly journal: JournalStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private socket: net.Socket | null = null;
  private readonly lostListeners: ((reason: string) => void)[] = [];
  private masterEpoch = 0;
  private promised = 0;
  /** Bytes of a batch whose last record has not arrived yet. */
  private partial: Buffer = Buffer.alloc(0);
  private expected = 0;
  private appending: Promise<void> = Promise.resolve();
  private state: 'idle' | 'login' | 'catch-up' | 'streaming' | 'closed' = 'idle';
  private lostReported = false;
  private ackScheduled = false;
  /** The master counts our receipts (a `*_mem` level): ack after every read, not only after syncs (see `onRecords`). */
  private ackReceived = true;
  private ackedSynced = 0;
  private lastHeard = 0;
  private timer: TimerHandle | null = null;
  private unsubscribe: (() => void) | null = null;
  private paused = false;
  private readonly maxUnsyncedBytes: number;
  private readonly idleTimeoutMs: number;
  private readonly heartbeatMs: number;
  private failFollow: ((e: unknown) => void) | null = null;

  constructor(readonly opts: ReplicationClientOptions) {
    this.journal = opts.journal;
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.maxUnsyncedBytes = opts.maxUnsyncedBytes ?? 16 * 1024 * 1024;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 5000;
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
  }

  /**
   * Connects to the master's replication address, does catch-up (divergence: truncate, the
   * bytes moved to quarantine and logged; far behind: snapshot), then streams. Resolves once
   * streaming. Rejects with FENCED if the master is older than an epoch this node has seen.
   */
  follow(masterAddress: string, masterEpoch: number): Promise<void> {
    if (this.state !== 'idle') return Promise.reject(new QmqError('INTERNAL', 'a ReplicationClient follows one master once; create a new one'));
    this.state = 'login';
    this.journal.setReplica(true);
    const dir = this.journal.config.directory;
    this.promised = Math.max(readPromisedEpoch(dir), this.journal.lastPosition().epoch);
    return new Promise<void>((resolve, reject) => {
      this.failFollow = reject;
      const deadline = this.clock.schedule(this.opts.connectTimeoutMs ?? 10_000, () => this.fail(new QmqError('OPERATION_TIMEOUT', `no replication session with ${masterAddress} within ${this.opts.connectTimeoutMs ?? 10_000} ms`)));
      const done = (e?: unknown) => {
        deadline.cancel();
        if (e) reject(e);
        else resolve();
      };
      this.start(masterAddress, masterEpoch, done).catch((e: unknown) => this.fail(e));
    });
  }

  private async start(masterAddress: string, masterEpoch: number, done: (e?: unknown) => void): Promise<void> {
    const { host, port } = parseBind(masterAddress);
    const shape = await scanLogShape(this.journal);
    if (this.state === 'closed') return;
    const socket = net.connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(MAX_FRAME_BYTES);
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      this.lastHeard = this.clock.now();
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.fail(e);
        return;
      }
      // Frames are handled strictly in order; catch-up steps are asynchronous.
      for (const f of frames) chain = chain.then(() => (this.state === 'closed' ? undefined : this.handle(f, masterEpoch, done))).catch((e: unknown) => this.fail(e));
    });
    socket.on('error', (e) => this.fail(new QmqError('NOT_MASTER', `replication connection to ${masterAddress} failed: ${e.message}`)));
    socket.on('close', () => this.fail(new QmqError('NOT_MASTER', `the master at ${masterAddress} closed the replication connection`)));
    socket.once('connect', () => {
      this.lastHeard = this.clock.now();
      this.send({ t: 'login', nodeId: this.opts.nodeId, securityToken: this.opts.securityToken ?? '', promisedEpoch: this.promised, log: shape });
      this.scheduleTick();
    });
    this.logger.info({ master: masterAddress, masterEpoch, log: { first: shape.first, end: shape.end } }, 'following the master');
  }

  private send(h: SlaveFrame): void {
    if (this.socket && !this.socket.destroyed) this.socket.write(encodeFrame(h));
  }

  private async handle(f: Frame, expectedEpoch: number, done: (e?: unknown) => void): Promise<void> {
    const h = f.header as MasterFrame;
    // DESIGN §4 step 4: every master frame carries its epoch; one below what we promised is a
    // stale master, which we tell so that it stops acknowledging.
    if (h.epoch < this.promised || (this.masterEpoch > 0 && h.epoch !== this.masterEpoch)) {
      if (h.t === 'fenced' || h.t === 'refused') return this.fail(this.refusal(h));
      const reason = `frame '${h.t}' carries epoch ${h.epoch}, below epoch ${this.promised} which this node has already seen`;
      this.send({ t: 'fenced', epoch: this.promised, reason });
      this.logger.warn({ masterEpoch: h.epoch, promisedEpoch: this.promised }, `refusing a stale master: ${reason}`);
      return this.fail(new QmqError('FENCED', `the master's epoch ${h.epoch} is below epoch ${this.promised}, which this node has already seen`), true);
    }
    switch (h.t) {
      case 'login-ok':
        if (this.state !== 'login') throw new QmqError('FRAME_MALFORMED', `login-ok in state ${this.state}`);
        if (h.epoch < expectedEpoch) throw new QmqError('FENCED', `the master answered with epoch ${h.epoch}, below the expected ${expectedEpoch}`);
        this.masterEpoch = h.epoch;
        this.ackReceived = h.ackReceived !== false;
        promiseEpoch(this.journal.config.directory, h.epoch);
        if (h.epoch > this.promised) this.promised = h.epoch;
        this.state = 'catch-up';
        return;
      case 'refused':
      case 'fenced':
        return this.fail(this.refusal(h));
      case 'truncate-to': {
        if (this.state !== 'catch-up') throw new QmqError('FRAME_MALFORMED', `truncate-to in state ${this.state}`);
        const r = await this.journal.truncateTo(h.position, `divergent from master epoch ${h.epoch}: ${h.reason}`);
        this.logger.warn({ ...r, masterEpoch: h.epoch }, `divergent tail truncated on the master's order: ${r.bytes} bytes (${r.fromPosition}..${r.toPosition}) moved to ${r.quarantine}`);
        return;
      }
      case 'snapshot-begin': {
        if (this.state !== 'catch-up') throw new QmqError('FRAME_MALFORMED', `snapshot-begin in state ${this.state}`);
        await this.journal.resetTo(h.position, `snapshot from master epoch ${h.epoch}: ${h.reason}`);
        return this.beginStream(h.position, done);
      }
      case 'stream-from':
        if (this.state !== 'catch-up') throw new QmqError('FRAME_MALFORMED', `stream-from in state ${this.state}`);
        return this.beginStream(h.position, done);
      case 'records':
        if (this.state !== 'streaming') throw new QmqError('FRAME_MALFORMED', `records in state ${this.state}`);
        this.noteRetained(h.retained);
        return this.onRecords(h.start, f.body, h.sync !== false);
      case 'heartbeat':
        if (this.state === 'streaming') {
          this.noteRetained(h.retained);
          if (h.sync === true) this.journal.syncDeferred();
        }
        return;
      default:
        throw new QmqError('FRAME_MALFORMED', `unexpected frame '${(h as { t: string }).t}' from the master`);
    }
  }

  /** The master's oldest retained position: our segments before it go once our index is past `asOf`. */
  private noteRetained(r: Retained | undefined): void {
    if (r && Number.isSafeInteger(r.first) && Number.isSafeInteger(r.asOf) && r.first <= r.asOf) this.journal.noteMasterRetained(r.first, r.asOf);
  }

  private refusal(h: Extract<MasterFrame, { t: 'refused' | 'fenced' }>): QmqError {
    if (h.t === 'fenced') return new QmqError('FENCED', `the master (epoch ${h.epoch}) is stale: ${h.reason}`);
    this.logger.error({ masterEpoch: h.epoch, reason: h.reason }, `replication login refused by the master: ${h.reason}`);
    return new QmqError(/securityToken/.test(h.reason) ? 'CONFIG_INVALID' : 'NOT_MASTER', `the master refused replication: ${h.reason}`);
  }

  private beginStream(position: number, done: (e?: unknown) => void): void {
    const end = this.journal.lastPosition().position;
    if (end !== position) throw new QmqError('INTERNAL', `after catch-up the log ends at ${end}, but the master streams from ${position}`);
    this.expected = position;
    this.state = 'streaming';
    this.unsubscribe = this.journal.onDurableAdvance(() => {
      if (this.ackReceived || this.journal.syncedPosition > this.ackedSynced) this.scheduleAck();
      if (this.paused && this.journal.appendPosition - this.journal.lastPosition().position < this.maxUnsyncedBytes / 2) {
        this.paused = false;
        this.socket?.resume();
      }
    });
    this.send({ t: 'ready', end: position });
    this.failFollow = null;
    this.logger.info({ masterEpoch: this.masterEpoch, from: position }, 'replication stream started');
    done();
  }

  private onRecords(start: number, body: Buffer, sync: boolean): void {
    if (start !== this.expected) throw new QmqError('FRAME_MALFORMED', `records for position ${start} arrived, expected ${this.expected}`);
    this.expected = start + body.length;
    const data = this.partial.length > 0 ? Buffer.concat([this.partial, body]) : body;
    const cut = lastBatchEnd(data);
    // Copies: the frame's buffer must not be pinned by a tail kept for the next frame.
    this.partial = Buffer.from(data.subarray(cut));
    if (cut === 0) return;
    const appended = this.journal.appendReplicated(data.subarray(0, cut), !sync);
    this.appending = appended.catch(() => undefined);
    appended.catch((e: unknown) => this.fail(e));
    // A deferred sync comes late, and the master's in-flight window counts receipts: say so now.
    if (this.ackReceived || !sync) this.scheduleAck();
    if (!this.paused && this.journal.appendPosition - this.journal.lastPosition().position >= this.maxUnsyncedBytes) {
      // Back-pressure: stop reading until the disk catches up, so TCP holds the master back.
      this.paused = true;
      this.socket?.pause();
    }
  }

  private scheduleAck(): void {
    if (this.ackScheduled || this.state !== 'streaming') return;
    this.ackScheduled = true;
    // After the current callback (one group's batches, or one socket read's frames) and before
    // the next turn of the loop: one ack per group, sent as soon as the group is on disk.
    process.nextTick(() => {
      this.ackScheduled = false;
      this.sendAck();
    });
  }

  private sendAck(): void {
    if (this.state !== 'streaming') return;
    this.ackedSynced = this.journal.syncedPosition;
    this.send({ t: 'ack', received: this.journal.appendPosition, synced: this.ackedSynced });
  }

  private scheduleTick(): void {
    this.timer = this.clock.schedule(this.heartbeatMs, () => {
      if (this.state === 'closed') return;
      const silentMs = this.clock.now() - this.lastHeard;
      if (silentMs > this.idleTimeoutMs) {
        this.fail(new QmqError('NOT_MASTER', `nothing heard from the master for ${silentMs} ms`));
        return;
      }
      this.sendAck();
      this.scheduleTick();
    });
  }

  /** The slave's last durable (epoch, position). */
  position(): LogPosition {
    return this.journal.lastPosition();
  }

  onLost(fn: (reason: string) => void): void {
    this.lostListeners.push(fn);
  }

  private fail(e: unknown, flush = false): void {
    if (this.state === 'closed') return;
    const wasStreaming = this.state === 'streaming';
    this.state = 'closed';
    this.timer?.cancel();
    this.unsubscribe?.();
    if (flush) this.socket?.end();
    else this.socket?.destroy();
    const err = e instanceof QmqError ? e : new QmqError('INTERNAL', (e as Error)?.message ?? String(e), { cause: e });
    if (this.failFollow) {
      const f = this.failFollow;
      this.failFollow = null;
      f(err);
    }
    if (wasStreaming && !this.lostReported) {
      this.lostReported = true;
      this.logger.warn({ masterEpoch: this.masterEpoch, position: this.journal.lastPosition(), reason: err.message }, 'replication stream lost');
      for (const fn of this.lostListeners) fn(err.message);
    }
  }

  async stop(): Promise<void> {
    if (this.state !== 'closed') {
      this.lostReported = true;
      this.fail(new QmqError('SHUTTING_DOWN', 'the replication client was stopped'));
    }
    await this.appending;
  }
}
