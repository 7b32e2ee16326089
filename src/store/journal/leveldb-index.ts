import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ClassicLevel } from 'classic-level';
import { destinationKey, type DestinationRef } from '../../broker/message.js';
import { durableQueueKey, type DurableSubscriptionRecord, type RecoveredState, type StoreOp } from '../message-store.js';
import { RecordType } from './record-codec.js';

/** Where a record lives in the log. */
export interface Loc {
  position: number;
  length: number;
}

/** What the index needs of an op: a message add is only its key (the body stays in the log). */
export type IndexOp = Exclude<StoreOp, { type: 'add' }> | { type: 'add'; queue: string; seq: number };

/** One applied record, as the index sees it. */
export interface IndexRecord {
  type: number;
  rewrite: boolean;
  position: number;
  length: number;
  /** The record's CRC, so a checkpoint can later prove the log still holds the record it ends with. */
  crc: number;
  op: IndexOp | null;
}

export interface Checkpoint {
  /** The index holds every batch that ends at or before this log position. */
  position: number;
  epoch: number;
  /** The last record before the checkpoint; recovery checks it is still there. */
  lastRecord?: { position: number; crc: number };
}

/** Most recent producers whose sequence is remembered (as the memory store does). */
const PRODUCER_WINDOW = 10_000;
/** Index entries put into a flush batch between yields to the event loop. */
const FLUSH_ENTRIES_PER_SLICE = 2_000;

// Key spaces of the LevelDB. Messages are `m` + u16 queue length + queue + u64 BE seq, so one
// queue is one contiguous key range that sorts by seq.
const P_MSG = 0x6d; // m
const K_CHECKPOINT = Buffer.from('c');
const P_TX = 't';
const P_DEST = 'd';
const P_SUB = 's';
const P_PRODUCER = 'p';
const P_QUEUE = 'q';

function queuePrefix(queue: string): Buffer {
  const q = Buffer.from(queue, 'utf8');
  const b = Buffer.allocUnsafe(3 + q.length);
  b[0] = P_MSG;
  b.writeUInt16BE(q.length, 1);
  q.copy(b, 3);
  return b;
}

function msgKey(prefix: Buffer, seq: number): Buffer {
  const b = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(b, 0);
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), prefix.length);
  b.writeUInt32BE(seq % 0x1_0000_0000, prefix.length + 4);
  return b;
}

function seqOfKey(key: Buffer): number {
  const n = key.length;
  return key.readUInt32BE(n - 8) * 0x1_0000_0000 + key.readUInt32BE(n - 4);
}

function queueRangeEnd(prefix: Buffer): Buffer {
  return Buffer.concat([prefix, Buffer.alloc(9, 0xff)]);
}

function encodeLoc(loc: Loc): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt32LE(loc.position % 0x1_0000_0000, 0);
  b.writeUInt32LE(Math.floor(loc.position / 0x1_0000_0000), 4);
  b.writeUInt32LE(loc.length, 8);
  return b;
}

function decodeLoc(b: Buffer): Loc {
  return { position: b.readUInt32LE(0) + b.readUInt32LE(4) * 0x1_0000_0000, length: b.readUInt32LE(8) };
}

const textKey = (prefix: string, key: string): Buffer => Buffer.from(prefix + key, 'utf8');
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

/**
 * Changes applied since the last flush to LevelDB. `null` marks a removal. A queue in `dropped`
 * was deleted in this layer: nothing below the layer is visible for it.
 */
class Layer {
  readonly msgs = new Map<string, Map<number, Loc | null>>();
  /**
   * Locations of messages first added in this layer: neither LevelDB nor an older layer holds
   * them, so their removal drops the entry instead of writing a delete (a tombstone LevelDB
   * would log, keep in its memtable and compact away later, once per message).
   */
  readonly fresh = new Set<Loc>();
  readonly dropped = new Set<string>();
  readonly tx = new Map<string, Loc>();
  size = 0;
}

interface QueueInfo {
  count: number;
  lastSeq: number;
}

/**
 * The journal's index: (queue, seq) -> record location, plus destinations, durable
 * subscriptions, producer high-water marks, queue depths and committed transactions.
 *
 * Applying a batch only touches memory (a layer); a flush writes the layer to LevelDB in one
 * chained batch together with the checkpoint, so LevelDB is always exactly the state at the
 * checkpoint and recovery replays the log after it. A message added and acked between two
 * flushes never reaches LevelDB at all. Small metadata (destinations, subscriptions, producer
 * marks, depths) is also kept in memory in full; message locations are not.
 */
export class JournalIndex {
  private active = new Layer();
  private flushing: Layer | null = null;
  private flushDone: Promise<void> = Promise.resolve();
  readonly destinations = new Map<string, { ref: DestinationRef; position: number }>();
  readonly subscriptions = new Map<string, { rec: DurableSubscriptionRecord; position: number }>();
  readonly producers = new Map<string, { seq: number; position: number }>();
  readonly queues = new Map<string, QueueInfo>();
  private dirtyMeta = new Set<string>();
  /** End of the last batch applied (in memory). */
  appliedEnd = 0;
  appliedEpoch = 0;
  private lastRecord: { position: number; crc: number } | undefined;
  checkpoint: Checkpoint = { position: 0, epoch: 0 };

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly syncWrites: boolean,
  ) {}

  static async open(location: string, syncWrites: boolean): Promise<JournalIndex> {
    const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const index = new JournalIndex(db, syncWrites);
    await index.load();
    return index;
  }

  /** Whether LevelDB held a checkpoint (false for a new or wiped index). */
  hasCheckpoint = false;

  private async load(): Promise<void> {
    const cp = await this.db.get(K_CHECKPOINT);
    if (cp) {
      this.checkpoint = JSON.parse(cp.toString('utf8')) as Checkpoint;
      this.hasCheckpoint = true;
    }
    this.appliedEnd = this.checkpoint.position;
    this.appliedEpoch = this.checkpoint.epoch;
    this.lastRecord = this.checkpoint.lastRecord;
    for (const [prefix, fill] of [
      [P_DEST, (k: string, v: { ref: DestinationRef; position: number }) => this.destinations.set(k, v)],
      [P_SUB, (k: string, v: { rec: DurableSubscriptionRecord; position: number }) => this.subscriptions.set(k, v)],
      [P_PRODUCER, (k: string, v: { seq: number; position: number }) => this.producers.set(k, v)],
      [P_QUEUE, (k: string, v: QueueInfo) => this.queues.set(k, v)],
    ] as const) {
      for await (const [k, v] of this.db.iterator({ gte: Buffer.from(prefix), lt: Buffer.from(String.fromCharCode(prefix.charCodeAt(0) + 1)) })) {
        (fill as (k: string, v: unknown) => void)(k.toString('utf8').slice(1), JSON.parse(v.toString('utf8')));
      }
    }
  }

  /** Forgets everything (the index is rebuilt from the log). */
  async wipe(): Promise<void> {
    while (this.flushing) await this.flushDone;
    await this.db.clear();
    this.active = new Layer();
    this.destinations.clear();
    this.subscriptions.clear();
    this.producers.clear();
    this.queues.clear();
    this.dirtyMeta.clear();
    this.checkpoint = { position: 0, epoch: 0 };
    this.appliedEnd = 0;
    this.appliedEpoch = 0;
    this.lastRecord = undefined;
    this.hasCheckpoint = false;
  }

  recoveredState(): RecoveredState {
    return {
      destinations: [...this.destinations.values()].map((d) => d.ref),
      subscriptions: [...this.subscriptions.values()].map((s) => s.rec),
      queues: [...this.queues.entries()].map(([queue, q]) => ({ queue, count: q.count, lastSeq: q.lastSeq })),
      producerSeqs: new Map([...this.producers.entries()].map(([k, v]) => [k, v.seq])),
    };
  }

  get messageCount(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.count;
    return n;
  }

  /** Entries waiting in memory for the next flush. */
  get pendingEntries(): number {
    return this.active.size;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** Location of a live message, or undefined. Synchronous: LevelDB's getSync serves misses. */
  locate(queue: string, seq: number): Loc | undefined {
    const v = this.locateInLayers(queue, seq);
    if (v !== undefined) return v ?? undefined;
    const b = this.db.getSync(msgKey(queuePrefix(queue), seq));
    return b ? decodeLoc(b) : undefined;
  }

  /**
   * What the in-memory layers say, newest first: a location, `null` when they settle that there
   * is none (a removal, or a drop of the queue in a newer layer hides everything below it,
   * including an older layer still being flushed), or undefined when only LevelDB can tell.
   */
  private locateInLayers(queue: string, seq: number): Loc | null | undefined {
    for (const layer of this.flushing ? [this.active, this.flushing] : [this.active]) {
      const v = layer.msgs.get(queue)?.get(seq);
      if (v !== undefined) return v;
      if (layer.dropped.has(queue)) return null;
    }
    return undefined;
  }

  txLocation(txId: string): Loc | undefined {
    const v = this.active.tx.get(txId) ?? this.flushing?.tx.get(txId);
    if (v) return v;
    const b = this.db.getSync(textKey(P_TX, txId));
    return b ? decodeLoc(b) : undefined;
  }

  /** Up to `maxCount` live messages of `queue` with seq >= fromSeq, ascending. */
  async range(queue: string, fromSeq: number, maxCount: number): Promise<{ seq: number; loc: Loc }[]> {
    if (maxCount <= 0) return [];
    const overlay = new Map<number, Loc | null>();
    let dbVisible = true;
    for (const layer of this.flushing ? [this.flushing, this.active] : [this.active]) {
      if (layer.dropped.has(queue)) {
        overlay.clear();
        dbVisible = false;
      }
      const m = layer.msgs.get(queue);
      if (m) for (const [seq, loc] of m) if (seq >= fromSeq) overlay.set(seq, loc);
    }
    const extra: { seq: number; loc: Loc }[] = [];
    for (const [seq, loc] of overlay) if (loc) extra.push({ seq, loc });
    extra.sort((a, b) => a.seq - b.seq);
    const out: { seq: number; loc: Loc }[] = [];
    let ei = 0;
    if (dbVisible) {
      const prefix = queuePrefix(queue);
      const it = this.db.iterator({ gte: msgKey(prefix, Math.max(0, fromSeq)), lt: queueRangeEnd(prefix) });
      try {
        outer: for (;;) {
          const page = await it.nextv(Math.min(1000, maxCount + 16));
          if (page.length === 0) break;
          for (const [k, v] of page) {
            const seq = seqOfKey(k);
            while (ei < extra.length && extra[ei].seq < seq && out.length < maxCount) out.push(extra[ei++]);
            if (out.length >= maxCount) break outer;
            if (overlay.has(seq)) continue;
            out.push({ seq, loc: decodeLoc(v) });
            if (out.length >= maxCount) break outer;
          }
        }
      } finally {
        await it.close();
      }
    }
    while (ei < extra.length && out.length < maxCount) out.push(extra[ei++]);
    return out;
  }

  // ---- applying records ----------------------------------------------------------------------

  private setMsg(queue: string, seq: number, loc: Loc | null): void {
    let m = this.active.msgs.get(queue);
    if (!m) this.active.msgs.set(queue, (m = new Map()));
    if (!m.has(seq)) this.active.size++;
    m.set(seq, loc);
  }

  /** Drops a message added in the active layer from it; false if LevelDB or an older layer may hold it. */
  private forgetFresh(queue: string, seq: number): boolean {
    const m = this.active.msgs.get(queue);
    const loc = m?.get(seq);
    if (!loc || !this.active.fresh.delete(loc)) return false;
    m!.delete(seq);
    this.active.size--;
    return true;
  }

  private dropQueue(queue: string): void {
    const m = this.active.msgs.get(queue);
    if (m) {
      this.active.size -= m.size;
      this.active.msgs.delete(queue);
    }
    this.active.dropped.add(queue);
    this.active.size++;
    if (this.queues.delete(queue)) this.dirtyMeta.add(P_QUEUE + queue);
  }

  private touchQueue(queue: string): QueueInfo {
    let q = this.queues.get(queue);
    if (!q) this.queues.set(queue, (q = { count: 0, lastSeq: 0 }));
    this.dirtyMeta.add(P_QUEUE + queue);
    return q;
  }

  /**
   * Applies one complete batch (all of its records made it to the log). Idempotent against the
   * checkpoint: replaying records already in LevelDB would not happen, because the checkpoint
   * sits exactly at a flushed batch boundary.
   */
  apply(records: IndexRecord[], endPosition: number, epoch: number): void {
    for (const r of records) this.applyOne(r);
    const last = records[records.length - 1];
    if (last) this.lastRecord = { position: last.position, crc: last.crc };
    this.appliedEnd = endPosition;
    this.appliedEpoch = epoch;
  }

  private applyOne(r: IndexRecord): void {
    const op = r.op;
    if (!op) return;
    const loc: Loc = { position: r.position, length: r.length };
    switch (op.type) {
      case 'add': {
        // A compaction copy replaces the original's location (the count stays). The compactor
        // writes a copy only while nothing that cancels the original is on its way to the log,
        // so replaying a copy never brings back an acked message.
        // Seqs of new messages are fresh (the broker only raises them), so only a compaction
        // copy pays for a LevelDB lookup; a re-add still seen in memory is not counted twice.
        // A queue dropped and recreated reuses its seqs, so the drop must hide the old seq even
        // while a flush still holds it in the frozen layer, or the new message goes uncounted.
        const existing = r.rewrite ? this.locate(op.queue, op.seq) : this.locateInLayers(op.queue, op.seq);
        this.setMsg(op.queue, op.seq, loc);
        if (!r.rewrite && existing === undefined) this.active.fresh.add(loc);
        const q = this.touchQueue(op.queue);
        if (!existing) q.count++;
        if (op.seq > q.lastSeq) q.lastSeq = op.seq;
        return;
      }
      case 'remove': {
        if (!this.locate(op.queue, op.seq)) return;
        if (!this.forgetFresh(op.queue, op.seq)) this.setMsg(op.queue, op.seq, null);
        this.touchQueue(op.queue).count--;
        return;
      }
      case 'destination-add': {
        const key = destinationKey(op.destination);
        this.destinations.set(key, { ref: op.destination, position: r.position });
        this.dirtyMeta.add(P_DEST + key);
        return;
      }
      case 'destination-remove': {
        const key = destinationKey(op.destination);
        if (this.destinations.delete(key)) this.dirtyMeta.add(P_DEST + key);
        this.dropQueue(key);
        return;
      }
      case 'subscription-add': {
        const key = durableQueueKey(op.subscription.clientId, op.subscription.name);
        this.subscriptions.set(key, { rec: op.subscription, position: r.position });
        this.dirtyMeta.add(P_SUB + key);
        return;
      }
      case 'subscription-remove': {
        const key = durableQueueKey(op.clientId, op.name);
        if (this.subscriptions.delete(key)) this.dirtyMeta.add(P_SUB + key);
        this.dropQueue(key);
        return;
      }
      case 'producer-seq': {
        // Re-inserting keeps the map in recency order, so the oldest producer is evicted first.
        this.producers.delete(op.producerId);
        this.producers.set(op.producerId, { seq: op.seq, position: r.position });
        this.dirtyMeta.add(P_PRODUCER + op.producerId);
        if (this.producers.size > PRODUCER_WINDOW) {
          const oldest = this.producers.keys().next().value as string;
          this.producers.delete(oldest);
          this.dirtyMeta.add(P_PRODUCER + oldest);
        }
        return;
      }
      case 'tx-commit': {
        if (!this.active.tx.has(op.txId)) this.active.size++;
        this.active.tx.set(op.txId, loc);
        return;
      }
    }
  }

  /** Whether the record at `position` (of this type, about this key) is still the live copy. */
  isLive(type: number, op: IndexOp | null, position: number): boolean {
    if (!op) return false;
    switch (type) {
      case RecordType.ADD:
        if (op.type !== 'add') return false;
        return this.locate(op.queue, op.seq)?.position === position;
      case RecordType.DESTINATION_ADD:
        return op.type === 'destination-add' && this.destinations.get(destinationKey(op.destination))?.position === position;
      case RecordType.SUBSCRIPTION_ADD:
        return op.type === 'subscription-add' && this.subscriptions.get(durableQueueKey(op.subscription.clientId, op.subscription.name))?.position === position;
      case RecordType.PRODUCER_SEQ:
        return op.type === 'producer-seq' && this.producers.get(op.producerId)?.position === position;
      case RecordType.TX_COMMIT:
        return op.type === 'tx-commit' && this.txLocation(op.txId)?.position === position;
      default:
        return false;
    }
  }

  // ---- flushing ------------------------------------------------------------------------------

  /**
   * Writes everything applied so far to LevelDB, with the checkpoint, in one atomic batch.
   * The caller must have fsynced the log up to `appliedEnd` (it only applies fsynced batches).
   */
  async flush(): Promise<void> {
    // Callers that arrive while a flush runs all wake when it ends; only the first to look may
    // start the next one, the others wait again. Two flushes side by side would each replace
    // `flushing` (hiding the other's frozen layer from lookups), and the later checkpoint could
    // reach LevelDB before the entries it claims.
    while (this.flushing) await this.flushDone;
    if (this.active.size === 0 && this.dirtyMeta.size === 0 && this.checkpoint.position === this.appliedEnd && this.hasCheckpoint) return;
    const layer = this.active;
    this.active = new Layer();
    this.flushing = layer;
    // Snapshot now, synchronously, so LevelDB gets exactly the state at the checkpoint.
    const meta: [Buffer, Buffer | null][] = [];
    for (const k of this.dirtyMeta) {
      const kind = k[0];
      const name = k.slice(1);
      const v =
        kind === P_DEST ? this.destinations.get(name) : kind === P_SUB ? this.subscriptions.get(name) : kind === P_PRODUCER ? this.producers.get(name) : this.queues.get(name);
      meta.push([textKey(kind, name), v === undefined ? null : json(v)]);
    }
    this.dirtyMeta = new Set();
    const checkpoint: Checkpoint = { position: this.appliedEnd, epoch: this.appliedEpoch, lastRecord: this.lastRecord };
    const run = async () => {
      // Clearing a dropped queue first is safe even if we crash before the batch: the drop
      // record lies after the old checkpoint and is replayed.
      for (const queue of layer.dropped) {
        const prefix = queuePrefix(queue);
        await this.db.clear({ gte: prefix, lt: queueRangeEnd(prefix) });
      }
      const batch = this.db.batch();
      // The layer is frozen (new changes go to `active`), so the batch can be built in slices
      // with the event loop served in between: 20,000 entries in one go stalled it for tens of ms.
      let n = 0;
      for (const [queue, m] of layer.msgs) {
        const prefix = queuePrefix(queue);
        for (const [seq, loc] of m) {
          if (loc) batch.put(msgKey(prefix, seq), encodeLoc(loc));
          else batch.del(msgKey(prefix, seq));
          if (++n % FLUSH_ENTRIES_PER_SLICE === 0) await yieldToLoop();
        }
      }
      for (const [txId, loc] of layer.tx) batch.put(textKey(P_TX, txId), encodeLoc(loc));
      for (const [k, v] of meta) {
        if (v) batch.put(k, v);
        else batch.del(k);
      }
      batch.put(K_CHECKPOINT, json(checkpoint));
      await batch.write({ sync: this.syncWrites });
      this.checkpoint = checkpoint;
      this.hasCheckpoint = true;
    };
    const done = run()
      .catch((e: unknown) => {
        this.restore(layer, meta);
        throw e;
      })
      .finally(() => {
        this.flushing = null;
      });
    this.flushDone = done.catch(() => {});
    await done;
  }

  /** Puts a layer whose flush failed back under the active one, so nothing applied is lost. */
  private restore(layer: Layer, meta: [Buffer, Buffer | null][]): void {
    const active = this.active;
    for (const [queue, m] of layer.msgs) {
      if (active.dropped.has(queue)) continue;
      let am = active.msgs.get(queue);
      if (!am) active.msgs.set(queue, (am = new Map()));
      for (const [seq, loc] of m) {
        if (!am.has(seq)) {
          am.set(seq, loc);
          active.size++;
          // Still in no LevelDB write: a removal now may simply drop it.
          if (loc && layer.fresh.has(loc)) active.fresh.add(loc);
        }
      }
    }
    for (const queue of layer.dropped) active.dropped.add(queue);
    for (const [txId, loc] of layer.tx) if (!active.tx.has(txId)) active.tx.set(txId, loc);
    for (const [k] of meta) this.dirtyMeta.add(k.toString('utf8'));
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushDone;
    await this.db.close();
  }

  /** Every message location in LevelDB (offline verification). */
  async *allMessages(): AsyncGenerator<{ queue: string; seq: number; loc: Loc }> {
    for await (const [k, v] of this.db.iterator({ gte: Buffer.from([P_MSG]), lt: Buffer.from([P_MSG + 1]) })) {
      const qlen = k.readUInt16BE(1);
      yield { queue: k.toString('utf8', 3, 3 + qlen), seq: seqOfKey(k), loc: decodeLoc(v) };
    }
  }
}
