import type { Message } from './message.js';

/** How often queues are swept for expired messages (ActiveMQ `expireMessagesPeriod` default). */
export const EXPIRY_SWEEP_INTERVAL_MS = 30_000;

/** `expires` is absolute epoch ms, 0 = never (ActiveMQ's STOMP `expires` header). */
export function isExpired(message: Message, nowMs: number): boolean {
  return message.expires > 0 && message.expires <= nowMs;
}
