/**
 * OpenWire's loose encoding, driven by the tables in `schema.ts`, and its framing: each command
 * is a 32-bit size, then the type byte, then the fields.
 */
import { QmqError } from '../../util/errors.js';
import { SCHEMAS, type FieldKind } from './schema.js';
import { WireReader, WireWriter } from './wire-data.js';

/** A decoded data structure: its type number and its fields by name. */
export interface OwObject {
  type: number;
  [field: string]: unknown;
}

/** A Java exception as OpenWire carries it: the class decides what the client throws. */
export interface OwThrowable {
  className: string;
  message: string | null;
}

const MAGIC = Buffer.from('ActiveMQ', 'latin1');

/** Nesting deeper than this is an attack or a bug; real commands nest four levels at most. */
const MAX_DEPTH = 16;

function typeName(type: number): string {
  return SCHEMAS.get(type)?.name ?? `type ${type}`;
}

function readField(r: WireReader, kind: FieldKind, what: string, depth: number): unknown {
  switch (kind) {
    case 'bool':
      return r.bool(what);
    case 'byte':
      return r.byte(what);
    case 'short':
      return r.short(what);
    case 'int':
      return r.int(what);
    case 'long':
      return r.long(what);
    case 'string':
      return r.bool(what) ? r.utf(what) : null;
    case 'object':
      return r.bool(what) ? readObject(r, r.byte(what) & 0xff, depth + 1) : null;
    case 'objects': {
      if (!r.bool(what)) return null;
      const n = r.short(what);
      if (n < 0) throw new QmqError('FRAME_MALFORMED', `OpenWire: ${what} has a negative count (${n})`);
      const out: (OwObject | null)[] = [];
      for (let i = 0; i < n; i++) out.push(readField(r, 'object', `${what}[${i}]`, depth) as OwObject | null);
      return out;
    }
    case 'bytes': {
      if (!r.bool(what)) return null;
      const n = r.int(what);
      // Copied: a decoded command must not pin the whole read buffer it came from.
      return Buffer.from(r.raw(n, what));
    }
    case 'throwable': {
      if (!r.bool(what)) return null;
      const className = r.bool(what) ? r.utf(what) : '';
      const message = r.bool(what) ? r.utf(what) : null;
      return { className, message } satisfies OwThrowable;
    }
    case 'magic': {
      const m = r.raw(8, what);
      if (!m.equals(MAGIC)) throw new QmqError('FRAME_MALFORMED', `OpenWire: the wire format magic is ${JSON.stringify(m.toString('latin1'))}, not "ActiveMQ"`);
      return 'ActiveMQ';
    }
  }
}

function readObject(r: WireReader, type: number, depth: number): OwObject {
  if (depth > MAX_DEPTH) throw new QmqError('FRAME_MALFORMED', `OpenWire: data structures nested deeper than ${MAX_DEPTH}`);
  const schema = SCHEMAS.get(type);
  if (schema === undefined) throw new QmqError('FRAME_MALFORMED', `OpenWire: unknown data structure type ${type}`);
  const o: OwObject = { type };
  for (const [name, kind] of schema.fields) o[name] = readField(r, kind, `${schema.name}.${name}`, depth);
  return o;
}

function writeField(w: WireWriter, kind: FieldKind, v: unknown, what: string): void {
  switch (kind) {
    case 'bool':
      w.bool(v === true);
      return;
    case 'byte':
      w.byte(typeof v === 'number' ? v : 0);
      return;
    case 'short':
      w.short(typeof v === 'number' ? v : 0);
      return;
    case 'int':
      w.int(typeof v === 'number' ? v : 0);
      return;
    case 'long':
      w.long(typeof v === 'number' ? v : 0);
      return;
    case 'string':
      w.bool(typeof v === 'string');
      if (typeof v === 'string') w.utf(v, what);
      return;
    case 'object':
      w.bool(v != null);
      if (v != null) writeObject(w, v as OwObject);
      return;
    case 'objects': {
      const a = v as (OwObject | null)[] | null | undefined;
      w.bool(a != null);
      if (a == null) return;
      w.short(a.length);
      for (const x of a) writeField(w, 'object', x, what);
      return;
    }
    case 'bytes': {
      const b = v as Buffer | null | undefined;
      w.bool(b != null);
      if (b != null) w.int(b.length).raw(b);
      return;
    }
    case 'throwable': {
      const t = v as OwThrowable | null | undefined;
      w.bool(t != null);
      if (t == null) return;
      writeField(w, 'string', t.className, what);
      writeField(w, 'string', t.message, what);
      return;
    }
    case 'magic':
      w.raw(MAGIC);
      return;
  }
}

function writeObject(w: WireWriter, o: OwObject): void {
  const schema = SCHEMAS.get(o.type);
  if (schema === undefined) throw new QmqError('INTERNAL', `OpenWire: cannot encode data structure type ${o.type}`);
  w.byte(o.type);
  for (const [name, kind] of schema.fields) writeField(w, kind, o[name], `${schema.name}.${name}`);
}

/** One command's frame: the 32-bit size, then the command. */
export function encodeCommand(o: OwObject): Buffer {
  const w = new WireWriter();
  w.int(0);
  writeObject(w, o);
  const b = w.toBuffer();
  b.writeInt32BE(b.length - 4, 0);
  return b;
}

/** Decodes one frame's body (what follows the size). Trailing bytes are an error: they mean we disagree on the layout. */
export function decodeCommand(body: Buffer): OwObject {
  const r = new WireReader(body);
  const type = r.byte('the command type') & 0xff;
  const o = readObject(r, type, 0);
  if (r.remaining !== 0) throw new QmqError('FRAME_MALFORMED', `OpenWire: ${r.remaining} bytes left over after a ${typeName(type)}`);
  return o;
}

/** Splits a byte stream into frame bodies; a declared size over `maxFrameBytes` is refused before it is buffered. */
export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.pendingBytes < 4) break;
      const head = this.pending.length === 1 ? this.pending[0] : this.flatten();
      const size = head.readInt32BE(0);
      if (size <= 0) throw new QmqError('FRAME_MALFORMED', `OpenWire: a frame declares size ${size}`);
      if (size > this.maxFrameBytes) {
        throw new QmqError('FRAME_TOO_LARGE', `OpenWire: a frame of ${size} bytes is over the limit of ${this.maxFrameBytes} (maxFrameSize)`);
      }
      if (this.pendingBytes < 4 + size) break;
      const all = this.flatten();
      out.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return out;
  }

  private flatten(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0];
  }
}
