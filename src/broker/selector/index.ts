/**
 * JMS message selectors (JMS 1.1 §3.8.1.1): compile once at SUBSCRIBE, then test each message.
 *
 *   const sel = compileSelector("type = 'order' AND price > 10");
 *   if (sel.matches(messageSelectorLookup(msg))) deliver(msg);
 *
 * A message matches only when the selector is TRUE; FALSE and UNKNOWN (for example a comparison
 * with a missing property) do not match.
 */
import { compileCondition } from './evaluate.js';
import { parseSelector } from './parser.js';

export type SelectorValue = string | number | boolean | null;

export interface Selector {
  readonly text: string;
  matches(get: (name: string) => SelectorValue | undefined): boolean;
}

/**
 * Throws QmqError INVALID_SELECTOR (QMQ-2002) naming the 0-based position and what was expected.
 * An empty or whitespace-only selector matches every message (JMS 1.1 §3.8.1.1: an empty
 * selector means there is no selector).
 */
export function compileSelector(text: string): Selector {
  const ast = parseSelector(text);
  if (ast === null) return { text, matches: () => true };
  const condition = compileCondition(ast);
  return { text, matches: (get) => condition(get) === true };
}

export { messageSelectorLookup } from './lookup.js';
export { parseSelector, MAX_SELECTOR_DEPTH, MAX_SELECTOR_LENGTH } from './parser.js';
export { printSelector, type Expr } from './ast.js';
