import { createHash, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import type { JournalStore } from '../../store/journal/journal-store.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { planCatchUp } from './catch-up-plan.js';
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, type Frame, type MasterFrame, type Retained, type SlaveFrame } from './frames.js';
import type { ReplicationServer } from './replication-server.js';
import type { SlaveProgress } from './types.js';

function sameToken(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so the comparison time says nothing about the token.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * One slave's connection on the master: login, catch-up, then the record stream. A slave that
 * is caught up gets each group straight from the writer, between our write and our fdatasync
 * (`offerWritten`), so both disks sync at once; one that is behind has records read back from
 * the journal files by `pump`. Nothing is queued in memory: at most `maxInFlightBytes` are sent
 * and not yet acknowledged as received, plus one frame being built.
 *
 * Order and gaps: `sentEnd` is the one position the slave expects next, and both paths send
 * only from exactly there. While `pump` reads from the files (`reading`), the writer's groups
 * lie past what it reads and are not offered; the pump sends them later from the files.
 */
export class SlaveSession {
  nodeId: string | null = null;
  readonly address: string;
  readonly connectedAt: number;
  received = 0;
  synced = 0;
  streaming = false;
  /** This slave fdatasyncs each group before acknowledging it (`assignSyncDuty`); others defer. */
  private syncDuty = false;
  private sentEnd = 0;
  private building = 0;
  /** `pump` is between reading the files and sending what it read: no early sends meanwhile. */
  private reading = false;
  /** Where the pump's current read of the files ends (the durable end when it began). */
  private readingTo = 0;
  /**
   * The writer's next group, offered while the pump read the groups before it: sent as soon as
   * the pump is done, so a slave that fell behind gets early sends again even when the writer
   * never pauses (its fdatasync runs off the loop, so groups follow each other back to back).
   */
  private held: { start: number; bytes: Buffer } | null = null;
  /** Groups for a slave without the sync duty, not sent yet; they end at `sentEnd`. */
  private lazy: Buffer[] = [];
  private lazyBytes = 0;
  private lazyTimer: TimerHandle | null = null;
  private sentEarlyBytes = 0;
  private sentFromDiskBytes = 0;
  private state: 'login' | 'catch-up' | 'streaming' | 'closed' = 'login';
  private readonly decoder = new FrameDecoder();
  private wakeUp: (() => void) | null = null;
  private lastHeard: number;
  private lastSent: number;
  private heartbeat: TimerHandle | null = null;
  private streamFrom = 0;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));
  private readonly log: Logger;

  constructor(
    private readonly socket: net.Socket,
    private readonly server: ReplicationServer,
    private readonly journal: JournalStore,
    logger: Logger,
    private readonly clock: Clock,
  ) {
    this.address = `${socket.remoteAddress}:${socket.remotePort}`;
    this.connectedAt = clock.now();
    this.lastHeard = this.lastSent = clock.now();
    this.log = logger.child({ slave: this.address });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('close', () => this.close('the slave closed the connection'));
    this.scheduleHeartbeat();
  }

  get bufferedBytes(): number {
    return this.socket.writableLength + this.building + this.lazyBytes;
  }

  progress(end: number): SlaveProgress & { state: string } {
    return {
      nodeId: this.nodeId ?? '?',
      address: this.address,
      received: this.received,
      synced: this.synced,
      lagBytes: Math.max(0, end - this.synced),
      connectedAt: this.connectedAt,
      inFlightBytes: Math.max(0, this.sentEnd - this.received),
      bufferedBytes: this.bufferedBytes,
      sentEarlyBytes: this.sentEarlyBytes,
      sentFromDiskBytes: this.sentFromDiskBytes,
      syncDuty: this.syncDuty,
      silentMs: this.clock.now() - this.lastHeard,
      state: this.state,
    };
  }

  private send(header: MasterFrame, body?: Buffer): void {
    if (this.state === 'closed') return;
    this.lastSent = this.clock.now();
    this.socket.write(encodeFrame(header, body));
  }

  private onData(chunk: Buffer): void {
    this.lastHeard = this.clock.now();
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.close(`protocol error: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) {
      if (this.state === 'closed') return;
      void this.handle(f.header as SlaveFrame).catch((e: unknown) => this.close(`error: ${(e as Error).message}`));
    }
  }

  private async handle(h: SlaveFrame): Promise<void> {
    const { epoch } = this.server.settings;
    switch (h.t) {
      case 'login':
        return this.login(h);
      case 'ready':
        if (this.state !== 'catch-up') return this.close(`'ready' out of order (state ${this.state})`);
        if (h.end !== this.streamFrom) {
          this.send({ t: 'refused', epoch, reason: `catch-up left the log at ${h.end}, expected ${this.streamFrom}` });
          return this.close(`the slave's log ends at ${h.end} after catch-up, expected ${this.streamFrom}`);
        }
        this.received = this.synced = this.sentEnd = h.end;
        this.state = 'streaming';
        this.streaming = true;
        this.log.info({ nodeId: this.nodeId, from: h.end }, 'slave caught up; streaming records');
        this.server.sessionsChanged();
        void this.pump().catch((e: unknown) => this.close(`streaming failed: ${(e as Error).message}`));
        return;
      case 'ack':
        if (this.state !== 'streaming') return;
        if (h.received > this.received) this.received = Math.min(h.received, this.sentEnd);
        if (h.synced > this.synced) this.synced = Math.min(h.synced, this.received);
        this.server.progress();
        return;
      case 'fenced':
        this.server.fence(h.epoch, `slave ${this.nodeId ?? this.address} has seen epoch ${h.epoch}: ${h.reason}`);
        return this.close(`the slave fenced us (epoch ${h.epoch})`);
      default:
        return this.close(`unexpected frame '${(h as { t: string }).t}'`);
    }
  }

  private async login(h: Extract<SlaveFrame, { t: 'login' }>): Promise<void> {
    const { epoch, nodeId, securityToken } = this.server.settings;
    if (this.state !== 'login') return this.close('a second login on one connection');
    if (!sameToken(h.securityToken ?? '', securityToken)) {
      this.log.error({ nodeId: h.nodeId }, `replication login refused: slave ${h.nodeId} at ${this.address} sent an invalid securityToken`);
      this.send({ t: 'refused', epoch, reason: 'invalid securityToken' });
      return this.close('invalid securityToken', true);
    }
    const slaveEpoch = Math.max(h.promisedEpoch ?? 0, ...(h.log?.epochs ?? []).map((e) => e.epoch));
    if (slaveEpoch > epoch) {
      // DESIGN §4 step 4: a slave that has seen a newer master proves we are stale.
      this.send({ t: 'fenced', epoch, reason: `the slave has seen epoch ${slaveEpoch}` });
      this.server.fence(slaveEpoch, `slave ${h.nodeId} at ${this.address} has seen epoch ${slaveEpoch}`);
      return this.close(`stale: slave ${h.nodeId} has seen epoch ${slaveEpoch}`, true);
    }
    this.nodeId = h.nodeId;
    this.decoder.maxFrameBytes = MAX_FRAME_BYTES;
    this.send({ t: 'login-ok', epoch, nodeId, ackReceived: this.server.countsReceipts });
    const plan = planCatchUp(this.server.logShape(), h.log);
    this.state = 'catch-up';
    this.streamFrom = plan.from;
    this.log.info({ nodeId: h.nodeId, slaveLog: { first: h.log.first, end: h.log.end }, plan }, `slave ${h.nodeId} logged in: ${plan.kind} from ${plan.from}`);
    if (plan.kind === 'snapshot') this.send({ t: 'snapshot-begin', epoch, position: plan.from, reason: plan.reason });
    else {
      if (plan.truncateTo !== null) this.send({ t: 'truncate-to', epoch, position: plan.truncateTo, reason: plan.reason });
      this.send({ t: 'stream-from', epoch, position: plan.from });
    }
  }

  /** Whether no send waits for this slave's copy: its early groups may be coalesced (`lazySendMs`). */
  private get lazySends(): boolean {
    return !this.syncDuty && !this.server.countsReceipts;
  }

  /** Sends the coalesced groups now; anything else sent must follow them (one position, in order). */
  private flushLazy(): void {
    this.lazyTimer?.cancel();
    this.lazyTimer = null;
    if (this.lazyBytes === 0) return;
    const body = this.lazy.length === 1 ? this.lazy[0] : Buffer.concat(this.lazy);
    const start = this.sentEnd - this.lazyBytes;
    this.lazy = [];
    this.lazyBytes = 0;
    this.sendRecords(start, body);
  }

  get hasSyncDuty(): boolean {
    return this.syncDuty;
  }

  /** Gives or takes the sync duty; a new holder syncs what it deferred at once, so waiting sends need not wait for its timer. */
  setSyncDuty(on: boolean): void {
    if (on === this.syncDuty) return;
    this.syncDuty = on;
    if (on && this.state === 'streaming') {
      this.flushLazy();
      const { epoch } = this.server.settings;
      this.send({ t: 'heartbeat', epoch, end: this.journal.lastPosition().position, retained: this.retained(), sync: true });
    }
  }

  /** Wakes the pump (more log, an ack, or close). */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private sleep(): Promise<void> {
    return new Promise((r) => (this.wakeUp = r));
  }

  /**
   * Sends a group the writer has just written and not yet fsynced, if this slave is caught up
   * (it expects exactly `start`) and the group fits in the in-flight window; otherwise the pump
   * sends it from the files once it is durable. Commitment still waits for our own fdatasync
   * (`ReplicationServer.state`); if that fails, the server closes this session (`dropSentFrom`).
   */
  offerWritten(start: number, bytes: Buffer): void {
    if (this.state !== 'streaming') return;
    const { maxInFlightBytes } = this.server.settings;
    if (this.reading) {
      // Copied: the writer reuses its buffer after this call.
      if (start === this.readingTo && !this.held && this.readingTo - this.received + bytes.length <= maxInFlightBytes) this.held = { start, bytes: Buffer.from(bytes) };
      return;
    }
    if (start !== this.sentEnd || this.sentEnd - this.received + bytes.length > maxInFlightBytes) return;
    this.sendEarly(start, bytes);
  }

  private sendEarly(start: number, bytes: Buffer): void {
    this.sentEnd = start + bytes.length;
    this.sentEarlyBytes += bytes.length;
    if (!this.lazySends) {
      this.flushLazy();
      this.sendRecords(start, bytes);
      return;
    }
    // Copied: the writer reuses its buffer after this call.
    this.lazy.push(Buffer.from(bytes));
    this.lazyBytes += bytes.length;
    if (this.lazyBytes >= this.server.settings.frameBytes) this.flushLazy();
    else this.lazyTimer ??= this.clock.schedule(this.server.settings.lazySendMs, () => {
      this.lazyTimer = null;
      this.flushLazy();
    });
  }

  /** Records frames for `[start, start + bytes.length)`, at most `frameBytes` each. */
  private sendRecords(start: number, bytes: Buffer): void {
    const { epoch, frameBytes } = this.server.settings;
    const retained = this.retained();
    // encodeFrame copies the bytes.
    for (let off = 0; off < bytes.length; off += frameBytes) {
      const part = bytes.subarray(off, Math.min(bytes.length, off + frameBytes));
      this.send({ t: 'records', epoch, start: start + off, retained, sync: this.syncDuty }, part);
    }
  }

  /** Whether this slave was sent (or is about to be sent) bytes at or after `position`, which then failed to become durable here. */
  holdsFrom(position: number): boolean {
    return this.sentEnd > position || (this.held !== null && this.held.start + this.held.bytes.length > position);
  }

  /** Reads records from the journal from `sentEnd` on and sends them, keeping within the in-flight bound. */
  private async pump(): Promise<void> {
    const { epoch, maxInFlightBytes, frameBytes } = this.server.settings;
    while (this.state === 'streaming') {
      if (this.sentEnd >= this.journal.lastPosition().position) {
        await this.sleep();
        continue;
      }
      this.reading = true;
      this.readingTo = this.journal.lastPosition().position;
      try {
        let chunks: Buffer[] = [];
        let start = this.sentEnd;
        const flush = async () => {
          while (this.state === 'streaming' && this.sentEnd - this.received >= maxInFlightBytes) await this.sleep();
          if (this.state !== 'streaming') return;
          const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          chunks = [];
          this.building = 0;
          this.flushLazy();
          this.send({ t: 'records', epoch, start, retained: this.retained(), sync: this.syncDuty }, body);
          this.sentEnd = start + body.length;
          this.sentFromDiskBytes += body.length;
          start = this.sentEnd;
        };
        for await (const r of this.journal.readRecords(start)) {
          chunks.push(r.bytes);
          this.building += r.bytes.length;
          if (this.building >= frameBytes) await flush();
          if (this.state !== 'streaming') return;
        }
        if (chunks.length > 0) await flush();
      } finally {
        this.reading = false;
        const held = this.held;
        this.held = null;
        if (held && held.start === this.sentEnd && this.state === 'streaming') this.sendEarly(held.start, held.bytes);
      }
    }
  }

  /** Our oldest retained position, as of our durable end (DESIGN §4: slaves drop what we dropped). */
  private retained(): Retained {
    return { first: this.journal.firstPosition, asOf: this.journal.lastPosition().position };
  }

  private scheduleHeartbeat(): void {
    const { heartbeatMs, epoch } = this.server.settings;
    this.heartbeat = this.clock.schedule(heartbeatMs, () => {
      if (this.state === 'closed') return;
      const now = this.clock.now();
      if (now - this.lastHeard > 5 * heartbeatMs) {
        this.close(`nothing heard from the slave for ${now - this.lastHeard} ms`);
        return;
      }
      if (this.state === 'streaming' && now - this.lastSent >= heartbeatMs) this.send({ t: 'heartbeat', epoch, end: this.journal.lastPosition().position, retained: this.retained() });
      this.scheduleHeartbeat();
    });
  }

  close(reason: string, afterFlush = false): void {
    if (this.state === 'closed') return;
    const wasStreaming = this.streaming;
    this.state = 'closed';
    this.streaming = false;
    this.heartbeat?.cancel();
    this.lazyTimer?.cancel();
    this.lazy = [];
    this.lazyBytes = 0;
    this.wake();
    if (afterFlush) this.socket.end();
    else this.socket.destroy();
    this.log.info({ nodeId: this.nodeId, reason, received: this.received, synced: this.synced }, wasStreaming ? 'slave disconnected' : 'slave connection closed');
    this.resolveClosed();
  }
}
