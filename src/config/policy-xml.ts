/**
 * `<destinationPolicy>` and the broker `<redeliveryPlugin>` → PolicyEntry[] and the default
 * redelivery policy.
 */
import {
  DLQ_AUDIT_ATTRIBUTES,
  POLICY_ENTRY_IGNORED_ATTRIBUTES,
  POLICY_ENTRY_IGNORED_CHILDREN,
  REDELIVERY_IGNORED_ATTRIBUTES,
} from './activemq-vocabulary.js';
import { DEFAULT_REDELIVERY_POLICY } from './defaults.js';
import { patternProblem } from './policy-match.js';
import type { DeadLetterStrategy, PolicyEntry, RedeliveryPolicy } from './types.js';
import type { ConfigReader } from './xml-reader.js';
import type { XmlElement } from './xml-tree.js';

/** ActiveMQ's defaults (SharedDeadLetterStrategy, IndividualDeadLetterStrategy). */
const SHARED_DLQ_NAME = 'ActiveMQ.DLQ';
const INDIVIDUAL_QUEUE_PREFIX = 'ActiveMQ.DLQ.Queue.';
const INDIVIDUAL_TOPIC_PREFIX = 'ActiveMQ.DLQ.Topic.';

function pattern(r: ConfigReader, el: XmlElement, attr: 'queue' | 'topic'): string | undefined {
  const p = r.str(el, attr);
  if (p === undefined) return undefined;
  const problem = patternProblem(p.trim());
  if (problem !== undefined) r.fail(el, `invalid ${attr} pattern on <${el.name}>: ${problem}`);
  return p.trim();
}

/** Sets `queue` or `topic` from the element; exactly one must be present. */
function destinationOf(r: ConfigReader, el: XmlElement): { queue?: string; topic?: string } | undefined {
  const queue = pattern(r, el, 'queue');
  const topic = pattern(r, el, 'topic');
  if (queue !== undefined && topic !== undefined) {
    r.fail(el, `<${el.name}> has both queue="${queue}" and topic="${topic}"; use one entry for each`);
  }
  if (queue !== undefined) return { queue };
  if (topic !== undefined) return { topic };
  return undefined;
}

export function readDestinationPolicy(r: ConfigReader, el: XmlElement): PolicyEntry[] {
  r.checkAttributes(el, { mapped: [] });
  const maps = r.checkChildren(el, ['policyMap']);
  const policyMap = r.single(el, maps, 'policyMap');
  if (policyMap === undefined) return [];
  r.checkAttributes(policyMap, { mapped: [] });
  const parts = r.checkChildren(policyMap, ['policyEntries', 'defaultEntry']);
  const policies: PolicyEntry[] = [];
  for (const list of parts.get('policyEntries') ?? []) {
    r.checkAttributes(list, { mapped: [] });
    r.checkChildren(list, ['policyEntry']);
    for (const entry of list.children) policies.push(...readPolicyEntry(r, entry, false));
  }
  // A default entry applies where no other entry matches: as `>` entries declared last, it
  // loses every tie in findPolicy, which gives the same result.
  const defaultEntry = r.single(policyMap, parts, 'defaultEntry');
  if (defaultEntry !== undefined) {
    r.checkAttributes(defaultEntry, { mapped: [] });
    const inner = r.checkChildren(defaultEntry, ['policyEntry']);
    const entry = r.single(defaultEntry, inner, 'policyEntry');
    if (entry !== undefined) policies.push(...readPolicyEntry(r, entry, true));
  }
  return policies;
}

function readPolicyEntry(r: ConfigReader, el: XmlElement, isDefault: boolean): PolicyEntry[] {
  r.checkAttributes(el, {
    mapped: ['queue', 'topic', 'tempQueue', 'tempTopic', 'prioritizedMessages', 'memoryLimit'],
    ignored: POLICY_ENTRY_IGNORED_ATTRIBUTES,
  });
  const children = r.checkChildren(el, ['deadLetterStrategy', 'redeliveryPolicy'], POLICY_ENTRY_IGNORED_CHILDREN);
  const base: Omit<PolicyEntry, 'queue' | 'topic'> = { prioritizedMessages: r.bool(el, 'prioritizedMessages') ?? false };
  const memoryLimitBytes = r.sizeBytes(el, 'memoryLimit');
  if (memoryLimitBytes !== undefined) base.memoryLimitBytes = memoryLimitBytes;
  const dlq = r.single(el, children, 'deadLetterStrategy');
  if (dlq !== undefined) {
    const strategy = readDeadLetterStrategy(r, dlq);
    if (strategy !== undefined) base.deadLetterStrategy = strategy;
  }
  const redelivery = r.single(el, children, 'redeliveryPolicy');
  if (redelivery !== undefined) base.redeliveryPolicy = readRedeliveryPolicy(r, redelivery, false).policy;

  const temp = r.bool(el, 'tempQueue') === true || r.bool(el, 'tempTopic') === true;
  if (isDefault) return [{ queue: '>', ...base }, { topic: '>', ...base }];
  const dest = destinationOf(r, el);
  if (temp && dest === undefined) {
    // findPolicy applies queue entries to temp queues and topic entries to temp topics.
    r.warn(el, '<policyEntry tempQueue/tempTopic> entries are ignored: temporary destinations use the queue and topic entries');
    return [];
  }
  if (dest === undefined) r.fail(el, '<policyEntry> needs queue="pattern" or topic="pattern" (">" matches every destination)');
  return [{ ...dest, ...base }];
}

function readDeadLetterStrategy(r: ConfigReader, el: XmlElement): DeadLetterStrategy | undefined {
  r.checkAttributes(el, { mapped: [] });
  const kinds = ['sharedDeadLetterStrategy', 'individualDeadLetterStrategy', 'discarding', 'discardingDeadLetterStrategy'];
  r.checkChildren(el, kinds);
  if (el.children.length !== 1) {
    r.fail(el.children[1] ?? el, `<deadLetterStrategy> must contain exactly one of ${kinds.join(', ')}`);
  }
  const s = el.children[0];
  if (s.name === 'sharedDeadLetterStrategy') {
    r.checkAttributes(s, { mapped: ['deadLetterQueue', 'processExpired', 'processNonPersistent'], ignored: DLQ_AUDIT_ATTRIBUTES });
    const nested = r.checkChildren(s, ['deadLetterQueue']);
    let queueName = r.str(s, 'deadLetterQueue');
    // ActiveMQ's form: <deadLetterQueue><queue physicalName="ActiveMQ.DLQ"/></deadLetterQueue>
    const dlqEl = r.single(s, nested, 'deadLetterQueue');
    if (dlqEl !== undefined) {
      r.checkAttributes(dlqEl, { mapped: [] });
      const q = r.single(dlqEl, r.checkChildren(dlqEl, ['queue']), 'queue');
      if (q === undefined) r.fail(dlqEl, '<deadLetterQueue> needs a <queue physicalName="…"/> inside');
      r.checkAttributes(q, { mapped: ['physicalName'] });
      queueName = r.requiredStr(q, 'physicalName', 'the dead-letter queue name');
    }
    return {
      kind: 'shared',
      queueName: queueName ?? SHARED_DLQ_NAME,
      processExpired: r.bool(s, 'processExpired') ?? true,
      processNonPersistent: r.bool(s, 'processNonPersistent') ?? false,
    };
  }
  if (s.name === 'individualDeadLetterStrategy') {
    r.checkAttributes(s, {
      mapped: ['queuePrefix', 'topicPrefix', 'useQueueForQueueMessages', 'useQueueForTopicMessages', 'processExpired', 'processNonPersistent'],
      ignored: [...DLQ_AUDIT_ATTRIBUTES, 'queueSuffix', 'topicSuffix', 'destinationPerDurableSubscriber'],
    });
    r.checkChildren(s, []);
    return {
      kind: 'individual',
      queuePrefix: r.str(s, 'queuePrefix') ?? INDIVIDUAL_QUEUE_PREFIX,
      topicPrefix: r.str(s, 'topicPrefix') ?? INDIVIDUAL_TOPIC_PREFIX,
      useQueueForQueueMessages: r.bool(s, 'useQueueForQueueMessages') ?? true,
      useQueueForTopicMessages: r.bool(s, 'useQueueForTopicMessages') ?? true,
      processExpired: r.bool(s, 'processExpired') ?? true,
      processNonPersistent: r.bool(s, 'processNonPersistent') ?? false,
    };
  }
  r.checkAttributes(s, { mapped: [], ignored: DLQ_AUDIT_ATTRIBUTES });
  r.checkChildren(s, []);
  return { kind: 'discarding' };
}

export interface RedeliveryEntry {
  queue?: string;
  topic?: string;
  policy: RedeliveryPolicy;
  el: XmlElement;
}

export function readRedeliveryPolicy(r: ConfigReader, el: XmlElement, withDestination: boolean): RedeliveryEntry {
  r.checkAttributes(el, {
    mapped: ['maximumRedeliveries', 'initialRedeliveryDelay', 'redeliveryDelay', ...(withDestination ? ['queue', 'topic'] : [])],
    ignored: [...REDELIVERY_IGNORED_ATTRIBUTES, 'tempQueue', 'tempTopic'],
  });
  r.checkChildren(el, []);
  const initialDelayMs = r.durationMs(el, 'initialRedeliveryDelay');
  const delayMs = r.durationMs(el, 'redeliveryDelay');
  // One fixed delay is modelled; ActiveMQ uses initialRedeliveryDelay first, redeliveryDelay after.
  if (initialDelayMs !== undefined && delayMs !== undefined && initialDelayMs !== delayMs) {
    r.warn(el, `only one redelivery delay is supported; using redeliveryDelay=${delayMs} for every redelivery (initialRedeliveryDelay=${initialDelayMs} is ignored)`);
  }
  const policy: RedeliveryPolicy = {
    maximumRedeliveries: r.int(el, 'maximumRedeliveries', -1) ?? DEFAULT_REDELIVERY_POLICY.maximumRedeliveries,
    redeliveryDelayMs: delayMs ?? initialDelayMs ?? DEFAULT_REDELIVERY_POLICY.redeliveryDelayMs,
  };
  return { ...(withDestination ? destinationOf(r, el) : undefined), policy, el };
}

/** `<redeliveryPlugin><redeliveryPolicyMap><redeliveryPolicyMap>…` */
export function readRedeliveryPlugin(r: ConfigReader, el: XmlElement): { defaultPolicy?: RedeliveryPolicy; entries: RedeliveryEntry[] } {
  r.checkAttributes(el, { mapped: [], ignored: ['fallbackToDeadLetter', 'sendToDlqIfMaxRetriesExceeded'] });
  const outer = r.single(el, r.checkChildren(el, ['redeliveryPolicyMap']), 'redeliveryPolicyMap');
  const result: { defaultPolicy?: RedeliveryPolicy; entries: RedeliveryEntry[] } = { entries: [] };
  if (outer === undefined) return result;
  r.checkAttributes(outer, { mapped: [] });
  const map = r.single(outer, r.checkChildren(outer, ['redeliveryPolicyMap']), 'redeliveryPolicyMap');
  if (map === undefined) return result;
  r.checkAttributes(map, { mapped: [] });
  const parts = r.checkChildren(map, ['redeliveryPolicyEntries', 'defaultEntry']);
  for (const list of parts.get('redeliveryPolicyEntries') ?? []) {
    r.checkAttributes(list, { mapped: [] });
    r.checkChildren(list, ['redeliveryPolicy']);
    for (const p of list.children) {
      const entry = readRedeliveryPolicy(r, p, true);
      if (entry.queue === undefined && entry.topic === undefined) {
        r.fail(p, '<redeliveryPolicy> in <redeliveryPolicyEntries> needs queue="pattern" or topic="pattern"');
      }
      result.entries.push(entry);
    }
  }
  const def = r.single(map, parts, 'defaultEntry');
  if (def !== undefined) {
    r.checkAttributes(def, { mapped: [] });
    const p = r.single(def, r.checkChildren(def, ['redeliveryPolicy']), 'redeliveryPolicy');
    if (p !== undefined) result.defaultPolicy = readRedeliveryPolicy(r, p, false).policy;
  }
  return result;
}

/** Plugin entries become per-policy redelivery: on the entry with the same pattern, or a new entry. */
export function mergeRedeliveryEntries(r: ConfigReader, policies: PolicyEntry[], entries: RedeliveryEntry[]): void {
  for (const e of entries) {
    const existing = policies.find((p) => (e.queue !== undefined ? p.queue === e.queue : p.topic === e.topic));
    if (existing === undefined) {
      policies.push({ ...(e.queue !== undefined ? { queue: e.queue } : { topic: e.topic }), prioritizedMessages: false, redeliveryPolicy: e.policy });
    } else if (existing.redeliveryPolicy !== undefined) {
      r.warn(e.el, `the <policyEntry> for ${e.queue !== undefined ? `queue="${e.queue}"` : `topic="${e.topic}"`} already has a <redeliveryPolicy>; that one is used and this one is ignored`);
    } else {
      existing.redeliveryPolicy = e.policy;
    }
  }
}
