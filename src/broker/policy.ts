import type { BrokerConfig, DeadLetterStrategy, PolicyEntry, RedeliveryPolicy } from '../config/types.js';
import type { DestinationRef } from './message.js';
import { matchesWildcard, wildcardSpecificity } from './wildcard.js';

/** The settings that apply to one destination once defaults are filled in. */
export interface EffectivePolicy {
  prioritizedMessages: boolean;
  memoryLimitBytes: number | undefined;
  deadLetterStrategy: DeadLetterStrategy;
  redeliveryPolicy: RedeliveryPolicy;
}

/** ActiveMQ's default: one shared `ActiveMQ.DLQ`; expired messages go there, non-persistent ones are dropped. */
export const DEFAULT_DEAD_LETTER_STRATEGY: DeadLetterStrategy = {
  kind: 'shared',
  queueName: 'ActiveMQ.DLQ',
  processExpired: true,
  processNonPersistent: false,
};

export const DEFAULT_REDELIVERY_POLICY: RedeliveryPolicy = { maximumRedeliveries: 6, redeliveryDelayMs: 0 };

/**
 * The policy entry for a destination: the most specific matching pattern wins, then the one
 * declared first (ActiveMQ's PolicyMap likewise returns a single entry per destination).
 * Temporary destinations match `queue`/`topic` entries of their kind.
 */
export function findPolicyEntry(policies: readonly PolicyEntry[], dest: DestinationRef): PolicyEntry | undefined {
  const isQueue = dest.kind === 'queue' || dest.kind === 'temp-queue';
  let best: PolicyEntry | undefined;
  let bestScore = -1;
  for (const entry of policies) {
    const pattern = isQueue ? entry.queue : entry.topic;
    if (pattern === undefined || !matchesWildcard(pattern, dest.name)) continue;
    const score = wildcardSpecificity(pattern);
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  return best;
}

export function resolvePolicy(config: BrokerConfig, dest: DestinationRef): EffectivePolicy {
  const entry = findPolicyEntry(config.policies, dest);
  return {
    prioritizedMessages: entry?.prioritizedMessages ?? false,
    memoryLimitBytes: entry?.memoryLimitBytes,
    deadLetterStrategy: entry?.deadLetterStrategy ?? DEFAULT_DEAD_LETTER_STRATEGY,
    redeliveryPolicy: entry?.redeliveryPolicy ?? config.defaultRedeliveryPolicy ?? DEFAULT_REDELIVERY_POLICY,
  };
}
