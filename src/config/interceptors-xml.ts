/**
 * `<destinationInterceptors>` → the broker's virtual topic rules. As in ActiveMQ's BrokerService,
 * the built-in rule (`VirtualTopic.>` → `Consumer.*.`) applies only when the file configures no
 * destination interceptors at all; a `<virtualDestinationInterceptor>` brings its own rules.
 */
import { VIRTUAL_TOPIC_IGNORED_ATTRIBUTES } from './activemq-vocabulary.js';
import { DEFAULT_VIRTUAL_TOPIC } from './defaults.js';
import { patternProblem } from './policy-match.js';
import type { VirtualTopicRule } from './types.js';
import type { ConfigReader } from './xml-reader.js';
import type { XmlElement } from './xml-tree.js';

export function readDestinationInterceptors(r: ConfigReader, el: XmlElement): VirtualTopicRule[] {
  r.checkAttributes(el, { mapped: [] });
  const parts = r.checkChildren(el, ['virtualDestinationInterceptor'], ['mirroredQueue']);
  const rules: VirtualTopicRule[] = [];
  for (const interceptor of parts.get('virtualDestinationInterceptor') ?? []) {
    r.checkAttributes(interceptor, { mapped: [] });
    const lists = r.checkChildren(interceptor, ['virtualDestinations']);
    for (const list of lists.get('virtualDestinations') ?? []) {
      r.checkAttributes(list, { mapped: [] });
      const entries = r.checkChildren(list, ['virtualTopic'], ['compositeQueue', 'compositeTopic']);
      for (const vt of entries.get('virtualTopic') ?? []) rules.push(readVirtualTopic(r, vt));
    }
  }
  return rules;
}

function readVirtualTopic(r: ConfigReader, el: XmlElement): VirtualTopicRule {
  r.checkAttributes(el, { mapped: ['name', 'prefix', 'postfix', 'selectorAware'], ignored: VIRTUAL_TOPIC_IGNORED_ATTRIBUTES });
  r.checkChildren(el, []);
  // ActiveMQ's VirtualTopic element defaults: every topic (`>`, where the built-in rule says
  // `VirtualTopic.>`), queues named `Consumer.*.<topic>`.
  const name = (r.str(el, 'name') ?? '>').trim();
  const problem = patternProblem(name);
  if (problem !== undefined) r.fail(el, `invalid topic pattern name="${name}" on <virtualTopic>: ${problem}`);
  if (r.bool(el, 'selectorAware') === true) {
    r.unsupported(el, 'selectorAware="true" is not supported: every consumer queue gets every message of its virtual topic. Remove the attribute or set it to false');
  }
  return { name, prefix: r.str(el, 'prefix') ?? DEFAULT_VIRTUAL_TOPIC.prefix, postfix: r.str(el, 'postfix') ?? '' };
}
