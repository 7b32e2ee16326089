import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSelector, messageSelectorLookup, type SelectorValue } from '../../src/broker/selector/index.js';
import type { Message } from '../../src/broker/message.js';

type Props = Record<string, SelectorValue>;
type Row = [selector: string, props: Props, expected: boolean];

const p = { price: '12', qty: '3', type: 'order', name: "O'Brien", flag: 'true', off: 'FALSE', ratio: '0.5', big: '1e3' };

// Each row: selector, properties, expected match. Missing properties are NULL.
const rows: Row[] = [
  // literals and equality
  ["type = 'order'", p, true],
  ["type = 'Order'", p, false], // string equality is case-sensitive
  ["type <> 'order'", p, false],
  ["type <> 'other'", p, true],
  ["name = 'O''Brien'", p, true], // '' escapes a quote
  ['TRUE', {}, true],
  ['FALSE', {}, false],
  ['1 = 1', {}, true],
  ['1 = 1.0', {}, true], // exact vs approximate by numeric promotion
  ['0x1F = 31', {}, true],
  ['017 = 15', {}, true], // octal, as Java and ActiveMQ
  ['10L = 10', {}, true],
  ['1e3 = 1000', {}, true],
  ['.5 = 0.5', {}, true],
  ['7. = 7', {}, true],
  ['-5 < 0', {}, true],
  ['+5 = 5', {}, true],
  // numeric-string coercion (ActiveMQ convert_string_expressions)
  ['price > 10', p, true],
  ['price = 12', p, true],
  ['price = 12.0', p, true],
  ['price < 12', p, false],
  ['price >= 12', p, true],
  ['price <= 11.5', p, false],
  ['price <> 12', p, false],
  ["price = '12'", p, true], // string vs string
  ["price = '12.0'", p, false], // two strings compare as strings
  ["'12' > '9'", {}, true], // both read as numbers: compared numerically
  ["type > 'a'", p, false], // non-numeric strings cannot be ordered (JMS: = and <> only)
  ["NOT (type > 'a')", p, true], // ... it is FALSE, not UNKNOWN
  ['type > 5', p, false],
  ['type = 5', p, false], // non-like types: FALSE
  ['type <> 5', p, true], // <> is NOT =
  ['big = 1000', p, true],
  ['ratio * 4 = 2', p, true],
  ['price + qty = 15', p, true],
  ['price - qty * 2 = 6', p, true], // * binds tighter than -
  ['(price - qty) * 2 = 18', p, true],
  ['price / 5 = 2', p, true], // long / long truncates (Java numeric promotion)
  ['price / 5.0 = 2.4', p, true],
  ['price / 0 = 1', p, false], // integer division by zero is UNKNOWN
  ['NOT (price / 0 = 1)', p, false],
  ['-price = -12', p, true],
  ['- -price = 12', p, true],
  ['9223372036854775807 + 1 < 0', {}, true], // long arithmetic wraps like Java
  ["price + 'x' = 1", p, false],
  // booleans
  ['flag', p, true],
  ['flag = TRUE', p, true],
  ['off = FALSE', p, true],
  ['off', p, false],
  ['NOT off', p, true],
  ['flag AND price > 10', p, true],
  ['type', p, false], // a non-boolean string as a condition is FALSE
  ['b', { b: true }, true],
  ['b = FALSE', { b: false }, true],
  ['b = 1', { b: true }, false],
  ['TRUE = TRUE', {}, true],
  ['(price > 10) = TRUE', p, true],
  ['(price > 10) <> (qty > 10)', p, true],
  ['b > FALSE', { b: true }, false], // booleans only support = and <>
  // host numbers and exactness
  ['n = 4', { n: 4 }, true],
  ['n / 2 = 2.25', { n: 4.5 }, true],
  ['n / 2 = 2', { n: 5 }, true],
  ["n = '5'", { n: 5 }, true],
  // NULL and three-valued logic
  ['missing = 1', {}, false],
  ['missing <> 1', {}, false],
  ['NOT missing = 1', {}, false], // NOT UNKNOWN is UNKNOWN
  ['missing IS NULL', {}, true],
  ['missing IS NOT NULL', {}, false],
  ['price IS NOT NULL', p, true],
  ['n IS NULL', { n: null }, true],
  ['missing = 1 OR price = 12', p, true], // UNKNOWN OR TRUE
  ['missing = 1 OR price = 13', p, false], // UNKNOWN OR FALSE = UNKNOWN
  ['NOT (missing = 1 OR price = 13)', p, false],
  ['missing = 1 AND price = 13', p, false], // UNKNOWN AND FALSE = FALSE
  ['NOT (missing = 1 AND price = 13)', p, true],
  ['NOT (missing = 1 AND price = 12)', p, false], // NOT (UNKNOWN AND TRUE)
  ['missing + 1 = 1', {}, false],
  ['missing', {}, false],
  ['NOT missing', {}, false],
  ['NULL = NULL', {}, false],
  ['NULL IS NULL', {}, true],
  ['missing IN (\'a\')', {}, false],
  ['missing NOT IN (\'a\')', {}, false],
  ["missing LIKE 'a%'", {}, false],
  ["missing NOT LIKE 'a%'", {}, false],
  ['missing BETWEEN 1 AND 2', {}, false],
  ['missing NOT BETWEEN 1 AND 2', {}, false],
  ['price BETWEEN missing AND 20', p, false], // UNKNOWN AND TRUE
  ['price BETWEEN missing AND 5', p, false],
  ['NOT (price BETWEEN missing AND 5)', p, true], // UNKNOWN AND FALSE = FALSE
  // BETWEEN
  ['price BETWEEN 10 AND 20', p, true],
  ['price BETWEEN 12 AND 12', p, true],
  ['price BETWEEN 13 AND 20', p, false],
  ['price NOT BETWEEN 13 AND 20', p, true],
  ['price NOT BETWEEN 10 AND 20', p, false],
  ['price BETWEEN qty * 4 AND qty * 4 + 0.5', p, true],
  ["type BETWEEN 'a' AND 'z'", p, false],
  ['price BETWEEN 10 AND 20 AND type = \'order\'', p, true], // the first AND belongs to BETWEEN
  // IN
  ["type IN ('order', 'invoice')", p, true],
  ["type IN ('invoice')", p, false],
  ["type NOT IN ('invoice', 'quote')", p, true],
  ["type NOT IN ('order')", p, false],
  ["name IN ('O''Brien')", p, true],
  ['price IN (11, 12)', p, true],
  ["price IN ('12.0')", p, false],
  ['price IN (-12, 12.0)', p, true],
  // LIKE
  ["type LIKE 'ord%'", p, true],
  ["type LIKE '%der'", p, true],
  ["type LIKE '%rd%'", p, true],
  ["type LIKE 'o_der'", p, true],
  ["type LIKE 'o_er'", p, false],
  ["type LIKE 'order'", p, true],
  ["type LIKE 'ORDER'", p, false],
  ["type LIKE '%'", p, true],
  ["type LIKE '%%'", p, true],
  ["type LIKE '_____'", p, true],
  ["type LIKE '______'", p, false],
  ["type NOT LIKE 'ord%'", p, false],
  ["type NOT LIKE 'x%'", p, true],
  ["s LIKE 'a.c'", { s: 'abc' }, false], // regex metacharacters are literal
  ["s LIKE 'a.c'", { s: 'a.c' }, true],
  ["s LIKE '(x)*[y]$'", { s: '(x)*[y]$' }, true],
  ["s LIKE '100\\%' ESCAPE '\\'", { s: '100%' }, true],
  ["s LIKE '100\\%' ESCAPE '\\'", { s: '1000' }, false],
  ["s LIKE 'a!_b' ESCAPE '!'", { s: 'a_b' }, true],
  ["s LIKE 'a!_b' ESCAPE '!'", { s: 'axb' }, false],
  ["s LIKE 'a!!b' ESCAPE '!'", { s: 'a!b' }, true],
  ["s LIKE 'a%b%c'", { s: 'aXbYc' }, true],
  ["s LIKE 'a%b%c'", { s: 'acb' }, false],
  ["s LIKE 'ab%ba'", { s: 'aba' }, false], // prefix and suffix may not overlap
  ["s LIKE 'ab%ba'", { s: 'abba' }, true],
  ["s LIKE 'a_c'", { s: 'a\nc' }, true], // _ matches a line break
  ["s LIKE 'a_c'", { s: 'a😀c' }, true], // _ is one character, even outside the BMP
  ["s LIKE 'a%'", { s: 'a\nb' }, true],
  ["n LIKE '4'", { n: 4 }, false], // LIKE on a number: non-like types
  ["n NOT LIKE '4'", { n: 4 }, true],
  // precedence and associativity
  ["type = 'x' OR type = 'order' AND price > 100", p, false], // AND binds tighter than OR
  ["(type = 'x' OR type = 'order') AND price > 10", p, true],
  ["type = 'order' OR price > 100 AND qty = 99", p, true],
  ["NOT type = 'x' AND price = 12", p, true], // NOT binds tighter than AND
  ["NOT (type = 'order' AND price = 12)", p, false],
  ['10 - 4 - 3 = 3', {}, true], // left to right
  ['24 / 4 / 2 = 3', {}, true],
  ['2 + 3 * 4 = 14', {}, true],
  ['-2 * -3 = 6', {}, true],
  // keywords are case-insensitive; identifiers are not
  ["type in ('order') and price between 10 and 20 or false", p, true],
  ["Type = 'order'", p, false],
  ["type Like 'O%' escape '!' Or missing iS nUlL", p, true],
  ['not true', {}, false],
  ['true', {}, true],
  // identifiers
  ['$x = 1 AND _y = 2 AND é = 3', { $x: '1', _y: '2', é: '3' }, true],
  ['JMSXGroupID IS NULL', {}, true],
  // whitespace
  ["\ttype\n=\r\n'order'\f", p, true],
];

test('selector evaluation table', () => {
  const failures: string[] = [];
  for (const [selector, props, expected] of rows) {
    try {
      const actual = compileSelector(selector).matches((name) => props[name]);
      if (actual !== expected) failures.push(`${selector} with ${JSON.stringify(props)}: expected ${expected}, got ${actual}`);
    } catch (e) {
      failures.push(`${selector}: threw ${(e as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('empty and whitespace-only selectors match everything', () => {
  for (const text of ['', '   ', '\n\t']) {
    const sel = compileSelector(text);
    assert.equal(sel.text, text);
    assert.equal(sel.matches(() => undefined), true);
  }
});

test('a compiled selector keeps its text and can be reused across messages', () => {
  const sel = compileSelector('price > 10');
  assert.equal(sel.text, 'price > 10');
  assert.equal(sel.matches((n) => (n === 'price' ? '11' : undefined)), true);
  assert.equal(sel.matches((n) => (n === 'price' ? '9' : undefined)), false);
  assert.equal(sel.matches(() => undefined), false);
});

test('a long OR chain and a long IN list evaluate without deep recursion', () => {
  const terms = Array.from({ length: 5000 }, (_, i) => `x = ${i}`).join(' OR ');
  assert.equal(compileSelector(terms).matches((n) => (n === 'x' ? '4999' : undefined)), true);
  const list = Array.from({ length: 5000 }, (_, i) => `'v${i}'`).join(',');
  const sel = compileSelector(`x IN (${list})`);
  assert.equal(sel.matches(() => 'v4321'), true);
  assert.equal(sel.matches(() => 'w'), false);
});

test('a hostile LIKE pattern does not backtrack exponentially', () => {
  const pattern = '%a'.repeat(40) + '%b';
  const sel = compileSelector(`s LIKE '${pattern}'`);
  const started = process.hrtime.bigint();
  assert.equal(sel.matches(() => 'a'.repeat(5000)), false);
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(elapsedMs < 2000, `LIKE took ${elapsedMs} ms`);
});

function message(over: Partial<Message> = {}): Message {
  return {
    id: 'ID:node-1:1:1:7',
    destination: { kind: 'queue', name: 'orders.eu' },
    headers: { 'correlation-id': 'c-1', type: 'order', JMSXGroupID: 'g1', price: '12', 'reply-to': '/queue/replies' },
    body: Buffer.from('x'),
    bodyIsBytes: false,
    persistent: true,
    priority: 7,
    expires: 0,
    timestamp: 1_700_000_000_000,
    redeliveryCount: 0,
    ...over,
  };
}

test('messageSelectorLookup maps JMS headers like ActiveMQ', () => {
  const m = message();
  const get = messageSelectorLookup(m);
  assert.equal(get('JMSMessageID'), 'ID:node-1:1:1:7');
  assert.equal(get('JMSCorrelationID'), 'c-1');
  assert.equal(get('JMSType'), 'order');
  assert.equal(get('JMSPriority'), 7);
  assert.equal(get('JMSTimestamp'), 1_700_000_000_000);
  assert.equal(get('JMSExpiration'), 0);
  assert.equal(get('JMSDeliveryMode'), 'PERSISTENT');
  assert.equal(get('JMSRedelivered'), false);
  assert.equal(get('JMSXDeliveryCount'), 1);
  assert.equal(get('JMSDestination'), 'queue://orders.eu');
  assert.equal(get('JMSXGroupID'), 'g1');
  assert.equal(get('price'), '12');
  assert.equal(get('nope'), undefined);
  assert.equal(get('toString'), undefined); // not an inherited Object property
  const again = messageSelectorLookup(message({ persistent: false, redeliveryCount: 2, headers: {} }));
  assert.equal(again('JMSDeliveryMode'), 'NON_PERSISTENT');
  assert.equal(again('JMSRedelivered'), true);
  assert.equal(again('JMSXDeliveryCount'), 3);
  assert.equal(again('JMSCorrelationID'), undefined);
});

test('selectors over real messages', () => {
  const m = message();
  const cases: Array<[string, boolean]> = [
    ["JMSType = 'order' AND price > 10", true],
    ['JMSPriority > 4', true],
    ['JMSPriority BETWEEN 0 AND 4', false],
    ["JMSDeliveryMode = 'PERSISTENT'", true],
    ['JMSRedelivered = FALSE', true],
    ['NOT JMSRedelivered', true],
    ['JMSXDeliveryCount = 1', true],
    ["JMSDestination = 'queue://orders.eu'", true],
    ["JMSMessageID LIKE 'ID:node-1:%'", true],
    ["JMSCorrelationID IN ('c-1', 'c-2')", true],
    ["JMSXGroupID = 'g1'", true],
    ['JMSTimestamp > 1600000000000', true],
    ['JMSExpiration = 0', true],
    ['colour IS NULL', true],
  ];
  const get = messageSelectorLookup(m);
  for (const [text, expected] of cases) assert.equal(compileSelector(text).matches(get), expected, text);
});
