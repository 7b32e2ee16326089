/**
 * The typing rules of selector operators: how values compare, how arithmetic promotes, and how
 * STOMP's string-typed properties are coerced. Conditions are three-valued: `true`, `false` and
 * `null` for UNKNOWN (JMS 1.1 §3.8.1.1, truth tables for AND, OR and NOT).
 *
 * JMS itself never converts a string property to a number inside a selector ("the conversions
 * that apply to the get methods for properties do not apply when a property is used in a message
 * selector expression"). STOMP carries every property as a string, though, so ActiveMQ compiles
 * STOMP selectors with `convert_string_expressions:`, and we do the same for every selector:
 *  - a string that is wholly a number (`12`, `-3`, `12.5`, `1e3`; no spaces, no hex) is used as
 *    that number wherever the other operand is a number, and in arithmetic;
 *  - a string `true`/`false` (any case) is used as that boolean where the other operand is a
 *    boolean, and where a condition is expected (`flag AND x = 1`).
 */
import type { CompareOp, Value } from './ast.js';

export type Numeric = bigint | number;
/** A condition's result: `null` is SQL UNKNOWN. */
export type Truth = boolean | null;

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a string spells, or null. Integers in long range are exact (bigint). */
export function parseNumericString(s: string): Numeric | null {
  if (INTEGER.test(s)) {
    const n = BigInt(s);
    return n >= LONG_MIN && n <= LONG_MAX ? n : Number(s);
  }
  return DECIMAL.test(s) ? Number(s) : null;
}

function isNumeric(v: Value): v is Numeric {
  return typeof v === 'bigint' || typeof v === 'number';
}

/** The numeric reading of a value for arithmetic and ordering, or null when it has none. */
export function asNumeric(v: Value): Numeric | null {
  if (isNumeric(v)) return v;
  if (typeof v === 'string') return parseNumericString(v);
  return null;
}

function parseBooleanString(s: string): boolean | null {
  const lower = s.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : null;
}

/**
 * A value read where a condition is expected. JMS 1.1 §3.8.1.1 allows boolean identifiers
 * there; NULL is UNKNOWN; anything that is not a boolean is FALSE (a non-like type, as in
 * ActiveMQ).
 */
export function asTruth(v: Value): Truth {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'string') return parseBooleanString(v) ?? false;
  return false;
}

function numericEquals(a: Numeric, b: Numeric): boolean {
  // bigint == number compares mathematical values, which is what numeric promotion intends.
  // eslint-disable-next-line eqeqeq
  return typeof a === typeof b ? a === b : a == b;
}

/**
 * `a = b`. JMS 1.1 §3.8.1.1: "If either of the type values evaluates to NULL, the value of the
 * expression is unknown"; "Only like type values can be compared ... If the comparison of
 * non-like type values is attempted, the value of the operation is false"; exact and
 * approximate numerics compare by numeric promotion. Two strings compare as strings, so
 * `'12' = '12.0'` is false even though both read as 12.
 */
export function valueEquals(a: Value, b: Value): Truth {
  if (a === null || b === null) return null;
  if (isNumeric(a)) {
    if (isNumeric(b)) return numericEquals(a, b);
    if (typeof b === 'string') {
      const n = parseNumericString(b);
      return n !== null && numericEquals(a, n);
    }
    return false;
  }
  if (typeof a === 'string') {
    if (typeof b === 'string') return a === b;
    if (isNumeric(b)) return valueEquals(b, a);
    const bool = parseBooleanString(a);
    return bool !== null && bool === b;
  }
  // a is boolean
  if (typeof b === 'boolean') return a === b;
  if (typeof b === 'string') return valueEquals(b, a);
  return false;
}

/**
 * `<`, `<=`, `>`, `>=`. JMS 1.1 §3.8.1.1: "String and boolean comparison is restricted to = and
 * <>". With string coercion, the two sides are compared as numbers when both read as numbers,
 * so `'12' > '9'` is TRUE and header `price:12` satisfies `price > 10`. When either side does
 * not read as a number (a word, a boolean) the comparison is between non-like types and is
 * FALSE, never a lexicographic string comparison.
 */
export function valueOrder(op: CompareOp, a: Value, b: Value): Truth {
  if (a === null || b === null) return null;
  const x = asNumeric(a);
  const y = asNumeric(b);
  if (x === null || y === null) return false;
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
    default:
      throw new Error(`valueOrder called with '${op}'`);
  }
}

/**
 * `<>` is the negation of `=`, so it is UNKNOWN for NULL and TRUE for non-like types (ActiveMQ
 * builds `<>` the same way). `'abc' <> 5` is therefore TRUE, and `NOT (a = b)` always equals
 * `a <> b`.
 */
export function valueCompare(op: CompareOp, a: Value, b: Value): Truth {
  if (op === '=') return valueEquals(a, b);
  if (op === '<>') {
    const eq = valueEquals(a, b);
    return eq === null ? null : !eq;
  }
  return valueOrder(op, a, b);
}

/**
 * Binary arithmetic with Java numeric promotion: long op long stays long (wrapping on overflow,
 * truncating on division), anything with a double is double. NULL or a non-numeric operand
 * gives NULL, so the enclosing comparison is UNKNOWN. Integer division by zero, which throws
 * in Java, also gives NULL.
 */
export function arithmetic(op: string, a: Value, b: Value): Numeric | null {
  const x = asNumeric(a);
  const y = asNumeric(b);
  if (x === null || y === null) return null;
  if (typeof x === 'bigint' && typeof y === 'bigint') {
    switch (op) {
      case '+':
        return BigInt.asIntN(64, x + y);
      case '-':
        return BigInt.asIntN(64, x - y);
      case '*':
        return BigInt.asIntN(64, x * y);
      default:
        return y === 0n ? null : BigInt.asIntN(64, x / y);
    }
  }
  const p = Number(x);
  const q = Number(y);
  switch (op) {
    case '+':
      return p + q;
    case '-':
      return p - q;
    case '*':
      return p * q;
    default:
      return p / q;
  }
}

export function negate(a: Value): Numeric | null {
  const x = asNumeric(a);
  if (x === null) return null;
  return typeof x === 'bigint' ? BigInt.asIntN(64, -x) : -x;
}

/** A property value as the host supplies it, in selector form (integers become exact longs). */
export function fromHost(v: string | number | boolean | null | undefined): Value {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return v;
}
