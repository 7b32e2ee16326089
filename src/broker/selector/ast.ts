/**
 * The parsed form of a JMS message selector (JMS 1.1 §3.8.1.1), and a printer that turns it back
 * into selector text. The printer parenthesises every compound node, so `parse(print(ast))`
 * rebuilds the same tree; the round-trip property test relies on that.
 */

/**
 * A runtime value. Exact numerics (Java `long`) are `bigint` so that integer division truncates
 * and `long` arithmetic wraps the way Java numeric promotion demands (§3.8.1.1 "Arithmetic
 * operations must use numeric promotion in the Java programming language"); approximate
 * numerics (Java `double`) are `number`. `null` is SQL NULL (a missing property).
 */
export type Value = bigint | number | string | boolean | null;

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type ArithOp = '+' | '-' | '*' | '/';

export type Expr =
  | { kind: 'literal'; value: Value }
  | { kind: 'ident'; name: string }
  | { kind: 'neg'; operand: Expr }
  | { kind: 'arith'; op: ArithOp; left: Expr; right: Expr }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr }
  | { kind: 'between'; negated: boolean; value: Expr; low: Expr; high: Expr }
  | { kind: 'in'; negated: boolean; value: Expr; list: Array<string | bigint | number> }
  | { kind: 'like'; negated: boolean; value: Expr; pattern: string; escape?: string }
  | { kind: 'isNull'; negated: boolean; value: Expr }
  | { kind: 'not'; operand: Expr }
  | { kind: 'and'; operands: Expr[] }
  | { kind: 'or'; operands: Expr[] };

const CONDITION_KINDS = new Set<Expr['kind']>(['compare', 'between', 'in', 'like', 'isNull', 'not', 'and', 'or']);

/** True when the node can only yield TRUE/FALSE/UNKNOWN, never a number or string. */
export function isCondition(e: Expr): boolean {
  return CONDITION_KINDS.has(e.kind);
}

/**
 * True when the node may stand where a condition is expected: a real condition, a boolean
 * literal, NULL, or an identifier (a boolean property, JMS 1.1 §3.8.1.1 "identifiers ... whose
 * value is a boolean").
 */
export function canBeCondition(e: Expr): boolean {
  if (isCondition(e) || e.kind === 'ident') return true;
  return e.kind === 'literal' && (typeof e.value === 'boolean' || e.value === null);
}

export function quoteString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Prints a double so it reads back as an approximate literal (it always has `.` or an exponent). */
function printDouble(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`no selector literal for ${n}`);
  const s = Object.is(n, -0) ? '-0.0' : String(n);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

export function printLiteral(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return quoteString(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'bigint') return v.toString();
  return printDouble(v);
}

export function printSelector(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return printLiteral(e.value);
    case 'ident':
      return e.name;
    case 'neg':
      return `(-${printSelector(e.operand)})`;
    case 'arith':
    case 'compare':
      return `(${printSelector(e.left)} ${e.op} ${printSelector(e.right)})`;
    case 'between':
      return `(${printSelector(e.value)} ${e.negated ? 'NOT ' : ''}BETWEEN ${printSelector(e.low)} AND ${printSelector(e.high)})`;
    case 'in':
      return `(${printSelector(e.value)} ${e.negated ? 'NOT ' : ''}IN (${e.list.map(printLiteral).join(', ')}))`;
    case 'like': {
      const escape = e.escape === undefined ? '' : ` ESCAPE ${quoteString(e.escape)}`;
      return `(${printSelector(e.value)} ${e.negated ? 'NOT ' : ''}LIKE ${quoteString(e.pattern)}${escape})`;
    }
    case 'isNull':
      return `(${printSelector(e.value)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'not':
      return `(NOT ${printSelector(e.operand)})`;
    case 'and':
      return `(${e.operands.map(printSelector).join(' AND ')})`;
    case 'or':
      return `(${e.operands.map(printSelector).join(' OR ')})`;
  }
}
