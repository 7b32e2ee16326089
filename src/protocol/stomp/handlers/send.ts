import type { DestinationRef } from '../../../broker/message.js';
import { groupComposite, parseDestinationHeader, parseOne } from '../destinations.js';
import { buildSendRequest, sendFieldsFromHeaders } from '../frame-translation.js';
import type { FrameHandler, HandlerContext } from '../session-types.js';
import { requireHeader } from './require-header.js';

export function resolveDestinations(ctx: HandlerContext, text: string): DestinationRef[] {
  const parsed = parseDestinationHeader(text).map((p) =>
    p.localTemp ? ctx.resolveTemp(p.kind as 'temp-queue' | 'temp-topic', p.name) : { kind: p.kind, name: p.name },
  );
  return groupComposite(parsed);
}

function resolveReplyTo(ctx: HandlerContext, text: string | undefined): DestinationRef | undefined {
  if (text === undefined) return undefined;
  try {
    const p = parseOne(text);
    return p.localTemp ? ctx.resolveTemp(p.kind as 'temp-queue' | 'temp-topic', p.name) : { kind: p.kind, name: p.name };
  } catch {
    // ActiveMQ: a reply-to that is not a destination is kept as a plain string property.
    return undefined;
  }
}

// STOMP 1.2 §SEND: `destination` is required; `transaction` makes it part of a transaction.
export const handleSend: FrameHandler = async (ctx, frame, h) => {
  const dests = resolveDestinations(ctx, requireHeader(h, 'destination', 'SEND'));
  const fields = sendFieldsFromHeaders(h);
  const replyTo = resolveReplyTo(ctx, h['reply-to']);
  if (h['reply-to'] !== undefined && replyTo === undefined) fields.headers['reply-to'] = h['reply-to'];
  const tx = h.transaction;
  await Promise.all(
    dests.map((d) => ctx.trackSend(ctx.core.send(buildSendRequest(d, fields, frame.body, replyTo), tx))),
  );
};
