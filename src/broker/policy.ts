import { findPolicy } from '../config/policy-match.js';
import type { BrokerConfig, DeadLetterStrategy, RedeliveryPolicy } from '../config/types.js';
import type { DestinationRef } from './message.js';

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

export function resolvePolicy(config: BrokerConfig, dest: DestinationRef): EffectivePolicy {
  // The most specific matching <policyEntry> (config/policy-match.ts).
  const entry = findPolicy(config.policies, dest);
  return {
    prioritizedMessages: entry?.prioritizedMessages ?? false,
    memoryLimitBytes: entry?.memoryLimitBytes,
    deadLetterStrategy: entry?.deadLetterStrategy ?? DEFAULT_DEAD_LETTER_STRATEGY,
    redeliveryPolicy: entry?.redeliveryPolicy ?? config.defaultRedeliveryPolicy ?? DEFAULT_REDELIVERY_POLICY,
  };
}
