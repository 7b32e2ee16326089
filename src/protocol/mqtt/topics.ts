/**
 * MQTT topic names and filters ↔ the broker's topic names, exactly as ActiveMQ maps them
 * (MQTTProtocolSupport.convertMQTTToActiveMQ), so that MQTT, STOMP and JMS clients meet on the
 * same topics: the pairs `/`–`.`, `+`–`*` and `#`–`>` swap, in both directions. MQTT
 * `sensors/temp` is the topic `sensors.temp` that `/topic/sensors.temp` names over STOMP, and the
 * filter `sensors/+` is the pattern `sensors.*`. Pure, with a table test.
 */
import { malformed } from './packets.js';

const SWAP: Record<string, string> = { '/': '.', '.': '/', '+': '*', '*': '+', '#': '>', '>': '#' };
const swap = (s: string) => s.replace(/[./+*#>]/g, (c) => SWAP[c]);

/** A topic name (no wildcards) → the broker's topic name. */
export function brokerTopicName(mqttTopic: string): string {
  return swap(mqttTopic);
}

/** A broker topic name → the MQTT topic name it is published under. */
export function mqttTopicName(brokerName: string): string {
  return swap(brokerName);
}

/**
 * A topic filter → the broker's wildcard pattern. Checks §4.7.1: `#` only as the whole last
 * level [MQTT-4.7.1-2], `+` only as a whole level [MQTT-4.7.1-3], and a filter is not empty
 * [MQTT-4.7.3-1]. A malformed filter closes the connection (§4.8).
 */
export function brokerTopicFilter(filter: string): string {
  if (filter === '') throw malformed('an empty topic filter [MQTT-4.7.3-1]');
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) throw malformed(`topic filter "${filter}": '#' must be the whole last level [MQTT-4.7.1-2]`);
    if (level.includes('+') && level !== '+') throw malformed(`topic filter "${filter}": '+' must be a whole level [MQTT-4.7.1-3]`);
  });
  return swap(filter);
}

/**
 * Whether an MQTT filter matches an MQTT topic name (§4.7), for retained messages. Filters that
 * start with a wildcard do not match names that start with `$` [MQTT-4.7.2-1].
 */
export function filterMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // also matches the parent level: "a/#" matches "a" [§4.7.1.2]
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
