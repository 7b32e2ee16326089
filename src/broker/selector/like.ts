/**
 * LIKE matching (JMS 1.1 §3.8.1.1: "_ stands for any single character; % stands for any
 * sequence of characters, including the empty sequence; all other characters stand for
 * themselves. The optional escape-character ... is used to escape the special meaning of the _
 * and %").
 *
 * The pattern is compiled once. It is split at each `%` into segments of fixed length, and each
 * segment becomes a RegExp with no quantifiers. A single `^.*a.*a.*a$`-style RegExp would
 * backtrack exponentially on a hostile pattern; matching the segments left to right, each at
 * its leftmost possible place, gives the same answer in O(pattern × value) time.
 */

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;

function escapeRegex(s: string): string {
  return s.replace(REGEX_SYNTAX, '\\$&');
}

/** Splits the pattern at unescaped `%`; each segment is RegExp source (`_` becomes `.`). */
function segmentsOf(pattern: string, escape: string | undefined): string[] {
  const segments: string[] = [];
  let current = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (escape !== undefined && c === escape && i + 1 < chars.length) {
      current += escapeRegex(chars[++i]);
    } else if (c === '%') {
      segments.push(current);
      current = '';
    } else if (c === '_') {
      current += '.';
    } else {
      current += escapeRegex(c);
    }
  }
  segments.push(current);
  return segments;
}

export type LikeMatcher = (value: string) => boolean;

export function compileLike(pattern: string, escape: string | undefined): LikeMatcher {
  const segments = segmentsOf(pattern, escape);
  // `s`: `_` matches line terminators too; `u`: `_` is one code point, not half a surrogate pair.
  if (segments.length === 1) {
    const whole = new RegExp(`^${segments[0]}$`, 'su');
    return (v) => whole.test(v);
  }
  const first = segments[0];
  const last = segments[segments.length - 1];
  const prefix = first === '' ? null : new RegExp(first, 'suy');
  const middles = segments.slice(1, -1).filter((s) => s !== '').map((s) => new RegExp(s, 'sug'));
  const suffix = last === '' ? null : new RegExp(`(?:${last})$`, 'sug');
  return (v) => {
    let pos = 0;
    if (prefix) {
      prefix.lastIndex = 0;
      if (!prefix.test(v)) return false;
      pos = prefix.lastIndex;
    }
    for (const m of middles) {
      m.lastIndex = pos;
      if (!m.test(v)) return false;
      pos = m.lastIndex;
    }
    if (!suffix) return true;
    suffix.lastIndex = pos;
    return suffix.test(v);
  };
}
