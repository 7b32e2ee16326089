/**
 * Header escaping, STOMP 1.1/1.2 "Value Encoding". 1.0 has none; 1.1 defines \n \c \\ and
 * 1.2 adds \r. Anything else after a backslash is a fatal error (1.2: "Undefined escape
 * sequences such as \t MUST be treated as a fatal protocol error").
 */
import { QmqError } from '../../util/errors.js';
import type { StompVersion } from './frame.js';

const BACKSLASH = 0x5c;

/** Which escape letters each version defines, for error messages. */
export function definedEscapes(version: StompVersion): string {
  return version === '1.2' ? '\\r \\n \\c \\\\' : version === '1.1' ? '\\n \\c \\\\' : 'none';
}

/**
 * Decodes one header name or value. `where` describes the header for the error message and is
 * only called when something is wrong, so the hot path builds no strings.
 */
export function unescapeHeaderText(text: string, version: StompVersion, where: () => string): string {
  if (version === '1.0' || text.indexOf('\\') === -1) return text;
  let out = '';
  let runStart = 0;
  let i = text.indexOf('\\');
  while (i !== -1) {
    out += text.slice(runStart, i);
    const next = text.charCodeAt(i + 1);
    let decoded: string;
    if (next === 0x6e /* n */) decoded = '\n';
    else if (next === 0x63 /* c */) decoded = ':';
    else if (next === BACKSLASH) decoded = '\\';
    else if (next === 0x72 /* r */ && version === '1.2') decoded = '\r';
    else {
      const seq = Number.isNaN(next) ? 'a lone backslash at the end' : `the undefined escape sequence "\\${String.fromCharCode(next)}"`;
      throw new QmqError(
        'BAD_ESCAPE',
        `${where()} contains ${seq}; STOMP ${version} defines only ${definedEscapes(version)}`,
        { fatal: true },
      );
    }
    out += decoded;
    runStart = i + 2;
    i = text.indexOf('\\', runStart);
  }
  return out + text.slice(runStart);
}

const NEEDS_ESCAPE_11 = /[\\\n:]/;
const NEEDS_ESCAPE_12 = /[\\\n:\r]/;
const ESCAPE_11 = /[\\\n:]/g;
const ESCAPE_12 = /[\\\n:\r]/g;

function escapeChar(c: string): string {
  switch (c) {
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case ':':
      return '\\c';
    default:
      return '\\r';
  }
}

/** Encodes one header name or value for `version`; 1.0 text is returned as is. */
export function escapeHeaderText(text: string, version: StompVersion): string {
  if (version === '1.2') return NEEDS_ESCAPE_12.test(text) ? text.replace(ESCAPE_12, escapeChar) : text;
  if (version === '1.1') return NEEDS_ESCAPE_11.test(text) ? text.replace(ESCAPE_11, escapeChar) : text;
  return text;
}

/**
 * Says why a header cannot be written for this version, or returns undefined when it can.
 * `escaped` is false for 1.0 and for CONNECT/CONNECTED frames.
 */
export function unrepresentableReason(name: string, value: string, version: StompVersion, escaped: boolean): string | undefined {
  if (name.length === 0) return 'the header name is empty'; // 1.2 BNF: header-name = 1*<octet>
  if (!escaped) {
    if (name.indexOf('\n') !== -1) return 'the header name contains a line feed, which cannot be escaped here';
    if (name.indexOf(':') !== -1) return "the header name contains ':', which cannot be escaped here";
    if (value.indexOf('\n') !== -1) return 'the value contains a line feed, which cannot be escaped here';
  }
  // A value ending in CR would read back as a CRLF line end (1.2 "EOL = [CR] LF"); only 1.2
  // has \r to escape it.
  if (version !== '1.2' || !escaped) {
    if (value.endsWith('\r')) return `the value ends with a carriage return, which STOMP ${version} cannot carry here`;
  }
  return undefined;
}
