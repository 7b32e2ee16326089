import type { FrameHandler } from '../session-types.js';
import { requireHeader } from './require-header.js';

// STOMP 1.2 §BEGIN/COMMIT/ABORT: `transaction` is required.
export const handleBegin: FrameHandler = (ctx, _f, h) => {
  ctx.core.begin(requireHeader(h, 'transaction', 'BEGIN'));
};

export const handleCommit: FrameHandler = async (ctx, _f, h) => {
  await ctx.core.commit(requireHeader(h, 'transaction', 'COMMIT'));
};

export const handleAbort: FrameHandler = (ctx, _f, h) => {
  ctx.core.abort(requireHeader(h, 'transaction', 'ABORT'));
};
