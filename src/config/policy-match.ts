/**
 * Which `<policyEntry>` applies to a destination.
 *
 * Patterns use ActiveMQ's wildcard syntax (activemq.apache.org "Wildcards"): names are split on
 * `.`; `*` matches exactly one segment; `>` (last segment only) matches everything after,
 * including nothing, so `FOO.>` matches `FOO` as in ActiveMQ's PrefixDestinationFilter.
 * A comma in a pattern makes it composite (`A.>,B.>`): any alternative may match.
 *
 * Choosing among several matches. ActiveMQ's DestinationMap collects every match into a sorted
 * set and takes the last one, which makes the winner depend on how names sort. We use an
 * explicit "most specific wins" rule instead, which gives the same answer for the usual
 * layered configs (`>` then `FOO.>` then `FOO.BAR`):
 *   1. more literal (non-wildcard) segments wins;
 *   2. then more `*` segments (a `*` constrains length, `>` does not);
 *   3. then a pattern without `>` wins;
 *   4. then the entry declared first wins.
 * Temporary destinations match the entries of their base kind (temp-queue → queue entries,
 * temp-topic → topic entries), since ActiveMQ's tempQueue/tempTopic entries are not modelled.
 */
import type { DestinationKind } from '../broker/message.js';
import type { PolicyEntry } from './types.js';

/** Why a pattern is not a valid ActiveMQ wildcard pattern, or undefined when it is. */
export function patternProblem(pattern: string): string | undefined {
  for (const alternative of pattern.split(',')) {
    const segments = alternative.trim().split('.');
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i];
      if (s === '') return `"${pattern}" has an empty name segment (check for doubled or trailing dots and commas)`;
      if (s === '>' && i !== segments.length - 1) return `"${pattern}": ">" may only be the last segment`;
      if (s !== '*' && s !== '>' && (s.includes('*') || s.includes('>'))) {
        return `"${pattern}": wildcards must be whole segments ("FOO.*", not "FOO*")`;
      }
    }
  }
  return undefined;
}

/** [literal segments, star segments, 1 when no `>`] — compared left to right, higher is more specific. */
type Specificity = [number, number, number];

function matchAlternative(pattern: string[], name: string[]): Specificity | undefined {
  let literals = 0;
  let stars = 0;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '>') return [literals, stars, 0];
    if (i >= name.length) return undefined;
    if (p === '*') stars++;
    else if (p === name[i]) literals++;
    else return undefined;
  }
  return pattern.length === name.length ? [literals, stars, 1] : undefined;
}

/** The specificity of the best-matching alternative in `pattern`, or undefined when none matches. */
export function matchPattern(pattern: string, name: string): Specificity | undefined {
  const nameSegments = name.split('.');
  let best: Specificity | undefined;
  for (const alternative of pattern.split(',')) {
    const s = matchAlternative(alternative.trim().split('.'), nameSegments);
    if (s !== undefined && (best === undefined || compareSpecificity(s, best) > 0)) best = s;
  }
  return best;
}

function compareSpecificity(a: Specificity, b: Specificity): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export function findPolicy(policies: readonly PolicyEntry[], dest: { kind: DestinationKind; name: string }): PolicyEntry | undefined {
  const wantQueue = dest.kind === 'queue' || dest.kind === 'temp-queue';
  let best: PolicyEntry | undefined;
  let bestSpecificity: Specificity | undefined;
  for (const entry of policies) {
    const pattern = wantQueue ? entry.queue : entry.topic;
    if (pattern === undefined) continue;
    const s = matchPattern(pattern, dest.name);
    // Strictly greater: on a tie the entry declared first stays.
    if (s !== undefined && (bestSpecificity === undefined || compareSpecificity(s, bestSpecificity) > 0)) {
      best = entry;
      bestSpecificity = s;
    }
  }
  return best;
}
