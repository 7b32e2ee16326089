/**
 * Splits selector text into tokens (JMS 1.1 §3.8.1.1 "Literals", "Identifiers", "Whitespace").
 * Numbers follow Java literal syntax as ActiveMQ accepts it: decimal, hex (`0x1F`), octal (`017`)
 * and an optional `L` suffix for exact numerics; `12.5`, `7.`, `.5`, `1e3` (optional `f`/`d`
 * suffix) for approximate ones.
 */
import type { Value } from './ast.js';
import { selectorError } from './syntax-error.js';

export type TokenKind = 'ident' | 'keyword' | 'literal' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text; for keywords the upper-cased spelling. */
  text: string;
  /** 0-based offset of the token's first character. */
  pos: number;
  /** Set for literals: bigint (exact), number (approximate) or string. */
  value?: Value;
}

// JMS 1.1 §3.8.1.1: keywords are case-insensitive, and NULL/TRUE/FALSE and the operator words
// cannot be identifiers.
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'LIKE', 'ESCAPE', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE']);

// JMS 1.1 §3.8.1.1: identifiers use Java's Character.isJavaIdentifierStart/Part. These Unicode
// classes are that definition (letters, letter numbers, currency symbols, connector punctuation;
// parts add digits, combining marks and format characters).
const IDENT_START = /[\p{L}\p{Nl}\p{Sc}\p{Pc}]/u;
const IDENT_PART = /[\p{L}\p{Nl}\p{Sc}\p{Pc}\p{Nd}\p{Mn}\p{Mc}\p{Cf}]/u;

// JMS 1.1 §3.8.1.1: whitespace is Java's: space, tab, form feed and line terminators.
const WHITESPACE = new Set([' ', '\t', '\f', '\n', '\r']);

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * An integer literal that does not fit in a Java long becomes a double. 2^63 stays exact, because
 * a minus sign in front of it makes the most negative long; the parser converts it otherwise.
 */
function exactValue(n: bigint): bigint | number {
  return n >= LONG_MIN && n <= LONG_MAX + 1n ? n : Number(n);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /[0-9a-fA-F]/.test(c);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;

  const readIdentifier = (): string => {
    const start = i;
    // Walk by code point so astral letters are whole.
    while (i < n) {
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      if (!(i === start ? IDENT_START : IDENT_PART).test(ch)) break;
      i += ch.length;
    }
    return text.slice(start, i);
  };

  const readNumber = (): Token => {
    const start = i;
    let value: bigint | number;
    if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
      i += 2;
      const digitsStart = i;
      while (isHexDigit(text[i])) i++;
      if (i === digitsStart) throw selectorError(text, i, 'expected hex digits after \'0x\'');
      value = exactValue(BigInt(`0x${text.slice(digitsStart, i)}`));
      if (text[i] === 'l' || text[i] === 'L') i++;
    } else {
      while (isDigit(text[i])) i++;
      const intEnd = i;
      let approximate = false;
      if (text[i] === '.') {
        approximate = true;
        i++;
        while (isDigit(text[i])) i++;
      }
      if (text[i] === 'e' || text[i] === 'E') {
        approximate = true;
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (!isDigit(text[i])) throw selectorError(text, i, 'expected digits in the exponent of a number');
        while (isDigit(text[i])) i++;
      }
      if (approximate) {
        value = Number(text.slice(start, i));
        if (text[i] === 'f' || text[i] === 'F' || text[i] === 'd' || text[i] === 'D') i++;
      } else {
        const digits = text.slice(start, intEnd);
        if (digits.length > 1 && digits[0] === '0') {
          // Java integer literal syntax: a leading 0 means octal.
          const bad = digits.search(/[89]/);
          if (bad >= 0) throw selectorError(text, start + bad, `invalid digit '${digits[bad]}' in octal number '${digits}'`);
          value = exactValue(BigInt(`0o${digits.slice(1)}`));
        } else {
          value = exactValue(BigInt(digits));
        }
        if (text[i] === 'l' || text[i] === 'L') i++;
      }
    }
    if (i < n && IDENT_PART.test(String.fromCodePoint(text.codePointAt(i)!))) {
      throw selectorError(text, i, `unexpected '${String.fromCodePoint(text.codePointAt(i)!)}' right after number '${text.slice(start, i)}'`);
    }
    return { kind: 'literal', text: text.slice(start, i), pos: start, value };
  };

  const readString = (): Token => {
    const start = i;
    i++; // opening quote
    let value = '';
    for (;;) {
      const close = text.indexOf("'", i);
      if (close < 0) throw selectorError(text, start, 'unterminated string literal (a quote inside a string is written \'\')');
      value += text.slice(i, close);
      i = close + 1;
      // JMS 1.1 §3.8.1.1: an included single quote is represented by a doubled single quote.
      if (text[i] === "'") {
        value += "'";
        i++;
        continue;
      }
      break;
    }
    return { kind: 'literal', text: text.slice(start, i), pos: start, value };
  };

  while (i < n) {
    const c = text[i];
    if (WHITESPACE.has(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      tokens.push(readString());
    } else if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      tokens.push(readNumber());
    } else if (IDENT_START.test(String.fromCodePoint(text.codePointAt(i)!))) {
      const word = readIdentifier();
      const upper = word.toUpperCase();
      if (KEYWORDS.has(upper)) tokens.push({ kind: 'keyword', text: upper, pos: start });
      else tokens.push({ kind: 'ident', text: word, pos: start });
    } else if (c === '<' || c === '>') {
      const two = text.slice(i, i + 2);
      const op = two === '<>' || two === '<=' || two === '>=' ? two : c;
      i += op.length;
      tokens.push({ kind: 'op', text: op, pos: start });
    } else if ('=+-*/(),'.includes(c)) {
      i++;
      tokens.push({ kind: 'op', text: c, pos: start });
    } else if (c === '!' && text[i + 1] === '=') {
      throw selectorError(text, start, "'!=' is not selector syntax; write '<>' for not-equal");
    } else if (c === '"') {
      throw selectorError(text, start, 'string literals use single quotes, not double quotes');
    } else {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      throw selectorError(text, start, `unexpected character ${JSON.stringify(ch)}`);
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: n });
  return tokens;
}
