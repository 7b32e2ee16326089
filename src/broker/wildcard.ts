/**
 * ActiveMQ destination wildcards: names are `.`-separated paths, `*` matches exactly one
 * element and `>` matches one or more trailing elements (ActiveMQ "Wildcards" page; its
 * DestinationFilter treats `>` as "this element and everything below", so `a.>` does not match
 * the bare `a`). Used for topic subscriptions and for policy entries.
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
    if (p[i] === REST) return n.length > i;
    if (i >= n.length) return false;
    if (p[i] !== ONE && p[i] !== n[i]) return false;
  }
  return p.length === n.length;
}

/**
 * How specific a pattern is, for picking one policy entry among several matches: literal
 * elements count most, then `*`, and `>` least. Higher is more specific.
 */
export function wildcardSpecificity(pattern: string): number {
  let score = 0;
  for (const part of pattern.split('.')) {
    if (part === REST) score += 1;
    else if (part === ONE) score += 100;
    else score += 10_000;
  }
  return score;
}
