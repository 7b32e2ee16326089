import type { FailoverOptions } from './failover-options.js';
import type { BrokerAddress } from './url.js';

/**
 * The delay before reconnect pass `pass` (0-based). As in ActiveMQ's FailoverTransport the first
 * pass runs at once; then the delay starts at `initialReconnectDelay` and is multiplied by
 * `reconnectDelayExponent` after each failed pass, never above `maxReconnectDelay`.
 */
export function reconnectDelayMs(pass: number, o: Pick<FailoverOptions, 'initialReconnectDelayMs' | 'maxReconnectDelayMs' | 'useExponentialBackOff' | 'reconnectDelayExponent'>): number {
  if (pass <= 0) return 0;
  if (!o.useExponentialBackOff) return Math.min(o.initialReconnectDelayMs, o.maxReconnectDelayMs);
  const d = o.initialReconnectDelayMs * Math.pow(o.reconnectDelayExponent, pass - 1);
  return Math.min(Math.round(d), o.maxReconnectDelayMs);
}

/** True when `passesDone` passes have used up the limit (-1 = no limit). */
export function attemptsExhausted(passesDone: number, limit: number): boolean {
  return limit >= 0 && passesDone > limit;
}

/** The key that identifies an address regardless of how it was spelled. */
export function addressKey(a: Pick<BrokerAddress, 'scheme' | 'host' | 'port' | 'path'>): string {
  const scheme = a.scheme === 'stomp' ? 'tcp' : a.scheme === 'stomp+ssl' ? 'ssl' : a.scheme;
  return `${scheme}://${a.host.toLowerCase()}:${a.port}${scheme.startsWith('ws') ? a.path : ''}`;
}

/**
 * The order in which one pass tries the addresses: shuffled when `randomize`, and with
 * `priorityBackup` the priority addresses (by default the first one listed) always first.
 */
export function orderAddresses(
  addresses: readonly BrokerAddress[],
  o: Pick<FailoverOptions, 'randomize' | 'priorityBackup'>,
  priorityKeys: ReadonlySet<string>,
  random: () => number = Math.random,
): BrokerAddress[] {
  const list = [...addresses];
  if (o.randomize) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
  }
  if (!o.priorityBackup) return list;
  const isPriority = (a: BrokerAddress) => (priorityKeys.size > 0 ? priorityKeys.has(addressKey(a)) : addressKey(a) === addressKey(addresses[0]));
  return [...list.filter(isPriority), ...list.filter((a) => !isPriority(a))];
}
