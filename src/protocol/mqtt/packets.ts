/**
 * MQTT 3.1.1 packets (OASIS standard, 29 October 2014), and 3.1 (`MQIsdp`, level 3) CONNECTs:
 * splitting the byte stream into control packets, decoding what a client sends and encoding
 * what a server sends. Every rule enforced names its clause. Pure: no sockets, no broker.
 */
import { QmqError } from '../../util/errors.js';

/** Control packet types (§2.2.1). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;
type P = typeof PacketType;
const PACKET_NAMES = Object.fromEntries(Object.entries(PacketType).map(([k, v]) => [v, k])) as Record<number, string>;

export type QoS = 0 | 1 | 2;

/** CONNACK return codes (§3.2.2.3). */
export const ConnectReturn = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;
export type ConnectReturnCode = (typeof ConnectReturn)[keyof typeof ConnectReturn];

export interface ConnectPacket {
  type: P['CONNECT'];
  protocolName: string;
  protocolLevel: number;
  cleanSession: boolean;
  keepAliveSeconds: number;
  clientId: string;
  will?: { topic: string; payload: Buffer; qos: QoS; retain: boolean };
  username?: string;
  password?: Buffer;
}

export interface PublishPacket {
  type: P['PUBLISH'];
  dup: boolean;
  qos: QoS;
  retain: boolean;
  topic: string;
  /** Present when qos > 0. */
  packetId?: number;
  payload: Buffer;
}

export type ClientPacket =
  | ConnectPacket
  | PublishPacket
  | { type: P['PUBACK'] | P['PUBREC'] | P['PUBREL'] | P['PUBCOMP']; packetId: number }
  | { type: P['SUBSCRIBE']; packetId: number; filters: { filter: string; qos: QoS }[] }
  | { type: P['UNSUBSCRIBE']; packetId: number; filters: string[] }
  | { type: P['PINGREQ'] }
  | { type: P['DISCONNECT'] };

/** A malformed packet: MQTT has no error reply, so the connection closes (§4.8). */
export function malformed(message: string): QmqError {
  return new QmqError('FRAME_MALFORMED', `MQTT: ${message}`, { fatal: true });
}

/** The largest Remaining Length the encoding can express (§2.2.3): 268,435,455 bytes. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * Cuts whole control packets off a byte stream. `maxPacketBytes` bounds what one packet may
 * claim before its bytes arrive, so a bogus length cannot make us buffer without end.
 */
export class PacketSplitter {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPacketBytes: number) {}

  push(chunk: Buffer): { header: number; body: Buffer }[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: { header: number; body: Buffer }[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      // §2.2.3: the Remaining Length is 1–4 bytes, 7 bits each, the high bit meaning "more".
      let length = 0;
      let multiplier = 1;
      let i = 1;
      let complete = false;
      for (; i <= 4 && i < this.buf.length; i++) {
        const b = this.buf[i];
        length += (b & 0x7f) * multiplier;
        multiplier *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i > 4) throw malformed('the Remaining Length runs past 4 bytes (§2.2.3)');
        break;
      }
      if (length > this.maxPacketBytes) throw new QmqError('FRAME_TOO_LARGE', `MQTT: a packet of ${length} bytes is over this connector's limit of ${this.maxPacketBytes}`, { fatal: true });
      const start = i + 1;
      if (this.buf.length < start + length) break;
      out.push({ header: this.buf[0], body: this.buf.subarray(start, start + length) });
      this.buf = this.buf.subarray(start + length);
    }
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    else if (out.length > 0) this.buf = Buffer.from(this.buf);
    return out;
  }
}

/** Reads the fields of one packet body, every read bounds-checked. */
class Reader {
  private pos = 0;
  constructor(
    private readonly b: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.b.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.b.length) throw malformed(`${this.what} ends early`);
    return this.b[this.pos++];
  }

  u16(): number {
    if (this.pos + 2 > this.b.length) throw malformed(`${this.what} ends early`);
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.b.length) throw malformed(`${this.what} ends early`);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A length-prefixed binary field (§1.5.3 layout). */
  binary(): Buffer {
    return Buffer.from(this.bytes(this.u16()));
  }

  /** A UTF-8 encoded string (§1.5.3): well-formed, and no U+0000 [MQTT-1.5.3-2]. */
  string(field: string): string {
    const raw = this.bytes(this.u16());
    const text = raw.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(raw)) throw malformed(`${field} is not well-formed UTF-8 [MQTT-1.5.3-1]`);
    if (text.includes('\u0000')) throw malformed(`${field} contains U+0000 [MQTT-1.5.3-2]`);
    return text;
  }

  rest(): Buffer {
    return Buffer.from(this.bytes(this.remaining));
  }
}

function qosOf(bits: number, where: string): QoS {
  if (bits === 3) throw malformed(`${where} has QoS 3, which does not exist [MQTT-3.3.1-4]`);
  return bits as QoS;
}

function packetId(r: Reader, what: string): number {
  const id = r.u16();
  // §2.3.1: a Packet Identifier is non-zero.
  if (id === 0) throw malformed(`${what} has Packet Identifier 0 [MQTT-2.3.1-1]`);
  return id;
}

/** Decodes one client-to-server packet. */
export function decodePacket(header: number, body: Buffer): ClientPacket {
  const type = header >> 4;
  const flags = header & 0x0f;
  const fixedFlags = (expected: number, name: string) => {
    // §2.2.2: reserved flag bits have fixed values; anything else is malformed [MQTT-2.2.2-2].
    if (flags !== expected) throw malformed(`${name} has flags ${flags.toString(2).padStart(4, '0')}, expected ${expected.toString(2).padStart(4, '0')} [MQTT-2.2.2-2]`);
  };
  switch (type) {
    case PacketType.CONNECT:
      fixedFlags(0, 'CONNECT');
      return decodeConnect(new Reader(body, 'CONNECT'));
    case PacketType.PUBLISH: {
      const qos = qosOf((flags >> 1) & 3, 'PUBLISH');
      const dup = (flags & 8) !== 0;
      // [MQTT-3.3.1-2]: DUP must be 0 for a QoS 0 message.
      if (qos === 0 && dup) throw malformed('PUBLISH has DUP set with QoS 0 [MQTT-3.3.1-2]');
      const r = new Reader(body, 'PUBLISH');
      const topic = r.string('the PUBLISH topic');
      // [MQTT-3.3.2-2]: a Topic Name has no wildcards; [MQTT-4.7.3-1]: it is at least one character.
      if (topic === '') throw malformed('PUBLISH has an empty topic name [MQTT-4.7.3-1]');
      if (topic.includes('+') || topic.includes('#')) throw malformed(`PUBLISH topic "${topic}" contains a wildcard [MQTT-3.3.2-2]`);
      const id = qos > 0 ? packetId(r, 'PUBLISH') : undefined;
      return { type: PacketType.PUBLISH, dup, qos, retain: (flags & 1) !== 0, topic, ...(id !== undefined ? { packetId: id } : {}), payload: r.rest() };
    }
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBCOMP: {
      fixedFlags(0, PACKET_NAMES[type]);
      const r = new Reader(body, 'an acknowledgement');
      return { type, packetId: packetId(r, 'an acknowledgement') };
    }
    case PacketType.PUBREL: {
      fixedFlags(2, 'PUBREL'); // [MQTT-3.6.1-1]
      return { type, packetId: packetId(new Reader(body, 'PUBREL'), 'PUBREL') };
    }
    case PacketType.SUBSCRIBE: {
      fixedFlags(2, 'SUBSCRIBE'); // [MQTT-3.8.1-1]
      const r = new Reader(body, 'SUBSCRIBE');
      const id = packetId(r, 'SUBSCRIBE');
      const filters: { filter: string; qos: QoS }[] = [];
      while (r.remaining > 0) {
        const filter = r.string('a SUBSCRIBE topic filter');
        const options = r.byte();
        // [MQTT-3-8.3-4]: the upper 6 bits of the requested QoS byte are reserved, zero.
        if ((options & 0xfc) !== 0) throw malformed(`SUBSCRIBE requested-QoS byte ${options} has reserved bits set [MQTT-3-8.3-4]`);
        filters.push({ filter, qos: qosOf(options & 3, 'SUBSCRIBE') });
      }
      // [MQTT-3.8.3-3]: at least one filter.
      if (filters.length === 0) throw malformed('SUBSCRIBE names no topic filter [MQTT-3.8.3-3]');
      return { type, packetId: id, filters };
    }
    case PacketType.UNSUBSCRIBE: {
      fixedFlags(2, 'UNSUBSCRIBE'); // [MQTT-3.10.1-1]
      const r = new Reader(body, 'UNSUBSCRIBE');
      const id = packetId(r, 'UNSUBSCRIBE');
      const filters: string[] = [];
      while (r.remaining > 0) filters.push(r.string('an UNSUBSCRIBE topic filter'));
      // [MQTT-3.10.3-2]: at least one filter.
      if (filters.length === 0) throw malformed('UNSUBSCRIBE names no topic filter [MQTT-3.10.3-2]');
      return { type, packetId: id, filters };
    }
    case PacketType.PINGREQ:
      fixedFlags(0, 'PINGREQ');
      return { type };
    case PacketType.DISCONNECT:
      fixedFlags(0, 'DISCONNECT');
      return { type };
    default:
      // Types 0, 15 and the server-only ones (CONNACK, SUBACK, UNSUBACK, PINGRESP).
      throw malformed(`packet type ${type} is not one a client may send`);
  }
}

function decodeConnect(r: Reader): ConnectPacket {
  const protocolName = r.string('the protocol name');
  const protocolLevel = r.byte();
  const flags = r.byte();
  // [MQTT-3.1.2-3]: the reserved flag is zero.
  if ((flags & 1) !== 0) throw malformed('CONNECT has the reserved flag set [MQTT-3.1.2-3]');
  const keepAliveSeconds = r.u16();
  const clientId = r.string('the client identifier');
  const hasWill = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  // [MQTT-3.1.2-11, -13, -15]: without a will, its QoS and retain flags are zero.
  if (!hasWill && (willQos !== 0 || willRetain)) throw malformed('CONNECT sets will QoS or retain without a will [MQTT-3.1.2-13]');
  let will: ConnectPacket['will'];
  if (hasWill) {
    const topic = r.string('the will topic');
    if (topic === '' || topic.includes('+') || topic.includes('#')) throw malformed(`the will topic "${topic}" is not a valid topic name [MQTT-3.1.3-10]`);
    will = { topic, payload: r.binary(), qos: qosOf(willQos, 'the will'), retain: willRetain };
  }
  const hasUser = (flags & 0x80) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  // [MQTT-3.1.2-22]: no password without a user name.
  if (hasPassword && !hasUser) throw malformed('CONNECT has a password but no user name [MQTT-3.1.2-22]');
  const username = hasUser ? r.string('the user name') : undefined;
  const password = hasPassword ? r.binary() : undefined;
  if (r.remaining > 0) throw malformed(`CONNECT has ${r.remaining} bytes after its payload`);
  return {
    type: PacketType.CONNECT,
    protocolName,
    protocolLevel,
    cleanSession: (flags & 0x02) !== 0,
    keepAliveSeconds,
    clientId,
    ...(will ? { will } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

// --- encoding (server to client) ---------------------------------------------------------------

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function packet(header: number, ...parts: Buffer[]): Buffer {
  const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return Buffer.concat([Buffer.from([header]), remainingLength(body.length), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function encodeConnack(sessionPresent: boolean, code: ConnectReturnCode): Buffer {
  return packet(PacketType.CONNACK << 4, Buffer.from([sessionPresent ? 1 : 0, code]));
}

export function encodePublish(p: { topic: string; payload: Buffer; qos: QoS; retain: boolean; dup: boolean; packetId?: number }): Buffer {
  const topic = Buffer.from(p.topic, 'utf8');
  const header = (PacketType.PUBLISH << 4) | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
  const parts = [u16(topic.length), topic];
  if (p.qos > 0) parts.push(u16(p.packetId!));
  parts.push(p.payload);
  return packet(header, ...parts);
}

export function encodeAck(type: P['PUBACK'] | P['PUBREC'] | P['PUBREL'] | P['PUBCOMP'] | P['UNSUBACK'], id: number): Buffer {
  // [MQTT-3.6.1-1]: PUBREL's flags are 0010.
  return packet((type << 4) | (type === PacketType.PUBREL ? 2 : 0), u16(id));
}

/** SUBACK: one return code per filter, in order [MQTT-3.9.3-1]; 0x80 is failure. */
export function encodeSuback(id: number, codes: number[]): Buffer {
  return packet(PacketType.SUBACK << 4, u16(id), Buffer.from(codes));
}

export function encodePingresp(): Buffer {
  return Buffer.from([PacketType.PINGRESP << 4, 0]);
}
