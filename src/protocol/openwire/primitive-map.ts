/**
 * ActiveMQ's typed map encoding (message properties, WireFormatInfo options) and the body of a
 * text message. A map is a 32-bit count, then per entry a writeUTF key and a typed value: one
 * type byte (MarshallingSupport's numbering), then the value.
 */
import { inflateSync } from 'node:zlib';
import { QmqError } from '../../util/errors.js';
import { decodeModifiedUtf8, encodeModifiedUtf8, WireReader, WireWriter } from './wire-data.js';

const NULL = 0;
const BOOLEAN = 1;
const BYTE = 2;
const CHAR = 3;
const SHORT = 4;
const INTEGER = 5;
const LONG = 6;
const DOUBLE = 7;
const FLOAT = 8;
const STRING = 9;
const BYTE_ARRAY = 10;
const MAP = 11;
const LIST = 12;
const BIG_STRING = 13;

/** A value we write with a Java type the reader insists on (`(Long) getProperty(...)`). */
export type TypedValue =
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'long'; v: number }
  | { t: 'string'; v: string };

export type PrimitiveValue = null | boolean | number | string | Buffer | PrimitiveValue[] | { [k: string]: PrimitiveValue };

/** JVM type letters of the scalar property types JMS allows besides String. */
export type JavaScalarType = 'Z' | 'B' | 'C' | 'S' | 'I' | 'J' | 'F' | 'D';
const LETTER_OF: Partial<Record<number, JavaScalarType>> = { [BOOLEAN]: 'Z', [BYTE]: 'B', [CHAR]: 'C', [SHORT]: 'S', [INTEGER]: 'I', [LONG]: 'J', [FLOAT]: 'F', [DOUBLE]: 'D' };


const MAX_DEPTH = 8;

function readValue(r: WireReader, what: string, depth: number): PrimitiveValue {
  return readTypedValue(r, what, depth).v;
}

/** Java's Float.toString: the shortest decimal that reads back as the same float. */
function floatString(f: number): number {
  for (let p = 1; p < 9; p++) {
    const x = Number(f.toPrecision(p));
    if (Math.fround(x) === f) return x;
  }
  return f;
}

function readTypedValue(r: WireReader, what: string, depth: number): { v: PrimitiveValue; t?: JavaScalarType } {
  const type = r.byte(what);
  const t = LETTER_OF[type];
  if (t === 'F') return { v: floatString(r.float(what)), t };
  return { v: readUntyped(r, type, what, depth), t };
}

function readUntyped(r: WireReader, type: number, what: string, depth: number): PrimitiveValue {
  switch (type) {
    case NULL:
      return null;
    case BOOLEAN:
      return r.bool(what);
    case BYTE:
      return r.byte(what);
    case CHAR:
      return String.fromCharCode(r.ushort(what));
    case SHORT:
      return r.short(what);
    case INTEGER:
      return r.int(what);
    case LONG:
      return r.long(what);
    case DOUBLE:
      return r.double(what);
    case FLOAT:
      return r.float(what);
    case STRING:
      return r.utf(what);
    case BIG_STRING:
      return decodeModifiedUtf8(r.raw(r.int(what), what), what);
    case BYTE_ARRAY:
      return Buffer.from(r.raw(r.int(what), what));
    case MAP:
      if (depth >= MAX_DEPTH) throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} nests maps deeper than ${MAX_DEPTH}`);
      return readMapBody(r, what, depth + 1) ?? {};
    case LIST: {
      if (depth >= MAX_DEPTH) throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} nests lists deeper than ${MAX_DEPTH}`);
      const n = r.int(what);
      if (n < 0 || n > r.remaining) throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} declares ${n} list items`);
      const out: PrimitiveValue[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r, `${what}[${i}]`, depth + 1));
      return out;
    }
    default:
      throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} has unknown value type ${type}`);
  }
}

function readMapBody(r: WireReader, what: string, depth: number): Record<string, PrimitiveValue> | null {
  const n = r.int(what);
  if (n < 0) return null;
  // Each entry takes at least 3 bytes, so a count beyond that is a lie, found before allocating.
  if (n * 3 > r.remaining) throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} declares ${n} entries in ${r.remaining} bytes`);
  const out: Record<string, PrimitiveValue> = {};
  for (let i = 0; i < n; i++) {
    const key = r.utf(`${what} key`);
    out[key] = readValue(r, `${what}.${key}`, depth);
  }
  return out;
}

export function decodePrimitiveMap(b: Buffer, what: string): Record<string, PrimitiveValue> {
  const r = new WireReader(b);
  return readMapBody(r, what, 0) ?? {};
}

/** Message properties: each value, and the Java type of those that are scalars other than String. */
export function decodeProperties(b: Buffer, what: string): { values: Record<string, PrimitiveValue>; types: Record<string, JavaScalarType> } {
  const r = new WireReader(b);
  const n = r.int(what);
  const values: Record<string, PrimitiveValue> = {};
  const types: Record<string, JavaScalarType> = {};
  if (n < 0) return { values, types };
  if (n * 3 > r.remaining) throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} declares ${n} entries in ${r.remaining} bytes`);
  for (let i = 0; i < n; i++) {
    const key = r.utf(`${what} key`);
    const { v, t } = readTypedValue(r, `${what}.${key}`, 0);
    values[key] = v;
    if (t !== undefined) types[key] = t;
  }
  return { values, types };
}

/** String property values, written back with their Java types where `types` names one and the string parses as it. */
export function encodeProperties(m: Record<string, string>, types: Record<string, string>): Buffer {
  const w = new WireWriter();
  const keys = Object.keys(m);
  w.int(keys.length);
  for (const k of keys) {
    w.utf(k, `property name ${k}`);
    const v = m[k];
    const t = Object.hasOwn(types, k) ? types[k] : undefined;
    const n = Number(v);
    const int = /^-?\d+$/.test(v);
    if (t === 'Z' && (v === 'true' || v === 'false')) w.byte(BOOLEAN).bool(v === 'true');
    else if (t === 'B' && int && n >= -128 && n <= 127) w.byte(BYTE).byte(n);
    else if (t === 'S' && int && n >= -32768 && n <= 32767) w.byte(SHORT).short(n);
    else if (t === 'I' && int && n >= -(2 ** 31) && n < 2 ** 31) w.byte(INTEGER).int(n);
    else if (t === 'J' && int && Number.isSafeInteger(n)) w.byte(LONG).long(n);
    else if (t === 'C' && v.length === 1) w.byte(CHAR).short(v.charCodeAt(0));
    else if (t === 'F' && v.trim() !== '' && !Number.isNaN(n)) w.byte(FLOAT).float(n);
    else if (t === 'D' && v.trim() !== '' && !Number.isNaN(n)) w.byte(DOUBLE).double(n);
    else writeString(w, v);
  }
  return w.toBuffer();
}

/** String values only (every property as a string). */
export function encodeStringMap(m: Record<string, string>): Buffer {
  return encodeProperties(m, {});
}

export function encodeTypedMap(m: Record<string, TypedValue>): Buffer {
  const w = new WireWriter();
  const keys = Object.keys(m);
  w.int(keys.length);
  for (const k of keys) {
    w.utf(k, k);
    const x = m[k];
    if (x.t === 'bool') w.byte(BOOLEAN).bool(x.v);
    else if (x.t === 'int') w.byte(INTEGER).int(x.v);
    else if (x.t === 'long') w.byte(LONG).long(x.v);
    else writeString(w, x.v);
  }
  return w.toBuffer();
}

function writeString(w: WireWriter, s: string): void {
  // Java switches to the 32-bit length form for strings that might not fit writeUTF.
  if (s.length < 8191) w.byte(STRING).utf(s, 'a property value');
  else {
    const b = encodeModifiedUtf8(s);
    w.byte(BIG_STRING).int(b.length).raw(b);
  }
}

/** A text message's content: a 32-bit length (-1 for null) and modified UTF-8, deflated when `compressed`. */
export function decodeTextContent(content: Buffer | null, compressed: boolean, maxBytes: number): string | null {
  if (content === null) return null;
  const raw = compressed ? inflateContent(content, maxBytes) : content;
  const r = new WireReader(raw);
  const n = r.int('the text length');
  if (n < 0) return null;
  return decodeModifiedUtf8(r.raw(n, 'the text'), 'the text');
}

export function encodeTextContent(text: string): Buffer {
  const b = encodeModifiedUtf8(text);
  return new WireWriter().int(b.length).raw(b).toBuffer();
}

/** A compressed BytesMessage body: its 32-bit uncompressed length, then the deflated bytes (ActiveMQBytesMessage.doCompress). */
export function inflateBytesContent(content: Buffer, maxBytes: number): Buffer {
  if (content.length < 4) throw new QmqError('FRAME_MALFORMED', `OpenWire: a compressed bytes body of ${content.length} bytes has no length`);
  const length = content.readInt32BE(0);
  if (length < 0 || length > maxBytes) throw new QmqError('FRAME_MALFORMED', `OpenWire: a compressed bytes body claims ${length} bytes; the limit is ${maxBytes}`);
  // The Java client deflates its whole buffer, which can run past the body (up to twice its
  // length): like ActiveMQ's reader, keep the first `length` bytes.
  const body = inflateContent(content.subarray(4), Math.min(maxBytes, 2 * length + 1024));
  if (body.length < length) throw new QmqError('FRAME_MALFORMED', `OpenWire: a compressed bytes body inflates to ${body.length} bytes, fewer than the ${length} it claims`);
  return body.subarray(0, length);
}

export function inflateContent(content: Buffer, maxBytes: number): Buffer {
  try {
    return inflateSync(content, { maxOutputLength: maxBytes });
  } catch (e) {
    throw new QmqError('FRAME_MALFORMED', `OpenWire: a compressed message body does not inflate within ${maxBytes} bytes: ${(e as Error).message}`);
  }
}
