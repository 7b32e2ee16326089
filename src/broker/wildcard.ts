/**
 * ActiveMQ destination wildcards: names are `.`-separated paths, `*` matches exactly one
 * element and `>` matches every trailing element, including none: ActiveMQ's
 * PrefixDestinationFilter lets `a.>` match the bare `a` ("the case where A matches A.>").
 * Used for topic subscriptions; policy entries use `config/policy-match.ts`, which agrees.
 */

const ONE = '*';
const REST = '>';

export function isWildcard(name: string): boolean {
  return name.split('.').some((part) => part === ONE || part === REST);
}

export function matchesWildcard(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  const p = pattern.split('.');
  const n = name.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === REST) return true;
    if (i >= n.length) return false;
    if (p[i] !== ONE && p[i] !== n[i]) return false;
  }
  return p.length === n.length;
}
