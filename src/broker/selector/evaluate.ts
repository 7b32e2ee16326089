/**
 * Turns a selector tree into nested closures once, at SUBSCRIBE time, so matching a message is a
 * few direct calls with no tree walk or re-parsing. Condition closures return a Truth (`null` is
 * UNKNOWN); value closures return a Value.
 */
import type { Expr, Value } from './ast.js';
import { compileLike } from './like.js';
import { arithmetic, asTruth, fromHost, negate, valueCompare, valueEquals, valueOrder, type Truth } from './values.js';

export type HostValue = string | number | boolean | null;
export type Lookup = (name: string) => HostValue | undefined;

type ValueFn = (get: Lookup) => Value;
type TruthFn = (get: Lookup) => Truth;

export function compileValue(e: Expr): ValueFn {
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return () => v;
    }
    case 'ident': {
      const name = e.name;
      // JMS 1.1 §3.8.1.1: "If a property that does not exist in a message is referenced, its
      // value is NULL."
      return (get) => fromHost(get(name));
    }
    case 'neg': {
      const operand = compileValue(e.operand);
      return (get) => negate(operand(get));
    }
    case 'arith': {
      const { op } = e;
      const left = compileValue(e.left);
      const right = compileValue(e.right);
      return (get) => arithmetic(op, left(get), right(get));
    }
    default: {
      // A condition used as a value (only as an operand of = or <>).
      const cond = compileCondition(e);
      return (get) => cond(get);
    }
  }
}

export function compileCondition(e: Expr): TruthFn {
  switch (e.kind) {
    case 'literal':
    case 'ident':
    case 'neg':
    case 'arith': {
      const value = compileValue(e);
      return (get) => asTruth(value(get));
    }
    case 'compare': {
      const { op } = e;
      const left = compileValue(e.left);
      const right = compileValue(e.right);
      return (get) => valueCompare(op, left(get), right(get));
    }
    case 'between': {
      const value = compileValue(e.value);
      const low = compileValue(e.low);
      const high = compileValue(e.high);
      if (e.negated) {
        // JMS 1.1 §3.8.1.1: "age NOT BETWEEN 15 AND 19" is equivalent to "age < 15 OR age > 19".
        return (get) => {
          const v = value(get);
          return or2(valueOrder('<', v, low(get)), valueOrder('>', v, high(get)));
        };
      }
      // JMS 1.1 §3.8.1.1: "age BETWEEN 15 AND 19" is equivalent to "age >= 15 AND age <= 19".
      return (get) => {
        const v = value(get);
        return and2(valueOrder('>=', v, low(get)), valueOrder('<=', v, high(get)));
      };
    }
    case 'in': {
      // JMS 1.1 §3.8.1.1: IN with a NULL identifier is UNKNOWN. A set of plain strings is looked
      // up in a Set; numeric items need the coercing equality.
      const value = compileValue(e.value);
      const negated = e.negated;
      const items = e.list;
      const allStrings = items.every((x) => typeof x === 'string');
      const stringSet = new Set(items.filter((x): x is string => typeof x === 'string'));
      return (get) => {
        const v = value(get);
        if (v === null) return null;
        const found = allStrings && typeof v === 'string' ? stringSet.has(v) : items.some((x) => valueEquals(v, x) === true);
        return negated ? !found : found;
      };
    }
    case 'like': {
      // JMS 1.1 §3.8.1.1: LIKE with a NULL identifier is UNKNOWN. A non-string value is a
      // non-like type, so LIKE is FALSE (and NOT LIKE TRUE), as in ActiveMQ.
      const value = compileValue(e.value);
      const matcher = compileLike(e.pattern, e.escape);
      const negated = e.negated;
      return (get) => {
        const v = value(get);
        if (v === null) return null;
        const matched = typeof v === 'string' && matcher(v);
        return negated ? !matched : matched;
      };
    }
    case 'isNull': {
      const value = compileValue(e.value);
      const negated = e.negated;
      return (get) => (value(get) === null) !== negated;
    }
    case 'not': {
      const operand = compileCondition(e.operand);
      // JMS 1.1 §3.8.1.1 NOT truth table: NOT UNKNOWN is UNKNOWN.
      return (get) => {
        const t = operand(get);
        return t === null ? null : !t;
      };
    }
    case 'and': {
      const operands = e.operands.map(compileCondition);
      // JMS 1.1 §3.8.1.1 AND truth table: any FALSE wins, else any UNKNOWN, else TRUE.
      return (get) => {
        let result: Truth = true;
        for (const f of operands) {
          const t = f(get);
          if (t === false) return false;
          if (t === null) result = null;
        }
        return result;
      };
    }
    case 'or': {
      const operands = e.operands.map(compileCondition);
      // JMS 1.1 §3.8.1.1 OR truth table: any TRUE wins, else any UNKNOWN, else FALSE.
      return (get) => {
        let result: Truth = false;
        for (const f of operands) {
          const t = f(get);
          if (t === true) return true;
          if (t === null) result = null;
        }
        return result;
      };
    }
  }
}

function and2(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

function or2(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}
