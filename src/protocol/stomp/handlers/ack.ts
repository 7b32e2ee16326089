import type { FrameHandler } from '../session-types.js';

// STOMP 1.2 §ACK: `id` matches the MESSAGE's `ack` header. 1.1: `message-id` + `subscription`.
// 1.0: `message-id`. All may carry `transaction`.
export const handleAck: FrameHandler = async (ctx, frame, h) => {
  const tag = ctx.tagForAck(frame);
  await ctx.core.ack(tag, h.transaction);
  ctx.forgetAcked(tag);
};

// STOMP 1.1+ §NACK. What happens next is the broker's redelivery policy.
export const handleNack: FrameHandler = async (ctx, frame, h) => {
  const tag = ctx.tagForAck(frame);
  await ctx.core.nack(tag, h.transaction);
  ctx.forgetAcked(tag);
};
