/**
 * Message bodies of the chaos workload: `<id>|<padding>|<crc32c hex>`. The id makes every
 * message traceable in the history; the checksum lets a consumer tell a damaged body from a
 * good one, so a broker that hands out corrupt data is caught, not just one that loses it.
 */
import { crc32c } from '@node-rs/crc32';

export function encodeBody(id: string, paddingBytes = 0): string {
  const head = `${id}|${'x'.repeat(paddingBytes)}`;
  return `${head}|${crc32c(Buffer.from(head)).toString(16).padStart(8, '0')}`;
}

/** The id and whether the checksum holds. A body with no recognisable id is reported by its text. */
export function decodeBody(body: Buffer | string): { id: string; corrupt: boolean } {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const cut = text.lastIndexOf('|');
  const head = cut < 0 ? text : text.slice(0, cut);
  const bar = head.indexOf('|');
  const id = bar < 0 ? text.slice(0, 80) : head.slice(0, bar);
  if (cut < 0 || bar < 0) return { id, corrupt: true };
  const expected = crc32c(Buffer.from(head)).toString(16).padStart(8, '0');
  return { id, corrupt: text.slice(cut + 1) !== expected };
}
