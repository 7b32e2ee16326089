/**
 * OpenWire's primitive encodings: Java's DataInput/DataOutput (big-endian integers, one byte per
 * boolean) and Java's "modified UTF-8" strings (each UTF-16 unit on its own, NUL as two bytes).
 * Everything a peer sends is read through `WireReader`, whose every read is bounds-checked, so a
 * truncated or lying frame ends in one `FRAME_MALFORMED` error that says what was being read.
 */
import { QmqError } from '../../util/errors.js';

/** Bytes of Java's modified UTF-8 for `s`. */
export function modifiedUtf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c >= 1 && c <= 0x7f ? 1 : c <= 0x7ff ? 2 : 3;
  }
  return n;
}

export function encodeModifiedUtf8(s: string): Buffer {
  const out = Buffer.allocUnsafe(modifiedUtf8Length(s));
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 1 && c <= 0x7f) out[o++] = c;
    else if (c <= 0x7ff) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}

export function decodeModifiedUtf8(b: Buffer, what: string): string {
  // Pure ASCII is the common case and decodes the same in both encodings.
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0 || b[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return b.toString('latin1');
  const units: number[] = [];
  for (let i = 0; i < b.length; ) {
    const x = b[i];
    if (x < 0x80) {
      units.push(x);
      i += 1;
    } else if ((x & 0xe0) === 0xc0 && i + 1 < b.length && (b[i + 1] & 0xc0) === 0x80) {
      units.push(((x & 0x1f) << 6) | (b[i + 1] & 0x3f));
      i += 2;
    } else if ((x & 0xf0) === 0xe0 && i + 2 < b.length && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80) {
      units.push(((x & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f));
      i += 3;
    } else {
      throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} is not valid modified UTF-8 (byte 0x${x.toString(16)} at ${i})`);
    }
  }
  let s = '';
  for (let i = 0; i < units.length; i += 8192) s += String.fromCharCode(...units.slice(i, i + 8192));
  return s;
}

export class WireReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.off + n > this.buf.length) {
      throw new QmqError('FRAME_MALFORMED', `OpenWire: the frame ends inside ${what} (needs ${n} bytes at offset ${this.off}, ${this.remaining} left)`);
    }
  }

  bool(what: string): boolean {
    this.need(1, what);
    return this.buf[this.off++] !== 0;
  }

  byte(what: string): number {
    this.need(1, what);
    return this.buf.readInt8(this.off++);
  }

  short(what: string): number {
    this.need(2, what);
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }

  ushort(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }

  int(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  /** Java longs become numbers: ids, times and counters stay far below 2^53. */
  long(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigInt64BE(this.off);
    this.off += 8;
    return Number(v);
  }

  float(what: string): number {
    this.need(4, what);
    const v = this.buf.readFloatBE(this.off);
    this.off += 4;
    return v;
  }

  double(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleBE(this.off);
    this.off += 8;
    return v;
  }

  raw(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  /** DataInput.readUTF: a 16-bit length, then modified UTF-8. */
  utf(what: string): string {
    return decodeModifiedUtf8(this.raw(this.ushort(what), what), what);
  }
}

export class WireWriter {
  private buf = Buffer.allocUnsafe(256);
  private off = 0;

  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  bool(v: boolean): this {
    this.room(1);
    this.buf[this.off++] = v ? 1 : 0;
    return this;
  }

  byte(v: number): this {
    this.room(1);
    this.buf.writeInt8(((v << 24) >> 24), this.off++);
    return this;
  }

  short(v: number): this {
    this.room(2);
    this.buf.writeInt16BE(((v << 16) >> 16), this.off);
    this.off += 2;
    return this;
  }

  int(v: number): this {
    this.room(4);
    this.buf.writeInt32BE(v | 0, this.off);
    this.off += 4;
    return this;
  }

  long(v: number): this {
    this.room(8);
    this.buf.writeBigInt64BE(BigInt(Math.trunc(v)), this.off);
    this.off += 8;
    return this;
  }

  float(v: number): this {
    this.room(4);
    this.buf.writeFloatBE(v, this.off);
    this.off += 4;
    return this;
  }

  double(v: number): this {
    this.room(8);
    this.buf.writeDoubleBE(v, this.off);
    this.off += 8;
    return this;
  }

  raw(b: Buffer): this {
    this.room(b.length);
    b.copy(this.buf, this.off);
    this.off += b.length;
    return this;
  }

  /** DataOutput.writeUTF; Java refuses strings over 65535 encoded bytes, and so do we. */
  utf(s: string, what: string): this {
    const b = encodeModifiedUtf8(s);
    if (b.length > 0xffff) throw new QmqError('FRAME_TOO_LARGE', `OpenWire: ${what} is ${b.length} bytes; a string field holds at most 65535`);
    this.room(2);
    this.buf.writeUInt16BE(b.length, this.off);
    this.off += 2;
    return this.raw(b);
  }

  get length(): number {
    return this.off;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}
