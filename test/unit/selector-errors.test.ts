import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSelector, MAX_SELECTOR_DEPTH, MAX_SELECTOR_LENGTH } from '../../src/broker/selector/index.js';
import { QmqError } from '../../src/util/errors.js';

// Each row: selector, a fragment the message must contain (what is wrong), and the 0-based
// position the message must name.
const rows: Array<[selector: string, says: string, position: number]> = [
  ['price >', "expected a value after '>'", 7],
  ['price > 10 AND', "expected a condition after 'AND'", 14],
  ['price > 10 OR', "expected a condition after 'OR'", 13],
  ['NOT', "expected a condition after 'NOT'", 3],
  ['(a = 1', "expected ')' to close the '(' at position 0", 6],
  ['a = 1)', 'expected AND, OR or end of selector', 5],
  ['a = 1 b = 2', "found 'b'", 6],
  ['a == 1', "expected a value after '='", 3],
  ['a != 1', "write '<>'", 2],
  ['a = "x"', 'single quotes', 4],
  ["a = 'unterminated", 'unterminated string literal', 4],
  ['a = 1 # 2', "unexpected character \"#\"", 6],
  ['a = 12abc', "right after number '12'", 6],
  ['a = 09', "invalid digit '9' in octal number", 5],
  ['a = 0x', 'hex digits', 6],
  ['a = 1e', 'exponent', 6],
  ['a = 1e+', 'exponent', 7],
  ['5', 'expected a condition', 0],
  ["'text'", 'expected a condition', 0],
  ['a + 1', 'expected a condition', 0],
  ['a = 1 AND 5', "expected a condition after 'AND'", 10],
  ['5 OR a = 1', "before 'OR' is a value", 2],
  ['a + (b = 1) > 2', "operand of '+' must be a value", 4],
  ['(a = 1) > 2', "operand of '>' must be a value", 0],
  ['a > (b = 1)', "operand of '>' must be a value", 4],
  ['a < b < c', 'comparisons do not chain', 6],
  ['a BETWEEN 1', "expected 'AND' after the lower bound of BETWEEN", 11],
  ['a BETWEEN 1 OR 2', "expected 'AND' after the lower bound of BETWEEN", 12],
  ['a BETWEEN AND 2', "expected a value after 'BETWEEN'", 10],
  ['a NOT = 1', "expected BETWEEN, IN or LIKE after 'NOT'", 6],
  ["a IN 'x'", "expected '(' after 'IN'", 5],
  ['a IN ()', 'expected a string or number literal in the IN list', 6],
  ["a IN ('x' 'y')", "expected ',' or ')' in the IN list", 10],
  ["a IN ('x',)", 'expected a string or number literal in the IN list', 10],
  ['a IN (b)', 'expected a string or number literal in the IN list', 6],
  ['a LIKE b', "expected a string literal pattern after 'LIKE'", 7],
  ['a LIKE 5', "expected a string literal pattern after 'LIKE'", 7],
  ["a LIKE 'x' ESCAPE 'ab'", "expected a single-character string literal after 'ESCAPE'", 18],
  ["a LIKE 'x' ESCAPE ''", "expected a single-character string literal after 'ESCAPE'", 18],
  ["a LIKE 'x!' ESCAPE '!'", "ends with the escape character '!'", 7],
  ['a IS 5', "expected 'NULL' or 'NOT NULL' after 'IS'", 5],
  ['a IS NOT 5', "expected 'NULL' after 'IS NOT'", 9],
  ['AND = 1', "found the keyword 'AND'", 0],
  ['a = NOT b', "expected a value after '='", 4],
  ['a = ', "expected a value after '='", 4],
  ['()', "expected an expression after '('", 1],
  ['a * ', "expected a value after '*'", 4],
  ['- = 1', "expected a value after unary '-'", 2],
];

test('invalid selectors name what is wrong and where', () => {
  const failures: string[] = [];
  for (const [selector, says, position] of rows) {
    try {
      compileSelector(selector);
      failures.push(`${selector}: compiled without error`);
    } catch (e) {
      if (!(e instanceof QmqError)) {
        failures.push(`${selector}: threw a non-QmqError ${String(e)}`);
        continue;
      }
      if (e.code !== 'QMQ-2002' || e.codeName !== 'INVALID_SELECTOR') failures.push(`${selector}: code ${e.code}`);
      if (!e.message.startsWith(`invalid selector ${JSON.stringify(selector)}: `)) failures.push(`${selector}: message does not quote the selector: ${e.message}`);
      if (!e.message.includes(says)) failures.push(`${selector}: message lacks ${JSON.stringify(says)}: ${e.message}`);
      if (!e.message.endsWith(` at position ${position}`)) failures.push(`${selector}: expected position ${position}: ${e.message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('the example from the brief reads as documented', () => {
  assert.throws(() => compileSelector('price >'), {
    code: 'QMQ-2002',
    message: `invalid selector "price >": expected a value after '>', found end of selector at position 7`,
  });
});

test('an over-long selector is rejected before it is parsed', () => {
  const text = `a = '${'x'.repeat(MAX_SELECTOR_LENGTH)}'`;
  assert.throws(() => compileSelector(text), (e: unknown) => {
    assert.ok(e instanceof QmqError);
    assert.equal(e.code, 'QMQ-2002');
    assert.match(e.message, new RegExp(`the limit is ${MAX_SELECTOR_LENGTH}`));
    assert.ok(e.message.length < 400, 'the message quotes a shortened selector');
    return true;
  });
  // Just under the limit still compiles.
  const fits = `a = '${'x'.repeat(MAX_SELECTOR_LENGTH - 10)}'`;
  assert.equal(compileSelector(fits).matches(() => 'x'.repeat(MAX_SELECTOR_LENGTH - 10)), true);
});

test('deep nesting is rejected with a clear error instead of overflowing the stack', () => {
  const hostile = [
    '('.repeat(10_000) + 'a = 1' + ')'.repeat(10_000),
    'NOT '.repeat(10_000) + 'a = 1',
    'a = ' + '-'.repeat(10_000) + '1',
    'a = ' + Array.from({ length: 5000 }, () => '1').join(' + '),
  ];
  for (const text of hostile) {
    assert.throws(() => compileSelector(text), (e: unknown) => {
      assert.ok(e instanceof QmqError, String(e));
      assert.equal(e.code, 'QMQ-2002');
      assert.match(e.message, new RegExp(`nests deeper than ${MAX_SELECTOR_DEPTH} levels at position \\d+$`));
      return true;
    });
  }
  // Realistic nesting well inside the limit is fine.
  const ok = '('.repeat(50) + 'a = 1' + ')'.repeat(50);
  assert.equal(compileSelector(ok).matches(() => '1'), true);
});
