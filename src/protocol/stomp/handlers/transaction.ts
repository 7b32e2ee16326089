import type { FrameHandler } from '../session-types.js';
import { requireHeader } from './require-header.js';

// STOMP 1.2 §BEGIN/COMMIT/ABORT: `transaction` is required.
export const handleBegin: FrameHandler = async (ctx, _f, h) => {
  const txId = requireHeader(h, 'transaction', 'BEGIN');
  // QuorumMQ extension for in-doubt commits: `BEGIN` with `qmq-tx-query:status` begins nothing;
  // its RECEIPT carries `qmq-tx-status: committed | not-committed` for that transaction id.
  if (h['qmq-tx-query'] === 'status') {
    requireHeader(h, 'receipt', 'BEGIN with qmq-tx-query');
    return { receiptHeaders: { 'qmq-tx-status': await ctx.broker.transactionStatus(txId) } };
  }
  ctx.core.begin(txId);
};

export const handleCommit: FrameHandler = async (ctx, _f, h) => {
  await ctx.core.commit(requireHeader(h, 'transaction', 'COMMIT'));
};

export const handleAbort: FrameHandler = (ctx, _f, h) => {
  ctx.core.abort(requireHeader(h, 'transaction', 'ABORT'));
};
