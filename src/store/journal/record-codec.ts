import { crc32c } from '@node-rs/crc32';

/**
 * The journal record frame (DESIGN §3), little endian:
 *
 *   0  u32  length    whole record, header included (so 0 can mean "no record here")
 *   4  u32  crc32c    over bytes 8..length
 *   8  u64  epoch     of the master that wrote it (replication fences on it)
 *  16  u64  position  the record's byte offset in the whole log
 *  24  u8   type      low 5 bits: RecordType; 0x80 = the batch continues; 0x40 = compaction copy
 *  25  …    payload
 *
 * The position inside the CRC makes a record valid only at the one place it was written, which
 * is what lets recovery tell a torn tail from damage in the middle of the log.
 */
export const HEADER_BYTES = 25;
/** Guards against a damaged length field sending a reader into gigabytes of garbage. */
export const MAX_RECORD_BYTES = 512 * 1024 * 1024;

export const RecordType = {
  ADD: 1,
  REMOVE: 2,
  DESTINATION_ADD: 3,
  DESTINATION_REMOVE: 4,
  SUBSCRIPTION_ADD: 5,
  SUBSCRIPTION_REMOVE: 6,
  PRODUCER_SEQ: 7,
  TX_COMMIT: 8,
  EPOCH: 9,
  /** Covers bytes that `store verify --repair` quarantined; replay skips it. */
  PAD: 10,
  // Reserved for XA-style two-phase commit (DESIGN §3 lists them); not written yet.
  TX_PREPARE: 11,
  TX_ROLLBACK: 12,
} as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

export const FLAG_MORE = 0x80;
export const FLAG_REWRITE = 0x40;
const TYPE_MASK = 0x1f;

const KNOWN_TYPES = new Set<number>(Object.values(RecordType));

export function recordTypeName(type: number): string {
  for (const [name, code] of Object.entries(RecordType)) if (code === type) return name;
  return `UNKNOWN(${type})`;
}

export interface RecordHeader {
  length: number;
  crc: number;
  epoch: number;
  position: number;
  type: number;
  more: boolean;
  rewrite: boolean;
}

export interface DecodedRecord extends RecordHeader {
  /** A view into the buffer it was read from; copy it if it must outlive that buffer. */
  payload: Buffer;
}

function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, offset);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}

/**
 * Fills the header of a record whose payload is already in `buf[offset+25 .. offset+length)`,
 * so a payload is serialised once, straight into the buffer that goes to disk.
 */
export function sealRecord(buf: Buffer, offset: number, length: number, epoch: number, position: number, typeByte: number): void {
  buf.writeUInt32LE(length, offset);
  writeU64(buf, epoch, offset + 8);
  writeU64(buf, position, offset + 16);
  buf[offset + 24] = typeByte;
  buf.writeUInt32LE(crc32c(buf.subarray(offset + 8, offset + length)), offset + 4);
}

export function typeByte(type: number, more: boolean, rewrite: boolean): number {
  return (type & TYPE_MASK) | (more ? FLAG_MORE : 0) | (rewrite ? FLAG_REWRITE : 0);
}

export function encodeRecord(type: number, payload: Uint8Array, epoch: number, position: number, flags: { more?: boolean; rewrite?: boolean } = {}): Buffer {
  const length = HEADER_BYTES + payload.length;
  const buf = Buffer.allocUnsafe(length);
  buf.set(payload, HEADER_BYTES);
  sealRecord(buf, 0, length, epoch, position, typeByte(type, flags.more ?? false, flags.rewrite ?? false));
  return buf;
}

/** Overwrites the position (and CRC) of an encoded record, used when its place is decided late. */
export function repositionRecord(buf: Buffer, offset: number, position: number, epoch: number): void {
  const length = buf.readUInt32LE(offset);
  writeU64(buf, epoch, offset + 8);
  writeU64(buf, position, offset + 16);
  buf.writeUInt32LE(crc32c(buf.subarray(offset + 8, offset + length)), offset + 4);
}

export type DecodeResult =
  | { ok: true; record: DecodedRecord }
  /** `empty`: the length field is 0, i.e. zero-filled (preallocated) space: the end of the data. */
  | { ok: false; reason: 'empty' | 'short-header' | 'bad-length' | 'truncated' | 'bad-crc' | 'bad-position' | 'bad-type'; needBytes?: number };

/**
 * Validates the record that starts at `buf[offset]`, which must sit at log position
 * `expectedPosition`. Never throws: a damaged record is a normal input here.
 */
export function decodeRecordAt(buf: Buffer, offset: number, expectedPosition: number): DecodeResult {
  const available = buf.length - offset;
  if (available < 4) return { ok: false, reason: available > 0 && anyNonZero(buf, offset, buf.length) ? 'short-header' : 'empty' };
  const length = buf.readUInt32LE(offset);
  if (length === 0) return { ok: false, reason: 'empty' };
  if (available < HEADER_BYTES) return { ok: false, reason: 'short-header', needBytes: HEADER_BYTES };
  if (length < HEADER_BYTES || length > MAX_RECORD_BYTES) return { ok: false, reason: 'bad-length' };
  if (length > available) return { ok: false, reason: 'truncated', needBytes: length };
  const position = readU64(buf, offset + 16);
  if (position !== expectedPosition) return { ok: false, reason: 'bad-position' };
  const crc = buf.readUInt32LE(offset + 4);
  if (crc32c(buf.subarray(offset + 8, offset + length)) !== crc) return { ok: false, reason: 'bad-crc' };
  const tb = buf[offset + 24];
  const type = tb & TYPE_MASK;
  if (!KNOWN_TYPES.has(type)) return { ok: false, reason: 'bad-type' };
  return {
    ok: true,
    record: {
      length,
      crc,
      epoch: readU64(buf, offset + 8),
      position,
      type,
      more: (tb & FLAG_MORE) !== 0,
      rewrite: (tb & FLAG_REWRITE) !== 0,
      payload: buf.subarray(offset + HEADER_BYTES, offset + length),
    },
  };
}

/** Cheap pre-check before a CRC: does a record claiming to sit at `position` start here? */
export function looksLikeRecordAt(buf: Buffer, offset: number, position: number): boolean {
  if (buf.length - offset < HEADER_BYTES) return false;
  const length = buf.readUInt32LE(offset);
  if (length < HEADER_BYTES || length > MAX_RECORD_BYTES) return false;
  return readU64(buf, offset + 16) === position;
}

export function anyNonZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return true;
  return false;
}
