import type { Message } from '../../broker/message.js';

/**
 * A message as one `bytea` value: `[u32 LE length of the JSON][JSON of every field but the
 * body][body]`. JSON keeps the row readable with `psql` and round-trips any header string
 * (NULs included); the body stays raw so binary payloads cost no escaping.
 */
type MessageMeta = Omit<Message, 'body'>;

export function encodeMessage(m: Message): Buffer {
  const { body, ...meta } = m;
  const json = Buffer.from(JSON.stringify(meta satisfies MessageMeta), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length + body.length);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  body.copy(out, 4 + json.length);
  return out;
}

export function decodeMessage(row: Buffer): Message {
  const jsonLength = row.readUInt32LE(0);
  const meta = JSON.parse(row.toString('utf8', 4, 4 + jsonLength)) as MessageMeta;
  // A copy, so the row buffer the driver allocated is not pinned by a small body.
  return { ...meta, body: Buffer.from(row.subarray(4 + jsonLength)) };
}
