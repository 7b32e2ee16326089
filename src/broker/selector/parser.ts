/**
 * Recursive-descent parser for JMS message selectors (JMS 1.1 §3.8.1.1, a subset of SQL-92
 * conditional expressions). Precedence, loosest first, as §3.8.1.1 lists it:
 *   OR < AND < NOT < comparison / BETWEEN / IN / LIKE / IS NULL < binary + - < * / < unary + -
 * Operators of one level associate left to right ("the order of evaluation ... is from left to
 * right within precedence level").
 *
 * Both the selector's length and the tree's depth are bounded, so a hostile selector cannot
 * exhaust the stack either here or when it is evaluated.
 */
import { canBeCondition, isCondition, type ArithOp, type CompareOp, type Expr, type Value } from './ast.js';
import { tokenize, type Token } from './lexer.js';
import { selectorError } from './syntax-error.js';

export const MAX_SELECTOR_LENGTH = 64 * 1024;
export const MAX_SELECTOR_DEPTH = 200;

const COMPARE_OPS = new Set(['=', '<>', '<', '<=', '>', '>=']);

/** Returns the tree, or null for an empty or all-whitespace selector (no selector at all). */
export function parseSelector(text: string): Expr | null {
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw selectorError(text, MAX_SELECTOR_LENGTH, `selector is ${text.length} characters long; the limit is ${MAX_SELECTOR_LENGTH}`);
  }
  const tokens = tokenize(text);
  // JMS 1.1 §3.8.1.1: "If the value of a message selector is an empty string, the value is
  // treated as a null and indicates that there is no message selector". Whitespace-only is
  // treated the same way, since it holds no expression either.
  if (tokens.length === 1) return null;
  return new Parser(text, tokens).parseTop();
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of selector';
  // A string literal's text already carries its quotes.
  return t.kind === 'literal' && typeof t.value === 'string' ? t.text : `'${t.text}'`;
}

class Parser {
  private i = 0;
  /** Parser recursion depth (parentheses, NOT, unary signs). */
  private nesting = 0;
  /** Height of each built node, so deep left-leaning chains (`a+a+a+…`) are caught too. */
  private readonly height = new WeakMap<Expr, number>();

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  parseTop(): Expr {
    const start = this.peek();
    const e = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') {
      throw this.fail(t.pos, `expected AND, OR or end of selector, found ${describe(t)}`);
    }
    // JMS 1.1 §3.8.1.1: a selector is a conditional expression.
    if (!canBeCondition(e)) throw this.fail(start.pos, 'expected a condition (a comparison, IS NULL, LIKE, ...), found a bare value');
    return e;
  }

  // ---------------------------------------------------------------- tokens and errors

  private peek(): Token {
    return this.tokens[this.i];
  }

  private next(): Token {
    return this.tokens[this.i++];
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'keyword' && t.text === word;
  }

  private isOp(op: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === op;
  }

  private fail(pos: number, what: string): Error {
    return selectorError(this.text, pos, what);
  }

  private enter(pos: number): void {
    if (++this.nesting > MAX_SELECTOR_DEPTH) {
      throw this.fail(pos, `selector nests deeper than ${MAX_SELECTOR_DEPTH} levels`);
    }
  }

  private leave(): void {
    this.nesting--;
  }

  /** Records a new node's height and rejects trees taller than the depth limit. */
  private node<E extends Expr>(e: E, pos: number, children: Expr[]): E {
    let h = 0;
    for (const c of children) h = Math.max(h, this.height.get(c) ?? 1);
    if (h + 1 > MAX_SELECTOR_DEPTH) throw this.fail(pos, `selector nests deeper than ${MAX_SELECTOR_DEPTH} levels`);
    this.height.set(e, h + 1);
    return e;
  }

  // ---------------------------------------------------------------- conditions

  private parseOr(): Expr {
    const first = this.parseAnd();
    if (!this.isKeyword('OR')) return first;
    const operands = [this.asCondition(first, this.peek().pos, 'OR')];
    const pos = this.peek().pos;
    while (this.isKeyword('OR')) {
      const op = this.next();
      operands.push(this.conditionAfter(op, () => this.parseAnd()));
    }
    return this.node({ kind: 'or', operands }, pos, operands);
  }

  private parseAnd(): Expr {
    const first = this.parseNot();
    if (!this.isKeyword('AND')) return first;
    const operands = [this.asCondition(first, this.peek().pos, 'AND')];
    const pos = this.peek().pos;
    while (this.isKeyword('AND')) {
      const op = this.next();
      operands.push(this.conditionAfter(op, () => this.parseNot()));
    }
    return this.node({ kind: 'and', operands }, pos, operands);
  }

  private parseNot(): Expr {
    if (!this.isKeyword('NOT')) return this.parsePredicate();
    const op = this.next();
    this.enter(op.pos);
    const operand = this.conditionAfter(op, () => this.parseNot());
    this.leave();
    return this.node({ kind: 'not', operand }, op.pos, [operand]);
  }

  /** Parses what follows `op` and insists it can be a condition. */
  private conditionAfter(op: Token, parse: () => Expr): Expr {
    const t = this.peek();
    if (!this.startsOperand(t)) throw this.fail(t.pos, `expected a condition after '${op.text}', found ${describe(t)}`);
    const e = parse();
    if (!canBeCondition(e)) throw this.fail(t.pos, `expected a condition after '${op.text}', found a value that is not true or false`);
    return e;
  }

  private asCondition(e: Expr, opPos: number, word: string): Expr {
    if (!canBeCondition(e)) throw this.fail(opPos, `the operand before '${word}' is a value, not a condition`);
    return e;
  }

  private startsOperand(t: Token): boolean {
    if (t.kind === 'ident' || t.kind === 'literal') return true;
    if (t.kind === 'keyword') return t.text === 'NOT' || t.text === 'TRUE' || t.text === 'FALSE' || t.text === 'NULL';
    return t.kind === 'op' && (t.text === '(' || t.text === '+' || t.text === '-');
  }

  private parsePredicate(): Expr {
    const start = this.peek();
    const left = this.parseAdditive();
    const t = this.peek();

    if (t.kind === 'op' && COMPARE_OPS.has(t.text)) {
      this.next();
      const op = t.text as CompareOp;
      // JMS 1.1 §3.8.1.1: string and boolean comparison is restricted to = and <>; only those
      // accept a condition as an operand (`(a > 1) = TRUE`).
      const ordering = op !== '=' && op !== '<>';
      if (ordering) this.requireValue(left, start.pos, `'${op}'`);
      const right = this.valueAfter(t, ordering);
      const after = this.peek();
      // SQL-92 comparison predicates do not chain; `a < b < c` is almost always a mistake.
      if (after.kind === 'op' && COMPARE_OPS.has(after.text)) {
        throw this.fail(after.pos, `comparisons do not chain: put parentheses around '${this.text.slice(start.pos, after.pos).trim()}' or join with AND`);
      }
      return this.node({ kind: 'compare', op, left, right }, t.pos, [left, right]);
    }

    let negated = false;
    if (this.isKeyword('NOT')) {
      const after = this.tokens[this.i + 1];
      if (after.kind === 'keyword' && (after.text === 'BETWEEN' || after.text === 'IN' || after.text === 'LIKE')) {
        this.next();
        negated = true;
      } else {
        throw this.fail(after.pos, `expected BETWEEN, IN or LIKE after 'NOT', found ${describe(after)}`);
      }
    }
    const kw = this.peek();
    if (kw.kind !== 'keyword') return left;
    switch (kw.text) {
      case 'BETWEEN':
        return this.parseBetween(left, start, negated);
      case 'IN':
        return this.parseIn(left, start, negated);
      case 'LIKE':
        return this.parseLike(left, start, negated);
      case 'IS':
        return this.parseIsNull(left, start);
      default:
        return left;
    }
  }

  private requireValue(e: Expr, pos: number, what: string): void {
    if (isCondition(e)) throw this.fail(pos, `the operand of ${what} must be a value, not a condition`);
  }

  private valueAfter(op: Token, mustBeValue: boolean): Expr {
    const t = this.peek();
    if (!this.startsOperand(t) || (t.kind === 'keyword' && t.text === 'NOT')) {
      throw this.fail(t.pos, `expected a value after '${op.text}', found ${describe(t)}`);
    }
    const e = this.parseAdditive();
    if (mustBeValue) this.requireValue(e, t.pos, `'${op.text}'`);
    return e;
  }

  // JMS 1.1 §3.8.1.1: "arithmetic-expr1 [NOT] BETWEEN arithmetic-expr2 AND arithmetic-expr3".
  private parseBetween(value: Expr, start: Token, negated: boolean): Expr {
    const kw = this.next();
    this.requireValue(value, start.pos, 'BETWEEN');
    const low = this.valueAfter(kw, true);
    const and = this.peek();
    if (!this.isKeyword('AND')) throw this.fail(and.pos, `expected 'AND' after the lower bound of BETWEEN, found ${describe(and)}`);
    this.next();
    const high = this.valueAfter(and, true);
    return this.node({ kind: 'between', negated, value, low, high }, kw.pos, [value, low, high]);
  }

  // JMS 1.1 §3.8.1.1: "identifier [NOT] IN (string-literal1, string-literal2,...)". Like
  // ActiveMQ we accept any value on the left; we also accept numeric literals in the list.
  private parseIn(value: Expr, start: Token, negated: boolean): Expr {
    const kw = this.next();
    this.requireValue(value, start.pos, 'IN');
    const open = this.peek();
    if (!this.isOp('(')) throw this.fail(open.pos, `expected '(' after 'IN', found ${describe(open)}`);
    this.next();
    const list: Array<string | bigint | number> = [];
    for (;;) {
      list.push(this.parseInItem());
      const t = this.next();
      if (t.kind === 'op' && t.text === ')') break;
      if (!(t.kind === 'op' && t.text === ',')) throw this.fail(t.pos, `expected ',' or ')' in the IN list, found ${describe(t)}`);
    }
    return this.node({ kind: 'in', negated, value, list }, kw.pos, [value]);
  }

  private parseInItem(): string | bigint | number {
    let t = this.next();
    let sign = 1;
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
      sign = t.text === '-' ? -1 : 1;
      t = this.next();
      if (t.kind !== 'literal' || typeof t.value === 'string') throw this.fail(t.pos, `expected a number after the sign in the IN list, found ${describe(t)}`);
    }
    if (t.kind !== 'literal') throw this.fail(t.pos, `expected a string or number literal in the IN list, found ${describe(t)}`);
    const v = t.value as string | bigint | number;
    if (sign < 0) return v === TWO_TO_63 ? -TWO_TO_63 : negateNumber(v as bigint | number);
    return outOfLongRange(v) as string | bigint | number;
  }

  // JMS 1.1 §3.8.1.1: "identifier [NOT] LIKE pattern-value [ESCAPE escape-character]", where the
  // pattern is a string literal and the escape a single-character string literal.
  private parseLike(value: Expr, start: Token, negated: boolean): Expr {
    const kw = this.next();
    this.requireValue(value, start.pos, 'LIKE');
    const p = this.next();
    if (p.kind !== 'literal' || typeof p.value !== 'string') {
      throw this.fail(p.pos, `expected a string literal pattern after 'LIKE', found ${describe(p)}`);
    }
    const pattern = p.value;
    let escape: string | undefined;
    if (this.isKeyword('ESCAPE')) {
      this.next();
      const e = this.next();
      if (e.kind !== 'literal' || typeof e.value !== 'string' || [...e.value].length !== 1) {
        throw this.fail(e.pos, `expected a single-character string literal after 'ESCAPE', found ${describe(e)}`);
      }
      escape = e.value;
      const dangling = danglingEscape(pattern, escape);
      if (dangling >= 0) throw this.fail(p.pos, `LIKE pattern ${p.text} ends with the escape character '${escape}'`);
    }
    const node: Expr = escape === undefined ? { kind: 'like', negated, value, pattern } : { kind: 'like', negated, value, pattern, escape };
    return this.node(node, kw.pos, [value]);
  }

  // JMS 1.1 §3.8.1.1: "identifier IS NULL", "identifier IS NOT NULL".
  private parseIsNull(value: Expr, start: Token): Expr {
    const kw = this.next();
    this.requireValue(value, start.pos, 'IS NULL');
    const negated = this.isKeyword('NOT');
    if (negated) this.next();
    const t = this.next();
    if (!(t.kind === 'keyword' && t.text === 'NULL')) {
      throw this.fail(t.pos, `expected ${negated ? "'NULL' after 'IS NOT'" : "'NULL' or 'NOT NULL' after 'IS'"}, found ${describe(t)}`);
    }
    return this.node({ kind: 'isNull', negated, value }, kw.pos, [value]);
  }

  // ---------------------------------------------------------------- arithmetic

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      left = this.arith(left, this.next(), () => this.parseMultiplicative());
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    while (this.isOp('*') || this.isOp('/')) {
      left = this.arith(left, this.next(), () => this.parseUnary());
    }
    return left;
  }

  private arith(left: Expr, op: Token, parseRight: () => Expr): Expr {
    this.requireValue(left, op.pos, `'${op.text}'`);
    const t = this.peek();
    if (!this.startsOperand(t) || (t.kind === 'keyword' && t.text === 'NOT')) {
      throw this.fail(t.pos, `expected a value after '${op.text}', found ${describe(t)}`);
    }
    const right = parseRight();
    this.requireValue(right, t.pos, `'${op.text}'`);
    return this.node({ kind: 'arith', op: op.text as ArithOp, left, right }, op.pos, [left, right]);
  }

  private parseUnary(): Expr {
    if (!(this.isOp('+') || this.isOp('-'))) return this.parsePrimary();
    const op = this.next();
    this.enter(op.pos);
    const t = this.peek();
    if (!this.startsOperand(t) || (t.kind === 'keyword' && t.text === 'NOT')) {
      throw this.fail(t.pos, `expected a value after unary '${op.text}', found ${describe(t)}`);
    }
    if (op.text === '-' && t.kind === 'literal' && t.value === TWO_TO_63) {
      // `-9223372036854775808` is the most negative long, though its digits alone do not fit.
      this.next();
      this.leave();
      return this.node({ kind: 'literal', value: -TWO_TO_63 }, op.pos, []);
    }
    const operand = this.parseUnary();
    this.leave();
    this.requireValue(operand, t.pos, `unary '${op.text}'`);
    if (op.text === '+') return operand;
    // Fold a sign into a numeric literal, so `-5` is the literal -5 (and the most negative long
    // is representable).
    if (operand.kind === 'literal' && (typeof operand.value === 'bigint' || typeof operand.value === 'number')) {
      return this.node({ kind: 'literal', value: negateNumber(operand.value) }, op.pos, []);
    }
    return this.node({ kind: 'neg', operand }, op.pos, [operand]);
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'literal':
        return this.node({ kind: 'literal', value: outOfLongRange(t.value!) }, t.pos, []);
      case 'ident':
        return this.node({ kind: 'ident', name: t.text }, t.pos, []);
      case 'keyword':
        if (t.text === 'TRUE' || t.text === 'FALSE') return this.node({ kind: 'literal', value: t.text === 'TRUE' }, t.pos, []);
        // ActiveMQ accepts NULL as a literal; any comparison with it is UNKNOWN.
        if (t.text === 'NULL') return this.node({ kind: 'literal', value: null }, t.pos, []);
        throw this.fail(t.pos, `expected a value, found the keyword '${t.text}' (keywords cannot be used as identifiers)`);
      case 'op':
        if (t.text === '(') {
          this.enter(t.pos);
          const inner = this.peek();
          if (!this.startsOperand(inner)) throw this.fail(inner.pos, `expected an expression after '(', found ${describe(inner)}`);
          const e = this.parseOr();
          this.leave();
          const close = this.next();
          if (!(close.kind === 'op' && close.text === ')')) {
            throw this.fail(close.pos, `expected ')' to close the '(' at position ${t.pos}, found ${describe(close)}`);
          }
          return e;
        }
        throw this.fail(t.pos, `expected a value, found ${describe(t)}`);
      case 'eof':
        throw this.fail(t.pos, 'expected a value, found end of selector');
    }
  }
}

const TWO_TO_63 = 2n ** 63n;

/** The lexer keeps 2^63 exact for the sake of a leading minus; unsigned, it is a double. */
function outOfLongRange(v: Value): Value {
  return v === TWO_TO_63 ? Number(v) : v;
}

function negateNumber(v: bigint | number): bigint | number {
  // Java long negation wraps (the negation of the most negative long is itself).
  return typeof v === 'number' ? -v : BigInt.asIntN(64, -v);
}

/** Offset of an escape character that has nothing to escape (at the end), or -1. */
function danglingEscape(pattern: string, escape: string): number {
  for (let i = 0; i < pattern.length; ) {
    if (pattern.startsWith(escape, i)) {
      if (i + escape.length >= pattern.length) return i;
      i += escape.length + 1;
    } else {
      i++;
    }
  }
  return -1;
}
