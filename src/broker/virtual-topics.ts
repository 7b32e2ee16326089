/**
 * ActiveMQ's virtual topics (VirtualTopicInterceptor, on by default): a message sent to a topic
 * that a rule's `name` pattern matches is also put on every existing queue named
 * `<prefix><topic><postfix>`, where `*` in the prefix stands for any one consumer name. With
 * the default rule, `/topic/VirtualTopic.Orders` feeds `/queue/Consumer.A.VirtualTopic.Orders`,
 * `/queue/Consumer.B.VirtualTopic.Orders` and so on: each consumer group gets its own copy, and
 * within a group the consumers share the queue. A consumer queue that does not exist yet gets
 * nothing, as in ActiveMQ. Pure, so the rule has a table test.
 */
import type { VirtualTopicRule } from '../config/types.js';
import { matchesWildcard } from './wildcard.js';

/** The queue-name patterns a message sent to topic `topicName` is forwarded to (none if no rule matches). */
export function consumerQueuePatterns(rules: readonly VirtualTopicRule[], topicName: string): string[] {
  const out: string[] = [];
  for (const r of rules) {
    if (matchesWildcard(r.name, topicName)) out.push(`${r.prefix}${topicName}${r.postfix}`);
  }
  return out;
}
