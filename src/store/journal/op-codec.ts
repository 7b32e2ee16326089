import { destinationKey, parseDestinationKey, type DestinationRef, type Message } from '../../broker/message.js';
import type { DurableSubscriptionRecord, StoreOp } from '../message-store.js';
import { QmqError } from '../../util/errors.js';
import { setOwn } from '../../util/own-property.js';
import { HEADER_BYTES, RecordType } from './record-codec.js';
import type { IndexOp } from './leveldb-index.js';

/**
 * StoreOp <-> record payload. Every payload starts with the fields that identify what it is
 * about (queue then seq for messages), so compaction and replication can read the key without
 * decoding the whole message. Numbers are f64 (seqs and timestamps fit in 2^53).
 */

const F_BYTES = 1;
const F_PERSISTENT = 2;
const F_ORIGINAL = 4;
const F_PRODUCER_ID = 8;
const F_PRODUCER_SEQ = 16;

/**
 * Writes a payload into a buffer the caller sized with `maxRecordBytes`. One instance is reused
 * for every record, so encoding allocates nothing per record.
 */
class PayloadWriter {
  buf: Buffer = EMPTY;
  offset = 0;
  str(s: string): void {
    // Room was reserved for the worst case (3 bytes per UTF-16 unit), so nothing is cut off.
    const n = this.buf.write(s, this.offset + 4);
    this.buf.writeUInt32LE(n, this.offset);
    this.offset += 4 + n;
  }
  f64(v: number): void {
    this.buf.writeDoubleLE(v, this.offset);
    this.offset += 8;
  }
  u32(v: number): void {
    this.buf.writeUInt32LE(v, this.offset);
    this.offset += 4;
  }
  u8(v: number): void {
    this.buf[this.offset++] = v;
  }
  bytes(b: Buffer): void {
    this.u32(b.length);
    this.buf.set(b, this.offset);
    this.offset += b.length;
  }
}

const EMPTY = Buffer.alloc(0);
const shared = new PayloadWriter();

export class PayloadReader {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new QmqError('STORE_CORRUPT', `record payload ends early (wanted ${n} bytes at ${this.offset} of ${this.buf.length})`);
  }
  str(): string {
    this.need(4);
    const n = this.buf.readUInt32LE(this.offset);
    this.need(4 + n);
    const s = this.buf.toString('utf8', this.offset + 4, this.offset + 4 + n);
    this.offset += 4 + n;
    return s;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.offset);
    this.offset += 8;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    // A copy, so a message does not pin the (possibly large) read buffer it came from.
    const b = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return b;
  }
}

/** An upper bound of a string's encoded size: UTF-8 takes at most 3 bytes per UTF-16 unit. */
const strBound = (s: string): number => 4 + 3 * s.length;

/** `kind://name` (the kind is a short ASCII word). */
const destBound = (d: DestinationRef): number => 4 + 32 + 3 * d.name.length;

function messageBound(m: Message): number {
  // id, destination key (kind:// + name), header count, flags, priority, expires, timestamp,
  // redelivery count, body length.
  let n = strBound(m.id) + destBound(m.destination) + 4 + 1 + 1 + 8 + 8 + 4 + 4 + m.body.length;
  for (const k in m.headers) n += strBound(k) + strBound(m.headers[k]);
  if (m.originalDestination) n += destBound(m.originalDestination);
  if (m.producerId !== undefined) n += strBound(m.producerId);
  if (m.producerSeq !== undefined) n += 8;
  return n;
}

function writeMessage(w: PayloadWriter, m: Message): void {
  w.str(m.id);
  w.str(destinationKey(m.destination));
  const keys = Object.keys(m.headers);
  w.u32(keys.length);
  for (const k of keys) {
    w.str(k);
    w.str(m.headers[k]);
  }
  let flags = 0;
  if (m.bodyIsBytes) flags |= F_BYTES;
  if (m.persistent) flags |= F_PERSISTENT;
  if (m.originalDestination) flags |= F_ORIGINAL;
  if (m.producerId !== undefined) flags |= F_PRODUCER_ID;
  if (m.producerSeq !== undefined) flags |= F_PRODUCER_SEQ;
  w.u8(flags);
  w.u8(m.priority);
  w.f64(m.expires);
  w.f64(m.timestamp);
  w.u32(m.redeliveryCount);
  if (m.originalDestination) w.str(destinationKey(m.originalDestination));
  if (m.producerId !== undefined) w.str(m.producerId);
  if (m.producerSeq !== undefined) w.f64(m.producerSeq);
  w.bytes(m.body);
}

function readMessage(r: PayloadReader): Message {
  const id = r.str();
  const destination = parseDestinationKey(r.str());
  const headerCount = r.u32();
  const headers: Record<string, string> = {};
  for (let i = 0; i < headerCount; i++) {
    const k = r.str();
    setOwn(headers, k, r.str());
  }
  const flags = r.u8();
  const priority = r.u8();
  const expires = r.f64();
  const timestamp = r.f64();
  const redeliveryCount = r.u32();
  const m: Message = {
    id,
    destination,
    headers,
    body: Buffer.alloc(0),
    bodyIsBytes: (flags & F_BYTES) !== 0,
    persistent: (flags & F_PERSISTENT) !== 0,
    priority,
    expires,
    timestamp,
    redeliveryCount,
  };
  if (flags & F_ORIGINAL) m.originalDestination = parseDestinationKey(r.str());
  if (flags & F_PRODUCER_ID) m.producerId = r.str();
  if (flags & F_PRODUCER_SEQ) m.producerSeq = r.f64();
  m.body = r.bytes();
  return m;
}

export interface EncodedOp {
  type: number;
  /** HEADER_BYTES of room, then the payload; the header is filled when the record is placed. */
  buf: Buffer;
}

/** An upper bound of the bytes `encodeOpInto` writes for `op`, header included. */
export function maxRecordBytes(op: StoreOp): number {
  switch (op.type) {
    case 'add':
      return HEADER_BYTES + strBound(op.queue) + 8 + messageBound(op.message);
    case 'remove':
      return HEADER_BYTES + strBound(op.queue) + 8;
    case 'destination-add':
    case 'destination-remove':
      return HEADER_BYTES + destBound(op.destination);
    case 'subscription-add':
      // JSON.stringify's output is needed anyway; its bound is computed when it is written.
      return HEADER_BYTES + strBound(JSON.stringify(op.subscription));
    case 'subscription-remove':
      return HEADER_BYTES + strBound(op.clientId) + strBound(op.name);
    case 'producer-seq':
      return HEADER_BYTES + strBound(op.producerId) + 8;
    case 'tx-commit':
      return HEADER_BYTES + strBound(op.txId);
  }
}

/** The record type of an op; only its `type` matters, so index-side ops (which carry no message) map too. */
export function recordTypeOf(op: { type: StoreOp['type'] }): number {
  switch (op.type) {
    case 'add':
      return RecordType.ADD;
    case 'remove':
      return RecordType.REMOVE;
    case 'destination-add':
      return RecordType.DESTINATION_ADD;
    case 'destination-remove':
      return RecordType.DESTINATION_REMOVE;
    case 'subscription-add':
      return RecordType.SUBSCRIPTION_ADD;
    case 'subscription-remove':
      return RecordType.SUBSCRIPTION_REMOVE;
    case 'producer-seq':
      return RecordType.PRODUCER_SEQ;
    case 'tx-commit':
      return RecordType.TX_COMMIT;
  }
}

function writePayload(w: PayloadWriter, op: StoreOp): void {
  switch (op.type) {
    case 'add':
      w.str(op.queue);
      w.f64(op.seq);
      writeMessage(w, op.message);
      return;
    case 'remove':
      w.str(op.queue);
      w.f64(op.seq);
      return;
    case 'destination-add':
    case 'destination-remove':
      w.str(destinationKey(op.destination));
      return;
    case 'subscription-add':
      w.str(JSON.stringify(op.subscription));
      return;
    case 'subscription-remove':
      w.str(op.clientId);
      w.str(op.name);
      return;
    case 'producer-seq':
      w.str(op.producerId);
      w.f64(op.seq);
      return;
    case 'tx-commit':
      w.str(op.txId);
      return;
  }
}

/**
 * Serialises `op`'s payload straight into `buf` after HEADER_BYTES of room at `offset` and
 * returns the record's length (header included); the header is filled when the record is
 * placed. `buf` must have `maxRecordBytes(op)` bytes free from `offset`.
 */
export function encodeOpInto(op: StoreOp, buf: Buffer, offset: number): number {
  const w = shared;
  w.buf = buf;
  w.offset = offset + HEADER_BYTES;
  try {
    writePayload(w, op);
    return w.offset - offset;
  } finally {
    // The writer must not keep a (possibly large) buffer alive between records.
    w.buf = EMPTY;
  }
}

export interface EncodedOp {
  type: number;
  /** HEADER_BYTES of room, then the payload; the header is filled when the record is placed. */
  buf: Buffer;
}

/** One op in a buffer of its own (tests and tools; the writer uses `encodeOpInto`). */
export function encodeOp(op: StoreOp): EncodedOp {
  const buf = Buffer.allocUnsafe(maxRecordBytes(op));
  const length = encodeOpInto(op, buf, 0);
  return { type: recordTypeOf(op), buf: buf.subarray(0, length) };
}

/** An empty-payload record (epoch marker). */
export function encodeEmpty(type: number): EncodedOp {
  return { type, buf: Buffer.allocUnsafe(HEADER_BYTES) };
}

/** Re-frames an existing payload (compaction copies a live record without decoding it). */
export function encodeRawPayload(type: number, payload: Buffer): EncodedOp {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  payload.copy(buf, HEADER_BYTES);
  return { type, buf };
}

/** The StoreOp a record carries, or null for records that are not ops (epoch marker, padding). */
export function decodeOp(type: number, payload: Buffer): StoreOp | null {
  const r = new PayloadReader(payload);
  switch (type) {
    case RecordType.ADD: {
      const queue = r.str();
      const seq = r.f64();
      return { type: 'add', queue, seq, message: readMessage(r) };
    }
    case RecordType.REMOVE: {
      const queue = r.str();
      return { type: 'remove', queue, seq: r.f64() };
    }
    case RecordType.DESTINATION_ADD:
      return { type: 'destination-add', destination: parseDestinationKey(r.str()) };
    case RecordType.DESTINATION_REMOVE:
      return { type: 'destination-remove', destination: parseDestinationKey(r.str()) };
    case RecordType.SUBSCRIPTION_ADD:
      return { type: 'subscription-add', subscription: JSON.parse(r.str()) as DurableSubscriptionRecord };
    case RecordType.SUBSCRIPTION_REMOVE: {
      const clientId = r.str();
      return { type: 'subscription-remove', clientId, name: r.str() };
    }
    case RecordType.PRODUCER_SEQ: {
      const producerId = r.str();
      return { type: 'producer-seq', producerId, seq: r.f64() };
    }
    case RecordType.TX_COMMIT:
      return { type: 'tx-commit', txId: r.str() };
    default:
      return null;
  }
}

/** (queue, seq) of an ADD or REMOVE payload without decoding the message. */
export function decodeMessageKey(payload: Buffer): { queue: string; seq: number } {
  const r = new PayloadReader(payload);
  const queue = r.str();
  return { queue, seq: r.f64() };
}

/** The op as the index needs it: for a message add only its key, so replay never copies bodies. */
export function decodeIndexOp(type: number, payload: Buffer): IndexOp | null {
  if (type === RecordType.ADD) return { type: 'add', ...decodeMessageKey(payload) };
  return decodeOp(type, payload);
}
