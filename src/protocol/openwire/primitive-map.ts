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

const MAX_DEPTH = 8;

function readValue(r: WireReader, what: string, depth: number): PrimitiveValue {
  const type = r.byte(what);
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

/** String values only, as message properties are stored (see message-translation). */
export function encodeStringMap(m: Record<string, string>): Buffer {
  const w = new WireWriter();
  const keys = Object.keys(m);
  w.int(keys.length);
  for (const k of keys) {
    w.utf(k, `property name ${k}`);
    writeString(w, m[k]);
  }
  return w.toBuffer();
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

export function inflateContent(content: Buffer, maxBytes: number): Buffer {
  try {
    return inflateSync(content, { maxOutputLength: maxBytes });
  } catch (e) {
    throw new QmqError('FRAME_MALFORMED', `OpenWire: a compressed message body does not inflate within ${maxBytes} bytes: ${(e as Error).message}`);
  }
}
