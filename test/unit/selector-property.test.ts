import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileSelector, parseSelector, printSelector, type Expr } from '../../src/broker/selector/index.js';
import { isCondition, type ArithOp, type CompareOp } from '../../src/broker/selector/ast.js';

const matches = (text: string, props: Record<string, string | number | boolean | null>): boolean =>
  compileSelector(text).matches((n) => props[n]);

// A non-null number as a STOMP header (a string) or as a host number.
const numericProp = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
).chain((n) => fc.constantFrom<string | number>(n, String(n)));

test('NOT (a = b) equals a <> b, and is UNKNOWN-safe for any values', () => {
  const anyProp = fc.oneof(numericProp, fc.string(), fc.boolean(), fc.constant(null), fc.constantFrom('true', 'FALSE'));
  fc.assert(
    fc.property(anyProp, anyProp, (a, b) => {
      const props = { a, b };
      assert.equal(matches('NOT (a = b)', props), matches('a <> b', props));
    }),
  );
  fc.assert(
    fc.property(numericProp, numericProp, (a, b) => {
      const props = { a, b };
      // For two non-null numbers exactly one of = and <> holds.
      assert.notEqual(matches('a = b', props), matches('a <> b', props));
    }),
  );
});

test('numeric strings order like the numbers they spell', () => {
  fc.assert(
    fc.property(numericProp, numericProp, (a, b) => {
      const x = Number(a);
      const y = Number(b);
      const props = { a, b };
      assert.equal(matches('a < b', props), x < y);
      assert.equal(matches('a <= b', props), x <= y);
      assert.equal(matches('a > b', props), x > y);
      assert.equal(matches('a >= b', props), x >= y);
      assert.equal(matches('a = b', props), x === y);
    }),
  );
});

test('BETWEEN is >= AND <=, and NOT BETWEEN is < OR >', () => {
  fc.assert(
    fc.property(numericProp, numericProp, numericProp, (v, lo, hi) => {
      const props = { v, lo, hi };
      assert.equal(matches('v BETWEEN lo AND hi', props), matches('v >= lo AND v <= hi', props));
      assert.equal(matches('v NOT BETWEEN lo AND hi', props), matches('v < lo OR v > hi', props));
    }),
  );
});

test('LIKE agrees with a straightforward regular expression', () => {
  const reference = (pattern: string, escape: string | undefined, value: string): boolean => {
    let src = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === escape && i + 1 < pattern.length) src += pattern[++i].replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
      else if (c === '%') src += '[\\s\\S]*';
      else if (c === '_') src += '[\\s\\S]';
      else src += c.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    }
    return new RegExp(`^${src}$`).test(value);
  };
  const pattern = fc.string({ unit: fc.constantFrom('a', 'b', '%', '_', '!', '.'), maxLength: 8 });
  const value = fc.string({ unit: fc.constantFrom('a', 'b', '%', '_', '!', '.', '\n'), maxLength: 10 });
  fc.assert(
    fc.property(pattern, value, fc.boolean(), (pat, v, withEscape) => {
      const escape = withEscape ? '!' : undefined;
      // A pattern ending in a lone escape character is a syntax error; tested elsewhere.
      if (escape !== undefined && /(^|[^!])(!!)*!$/.test(pat)) return;
      const text = `s LIKE '${pat}'${escape ? ` ESCAPE '${escape}'` : ''}`;
      assert.equal(matches(text, { s: v }), reference(pat, escape, v), `${text} on ${JSON.stringify(v)}`);
    }),
    { numRuns: 500 },
  );
});

// ------------------------------------------------------------------ random tree round trip

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const identifier = fc.constantFrom('a', 'b', 'price', 'JMSType', '$x', '_y1', 'é');
const numberLiteral = fc.oneof(
  fc.bigInt({ min: LONG_MIN, max: LONG_MAX }),
  fc.constantFrom(LONG_MIN, LONG_MAX, 0n),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const stringLiteral = fc.string({ maxLength: 6 });
const compareOp = fc.constantFrom<CompareOp>('=', '<>', '<', '<=', '>', '>=');
const arithOp = fc.constantFrom<ArithOp>('+', '-', '*', '/');

const { value: valueExpr, cond: condExpr } = fc.letrec<{ value: Expr; cond: Expr }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberLiteral.map((value): Expr => ({ kind: 'literal', value })),
    stringLiteral.map((value): Expr => ({ kind: 'literal', value })),
    fc.constantFrom<Expr>({ kind: 'literal', value: true }, { kind: 'literal', value: false }, { kind: 'literal', value: null }),
    identifier.map((name): Expr => ({ kind: 'ident', name })),
    // A sign on a numeric literal folds into the literal, so `neg` never wraps one.
    (tie('value') as fc.Arbitrary<Expr>)
      .filter((e) => !(e.kind === 'literal' && (typeof e.value === 'bigint' || typeof e.value === 'number')))
      .map((operand): Expr => ({ kind: 'neg', operand })),
    fc
      .record({ op: arithOp, left: tie('value') as fc.Arbitrary<Expr>, right: tie('value') as fc.Arbitrary<Expr> })
      .map((r): Expr => ({ kind: 'arith', ...r })),
  ),
  cond: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    identifier.map((name): Expr => ({ kind: 'ident', name })),
    fc.constantFrom<Expr>({ kind: 'literal', value: true }, { kind: 'literal', value: false }),
    fc
      .record({ op: compareOp, left: tie('value') as fc.Arbitrary<Expr>, right: tie('value') as fc.Arbitrary<Expr> })
      .map((r): Expr => ({ kind: 'compare', ...r })),
    fc
      .record({ op: fc.constantFrom<CompareOp>('=', '<>'), left: tie('cond') as fc.Arbitrary<Expr>, right: tie('cond') as fc.Arbitrary<Expr> })
      .map((r): Expr => ({ kind: 'compare', ...r })),
    fc
      .record({ negated: fc.boolean(), value: tie('value') as fc.Arbitrary<Expr>, low: tie('value') as fc.Arbitrary<Expr>, high: tie('value') as fc.Arbitrary<Expr> })
      .map((r): Expr => ({ kind: 'between', ...r })),
    fc
      .record({
        negated: fc.boolean(),
        value: tie('value') as fc.Arbitrary<Expr>,
        list: fc.array(fc.oneof(stringLiteral, numberLiteral), { minLength: 1, maxLength: 4 }),
      })
      .map((r): Expr => ({ kind: 'in', ...r })),
    fc
      .record({ negated: fc.boolean(), value: tie('value') as fc.Arbitrary<Expr>, pattern: fc.string({ maxLength: 6 }), escape: fc.option(fc.constantFrom('!', '\\', "'"), { nil: undefined }) })
      .filter((r) => r.escape === undefined || !endsWithLoneEscape(r.pattern, r.escape))
      .map(({ escape, ...r }): Expr => (escape === undefined ? { kind: 'like', ...r } : { kind: 'like', ...r, escape })),
    fc.record({ negated: fc.boolean(), value: tie('value') as fc.Arbitrary<Expr> }).map((r): Expr => ({ kind: 'isNull', ...r })),
    (tie('cond') as fc.Arbitrary<Expr>).map((operand): Expr => ({ kind: 'not', operand })),
    fc.array(tie('cond') as fc.Arbitrary<Expr>, { minLength: 2, maxLength: 3 }).map((operands): Expr => ({ kind: 'and', operands })),
    fc.array(tie('cond') as fc.Arbitrary<Expr>, { minLength: 2, maxLength: 3 }).map((operands): Expr => ({ kind: 'or', operands })),
  ),
}));

function endsWithLoneEscape(pattern: string, escape: string): boolean {
  let i = 0;
  while (i < pattern.length) {
    if (pattern[i] === escape) {
      if (i + 1 >= pattern.length) return true;
      i += 2;
    } else i++;
  }
  return false;
}

test('printing a random tree and parsing it back gives the same tree', () => {
  fc.assert(
    fc.property(condExpr, (ast) => {
      const text = printSelector(ast);
      assert.deepEqual(parseSelector(text), ast, text);
    }),
    { numRuns: 300 },
  );
});

test('random selectors evaluate to a boolean for any property values, without throwing', () => {
  const props = fc.dictionary(
    fc.constantFrom('a', 'b', 'price', 'JMSType', '$x', '_y1', 'é'),
    fc.oneof(numericProp, fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null), fc.constantFrom('true', '12', '-0')),
  );
  fc.assert(
    fc.property(condExpr, props, (ast, values) => {
      const sel = compileSelector(printSelector(ast));
      const r = sel.matches((n) => values[n]);
      assert.equal(typeof r, 'boolean');
      // NOT flips TRUE and FALSE and keeps UNKNOWN, so a selector and its negation never both match.
      const negated = compileSelector(`NOT ${printSelector(ast)}`).matches((n) => values[n]);
      assert.ok(!(r && negated));
      assert.ok(isCondition(ast) || ast.kind === 'ident' || ast.kind === 'literal');
    }),
    { numRuns: 300 },
  );
});
