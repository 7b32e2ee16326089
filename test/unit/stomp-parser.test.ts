import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameImpl } from '@stomp/stompjs';
import { StompParser, type ParserLimits } from '../../src/protocol/stomp/parser.js';
import { encodeFrame } from '../../src/protocol/stomp/encoder.js';
import {
  CLIENT_COMMANDS,
  SERVER_COMMANDS,
  getHeader,
  headersToRecord,
  isEscapeExempt,
  type StompFrame,
  type StompVersion,
} from '../../src/protocol/stomp/frame.js';
import { ErrorCodes, QmqError } from '../../src/util/errors.js';

const LIMITS: ParserLimits = { maxBodyBytes: 1 << 20, maxHeaderBytes: 16 * 1024, maxHeaders: 1000 };

interface Harness {
  parser: StompParser;
  frames: StompFrame[];
  heartbeats: () => number;
}

function harness(opts: { side?: 'server' | 'client'; version?: StompVersion; limits?: Partial<ParserLimits> } = {}): Harness {
  const frames: StompFrame[] = [];
  let heartbeats = 0;
  const parser = new StompParser({
    limits: { ...LIMITS, ...opts.limits },
    side: opts.side ?? 'server',
    onFrame: (f) => frames.push(f),
    onHeartbeat: () => heartbeats++,
  });
  parser.version = opts.version ?? '1.2';
  return { parser, frames, heartbeats: () => heartbeats };
}

/** Feeds `bytes` cut at the given offsets (out-of-range and repeated cuts are ignored). */
function feed(parser: StompParser, bytes: Buffer, cuts: number[] = []): void {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let start = 0;
  for (const p of [...points, bytes.length]) {
    if (p > start) parser.push(bytes.subarray(start, p));
    start = p;
  }
}

function feedBytewise(parser: StompParser, bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1));
}

function parseOne(text: string | Buffer, opts: Parameters<typeof harness>[0] = {}): StompFrame {
  const h = harness(opts);
  feed(h.parser, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  assert.equal(h.frames.length, 1, 'expected exactly one frame');
  return h.frames[0];
}

/** Asserts that parsing throws a fatal QmqError with this code and a message matching `re`. */
function expectError(text: string | Buffer, code: keyof typeof ErrorCodes, re: RegExp, opts: Parameters<typeof harness>[0] = {}): QmqError {
  const h = harness(opts);
  let caught: unknown;
  try {
    feed(h.parser, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof QmqError, `expected a QmqError, got ${String(caught)}`);
  assert.equal(caught.codeName, code, caught.message);
  assert.equal(caught.code, ErrorCodes[code]);
  assert.equal(caught.fatal, true);
  assert.match(caught.message, re);

  // The same input fed a byte at a time takes the line-by-line path and must fail the same way.
  const bytewise = harness(opts);
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  assert.throws(
    () => feedBytewise(bytewise.parser, bytes),
    (e: unknown) => e instanceof QmqError && e.codeName === code,
    'byte-at-a-time feeding should fail with the same code',
  );
  return caught;
}

// ---------------------------------------------------------------------------------------------
// Property: encode → parse is the identity, whatever the chunking.

const awkwardChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(':', '\n', '\r', '\\', 'c', 'n', 'r', ' ', '\t') },
  { weight: 3, arbitrary: fc.constantFrom('a', 'b', '-', '.', '/') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
);
const awkwardText = fc.string({ unit: awkwardChar, maxLength: 12 });

/** Whether the version can carry this header (see escaping.ts unrepresentableReason). */
function representable(name: string, value: string, version: StompVersion, escaped: boolean): boolean {
  if (name.length === 0 || name === 'content-length') return false;
  if (!escaped && (name.includes('\n') || name.includes(':') || value.includes('\n'))) return false;
  if ((!escaped || version !== '1.2') && value.endsWith('\r')) return false;
  return true;
}

const versions: StompVersion[] = ['1.0', '1.1', '1.2'];

function frameArb(commands: ReadonlySet<string>, version: StompVersion) {
  return fc
    .record({
      command: fc.constantFrom(...commands),
      // A small name pool makes repeated headers common.
      headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom('destination', 'id', 'x'), awkwardText), awkwardText), { maxLength: 8 }),
      body: fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
      forceLength: fc.boolean(),
    })
    .map((f) => {
      const escaped = version !== '1.0' && !isEscapeExempt(f.command);
      const headers = f.headers.filter(([n, v]) => representable(n, v, version, escaped)) as Array<[string, string]>;
      return { ...f, headers };
    });
}

const eolArb = fc.array(fc.constantFrom('\n', '\r\n'), { maxLength: 3 });

for (const side of ['server', 'client'] as const) {
  for (const version of versions) {
    describe(`round trip, ${side} side, STOMP ${version}`, () => {
      it('encode then parse gives the original frames, in any chunking', () => {
        const commands = side === 'server' ? CLIENT_COMMANDS : SERVER_COMMANDS;
        fc.assert(
          fc.property(
            fc.array(fc.tuple(eolArb, frameArb(commands, version)), { minLength: 1, maxLength: 4 }),
            eolArb,
            fc.array(fc.nat(), { maxLength: 10 }),
            (items, trailingEols, cutSeeds) => {
              const parts: Buffer[] = [];
              const expected: StompFrame[] = [];
              let eolCount = trailingEols.length;
              for (const [eols, f] of items) {
                eolCount += eols.length;
                parts.push(Buffer.from(eols.join('')));
                parts.push(encodeFrame({ command: f.command, headers: f.headers, body: f.body }, version, { contentLength: f.forceLength }));
                const addsLength = f.forceLength || f.body.includes(0);
                expected.push({
                  command: f.command,
                  headers: addsLength ? [...f.headers, ['content-length', String(f.body.length)]] : f.headers,
                  body: f.body,
                });
              }
              parts.push(Buffer.from(trailingEols.join('')));
              const wire = Buffer.concat(parts);

              const chunked = harness({ side, version });
              feed(chunked.parser, wire, cutSeeds.map((s) => s % (wire.length + 1)));
              assert.deepStrictEqual(chunked.frames, expected);
              assert.equal(chunked.heartbeats(), eolCount);
              assert.equal(chunked.parser.midFrame, false);

              const bytewise = harness({ side, version });
              feedBytewise(bytewise.parser, wire);
              assert.deepStrictEqual(bytewise.frames, expected);
              assert.equal(bytewise.heartbeats(), eolCount);
            },
          ),
          { numRuns: 150 },
        );
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------

describe('frame layout', () => {
  it('heart-beat EOLs before the first frame and between frames are reported, not framed', () => {
    const h = harness();
    feed(h.parser, Buffer.from('\n\r\n\nSEND\ndestination:/queue/a\n\nx\0\n\r\nSEND\n\ny\0'));
    assert.equal(h.frames.length, 2);
    assert.equal(h.heartbeats(), 5);
    assert.equal(h.frames[1].body.toString(), 'y');
  });

  it('a heart-beat CRLF split across chunks is still one heart-beat', () => {
    const h = harness();
    h.parser.push(Buffer.from('\r'));
    assert.equal(h.heartbeats(), 0);
    assert.equal(h.parser.midFrame, false);
    h.parser.push(Buffer.from('\n'));
    assert.equal(h.heartbeats(), 1);
  });

  it('accepts CRLF line ends in command and header lines', () => {
    const f = parseOne('SEND\r\ndestination:/queue/a\r\nreceipt:7\r\n\r\nhi\0');
    assert.deepStrictEqual(f.headers, [
      ['destination', '/queue/a'],
      ['receipt', '7'],
    ]);
    assert.equal(f.command, 'SEND');
    assert.equal(f.body.toString(), 'hi');
  });

  it('keeps repeated headers in order and the first one wins', () => {
    const f = parseOne('MESSAGE\nfoo:first\nfoo:second\nbar:1\n\n\0', { side: 'client' });
    assert.deepStrictEqual(f.headers, [
      ['foo', 'first'],
      ['foo', 'second'],
      ['bar', '1'],
    ]);
    assert.equal(getHeader(f, 'foo'), 'first');
    assert.equal(getHeader(f, 'missing'), undefined);
    assert.deepStrictEqual(headersToRecord(f), { foo: 'first', bar: '1' });
  });

  it('the first content-length is the one that frames the body', () => {
    const f = parseOne('SEND\ncontent-length:2\ncontent-length:5\n\na\0\0');
    assert.deepStrictEqual([...f.body], [0x61, 0]);
  });

  it('parses frames with no headers and an empty body', () => {
    const h = harness();
    feed(h.parser, Buffer.from('DISCONNECT\n\n\0SEND\ncontent-length:0\n\n\0'));
    assert.deepStrictEqual(h.frames[0], { command: 'DISCONNECT', headers: [], body: Buffer.alloc(0) });
    assert.equal(h.frames[1].body.length, 0);
  });

  it('keeps values verbatim: colons after the first and surrounding spaces', () => {
    const f = parseOne('SEND\nurl: http://x:80/a \n\n\0', { version: '1.0' });
    assert.deepStrictEqual(f.headers, [['url', ' http://x:80/a ']]);
  });

  it('reads exactly content-length bytes, NULs included', () => {
    const body = Buffer.from([0, 1, 0, 2, 0]);
    const wire = Buffer.concat([Buffer.from('SEND\ncontent-length:5\n\n'), body, Buffer.from([0])]);
    assert.deepStrictEqual(parseOne(wire).body, body);
  });

  it('reassembles a multi-MiB body from 64 KiB chunks, with and without content-length', () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < body.length; i++) body[i] = 1 + (i % 251);
    for (const counted of [true, false]) {
      const h = harness({ limits: { maxBodyBytes: body.length } });
      const wire = encodeFrame({ command: 'SEND', headers: { destination: '/queue/big' }, body }, '1.2', { contentLength: counted });
      const cuts = Array.from({ length: Math.ceil(wire.length / 65536) }, (_, i) => i * 65536);
      feed(h.parser, Buffer.concat([wire, wire]), [...cuts, ...cuts.map((c) => c + wire.length)]);
      assert.equal(h.frames.length, 2);
      assert.ok(h.frames[0].body.equals(body));
      assert.ok(h.frames[1].body.equals(body));
    }
  });

  it('copies the body, so reusing the chunk afterwards does not change the frame', () => {
    const wire = Buffer.from('SEND\n\nabc\0');
    const f = parseOne(wire);
    wire.fill(0x7a);
    assert.equal(f.body.toString(), 'abc');
  });

  it('decodes UTF-8 header text and leaves the body as bytes', () => {
    const f = parseOne(Buffer.from('SEND\nnäme:välue€\n\nß\0', 'utf8'));
    assert.deepStrictEqual(f.headers, [['näme', 'välue€']]);
    assert.deepStrictEqual(f.body, Buffer.from('ß', 'utf8'));
  });

  it('midFrame is true while a frame is half buffered and false once it is done', () => {
    const h = harness();
    assert.equal(h.parser.midFrame, false);
    h.parser.push(Buffer.from('\n'));
    assert.equal(h.parser.midFrame, false, 'a heart-beat is not a frame');
    h.parser.push(Buffer.from('SE'));
    assert.equal(h.parser.midFrame, true);
    h.parser.push(Buffer.from('ND\ncontent-length:4\n\nab'));
    assert.equal(h.parser.midFrame, true);
    h.parser.push(Buffer.from('cd'));
    assert.equal(h.parser.midFrame, true, 'still waiting for the NUL');
    h.parser.push(Buffer.from('\0'));
    assert.equal(h.parser.midFrame, false);
    assert.equal(h.frames.length, 1);
  });

  it('a version set inside onFrame applies to the next frame of the same chunk', () => {
    const frames: StompFrame[] = [];
    const parser = new StompParser({
      limits: LIMITS,
      side: 'client',
      onFrame: (f) => {
        frames.push(f);
        if (f.command === 'CONNECTED') parser.version = getHeader(f, 'version') as StompVersion;
      },
    });
    parser.push(Buffer.from('CONNECTED\nversion:1.2\nserver:a\\b\n\nMESSAGE\nk:a\\cb\\r\n\n\0'.replace('\n\nMESSAGE', '\n\n\0MESSAGE')));
    assert.equal(frames.length, 2);
    assert.deepStrictEqual(frames[0].headers[1], ['server', 'a\\b'], 'CONNECTED is never unescaped');
    assert.deepStrictEqual(frames[1].headers, [['k', 'a:b\r']]);
  });

  it('parses a frame marshalled by @stomp/stompjs', () => {
    const wire = FrameImpl.marshall({
      command: 'SEND',
      headers: { destination: '/queue/a', note: 'x:y\nz\\w' },
      binaryBody: new Uint8Array([1, 0, 2]),
      escapeHeaderValues: true,
    });
    const bytes = typeof wire === 'string' ? Buffer.from(wire) : Buffer.from(wire as ArrayBuffer);
    const f = parseOne(bytes);
    assert.equal(getHeader(f, 'note'), 'x:y\nz\\w');
    assert.deepStrictEqual([...f.body], [1, 0, 2]);
  });
});

describe('escaping by version', () => {
  it('1.2 decodes \\r \\n \\c \\\\ in names and values', () => {
    const f = parseOne('SEND\na\\cb:1\\n2\\r3\\\\4\n\n\0');
    assert.deepStrictEqual(f.headers, [['a:b', '1\n2\r3\\4']]);
  });

  it('1.1 decodes \\n \\c \\\\ and rejects \\r', () => {
    assert.deepStrictEqual(parseOne('SEND\nk:a\\nb\\cc\\\\\n\n\0', { version: '1.1' }).headers, [['k', 'a\nb:c\\']]);
    expectError('SEND\nk:a\\rb\n\n\0', 'BAD_ESCAPE', /"\\r".*STOMP 1\.1/, { version: '1.1' });
  });

  it('1.0 takes backslashes literally', () => {
    assert.deepStrictEqual(parseOne('SEND\nk:a\\tb\\n\n\n\0', { version: '1.0' }).headers, [['k', 'a\\tb\\n']]);
  });

  it('CONNECT, STOMP and CONNECTED headers are never unescaped', () => {
    assert.deepStrictEqual(parseOne('CONNECT\nlogin:a\\tb\n\n\0').headers, [['login', 'a\\tb']]);
    assert.deepStrictEqual(parseOne('STOMP\npasscode:x\\cy\n\n\0').headers, [['passcode', 'x\\cy']]);
    assert.deepStrictEqual(parseOne('CONNECTED\nserver:q\\n\n\n\0', { side: 'client' }).headers, [['server', 'q\\n']]);
  });

  it('an undefined escape is BAD_ESCAPE naming the sequence and the header', () => {
    const e = expectError('SEND\ndestination:/queue/a\\tb\n\n\0', 'BAD_ESCAPE', /undefined escape sequence "\\t"/);
    assert.match(e.message, /destination/);
    assert.match(e.message, /SEND frame/);
    const atLimit = parseOne(`SEND\ncontent-length:1000\n\n${'b'.repeat(1000)}\0`, { limits: { maxBodyBytes: 1000 } });
    assert.equal(atLimit.body.length, 1000);
  });

  it('a lone trailing backslash is BAD_ESCAPE', () => {
    expectError('SEND\nk:abc\\\n\n\0', 'BAD_ESCAPE', /lone backslash/);
  });

  it('a bad escape in a header name is BAD_ESCAPE', () => {
    expectError('SEND\nk\\x:v\n\n\0', 'BAD_ESCAPE', /name of header line.*"\\x"/);
  });
});

describe('errors', () => {
  it('a header line without a colon is HEADER_INVALID naming the line', () => {
    expectError('SEND\ndestination:/queue/a\nthis line has no colon\n\n\0', 'HEADER_INVALID', /"this line has no colon" has no ':'/);
  });

  it('an empty header name is HEADER_INVALID', () => {
    expectError('SEND\n:value\n\n\0', 'HEADER_INVALID', /":value" has an empty header name/);
  });

  for (const bad of ['abc', '-1', '1.5', '1e3', '', '12345678901234567']) {
    it(`content-length ${JSON.stringify(bad)} is HEADER_INVALID`, () => {
      expectError(`SEND\ncontent-length:${bad}\n\nx\0`, 'HEADER_INVALID', new RegExp(`content-length ${JSON.stringify(bad).replace(/[.\\-]/g, '\\$&')} is not a whole number`));
    });
  }

  it('tolerates blanks around the content-length number, as ActiveMQ does', () => {
    assert.equal(parseOne('SEND\ncontent-length: 2 \n\nab\0').body.toString(), 'ab');
  });

  it('a counted body not followed by NUL is FRAME_MALFORMED', () => {
    expectError('SEND\ncontent-length:3\n\nabcd\0', 'FRAME_MALFORMED', /expected a NUL byte after the 3-byte body.*0x64/);
  });

  it('the same, when the wrong byte arrives in a later chunk', () => {
    const h = harness();
    h.parser.push(Buffer.from('SEND\ncontent-length:3\n\nabc'));
    assert.throws(() => h.parser.push(Buffer.from('X')), (e: unknown) => e instanceof QmqError && e.codeName === 'FRAME_MALFORMED');
  });

  it('content-length over maxBodyBytes fails before any body byte arrives', () => {
    const e = expectError('SEND\ncontent-length:1001\n\n', 'FRAME_TOO_LARGE', /1001 bytes; the body limit is 1000 bytes/, {
      limits: { maxBodyBytes: 1000 },
    });
    assert.match(e.message, /SEND frame/);
  });

  it('a body without content-length fails once it passes maxBodyBytes, before its NUL', () => {
    const h = harness({ limits: { maxBodyBytes: 1000 } });
    h.parser.push(Buffer.from('SEND\n\n'));
    h.parser.push(Buffer.alloc(600, 0x61));
    assert.throws(
      () => h.parser.push(Buffer.alloc(600, 0x61)),
      (e: unknown) => e instanceof QmqError && e.codeName === 'FRAME_TOO_LARGE' && /at least 1200 bytes.*limit is 1000 bytes/.test(e.message),
    );
  });

  it('a body without content-length one byte over the limit fails even when its NUL is in the chunk', () => {
    expectError(`SEND\n\n${'a'.repeat(1001)}\0`, 'FRAME_TOO_LARGE', /limit is 1000 bytes/, { limits: { maxBodyBytes: 1000 } });
    assert.equal(parseOne(`SEND\n\n${'a'.repeat(1000)}\0`, { limits: { maxBodyBytes: 1000 } }).body.length, 1000);
  });

  it('command and headers over maxHeaderBytes are FRAME_TOO_LARGE', () => {
    const big = `SEND\nk:${'v'.repeat(300)}\n\n\0`;
    expectError(big, 'FRAME_TOO_LARGE', /command and headers are at least \d+ bytes; the limit is 256 bytes/, { limits: { maxHeaderBytes: 256 } });
  });

  it('an endless header line is refused before it is buffered past the limit', () => {
    const h = harness({ limits: { maxHeaderBytes: 256 } });
    h.parser.push(Buffer.from('SEND\nk:'));
    assert.throws(
      () => {
        for (let i = 0; i < 100; i++) h.parser.push(Buffer.alloc(10, 0x61));
      },
      (e: unknown) => e instanceof QmqError && e.codeName === 'FRAME_TOO_LARGE' && /limit is 256 bytes/.test(e.message),
    );
  });

  it('a head exactly at maxHeaderBytes is accepted', () => {
    const head = 'SEND\nk:vvvv\n\n';
    const f = parseOne(`${head}\0`, { limits: { maxHeaderBytes: Buffer.byteLength(head) } });
    assert.equal(getHeader(f, 'k'), 'vvvv');
    expectError(`${head}\0`, 'FRAME_TOO_LARGE', /limit is 12 bytes/, { limits: { maxHeaderBytes: Buffer.byteLength(head) - 1 } });
  });

  it('more header lines than maxHeaders is TOO_MANY_HEADERS', () => {
    const lines = Array.from({ length: 11 }, (_, i) => `h${i}:v`).join('\n');
    expectError(`SEND\n${lines}\n\n\0`, 'TOO_MANY_HEADERS', /SEND frame has more than 10 headers; the limit is 10/, { limits: { maxHeaders: 10 } });
    const ok = Array.from({ length: 10 }, (_, i) => `h${i}:v`).join('\n');
    assert.equal(parseOne(`SEND\n${ok}\n\n\0`, { limits: { maxHeaders: 10 } }).headers.length, 10);
  });

  it('an unknown command is UNKNOWN_COMMAND naming it', () => {
    expectError('PUBLISH\n\n\0', 'UNKNOWN_COMMAND', /unknown STOMP command "PUBLISH"/);
  });

  it('commands are case-sensitive, and the message says so', () => {
    expectError('send\n\n\0', 'UNKNOWN_COMMAND', /"send".*case-sensitive; did you mean SEND/);
  });

  it('a server frame sent by a client is UNKNOWN_COMMAND, and the other way round', () => {
    expectError('MESSAGE\n\n\0', 'UNKNOWN_COMMAND', /MESSAGE is not a command a client may send/);
    expectError('SEND\n\n\0', 'UNKNOWN_COMMAND', /SEND is not a command a server may send/, { side: 'client' });
  });

  it('a stream that is not STOMP at all fails quickly, without waiting for a line end', () => {
    const tlsHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Buffer.alloc(40, 0x42)]);
    expectError(tlsHello, 'UNKNOWN_COMMAND', /where a frame should start are not STOMP/);
    expectError(`GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n`, 'UNKNOWN_COMMAND', /"GET \/index.html HTTP\/1.1"/);
  });

  it('a stray CR between frames is FRAME_MALFORMED', () => {
    expectError('\rSEND\n\n\0', 'FRAME_MALFORMED', /carriage return between frames/);
  });

  it('after an error the parser refuses further input with the same error', () => {
    const h = harness();
    assert.throws(() => h.parser.push(Buffer.from('NOPE\n\n\0')));
    assert.throws(
      () => h.parser.push(Buffer.from('SEND\n\n\0')),
      (e: unknown) => e instanceof QmqError && e.codeName === 'UNKNOWN_COMMAND',
    );
    assert.equal(h.frames.length, 0);
  });

  it('an exception from onFrame also leaves the parser unusable', () => {
    let calls = 0;
    const parser = new StompParser({
      limits: LIMITS,
      side: 'server',
      onFrame: () => {
        calls++;
        throw new Error('handler failed');
      },
    });
    assert.throws(() => parser.push(Buffer.from('SEND\n\n\0SEND\n\n\0')), /handler failed/);
    assert.throws(() => parser.push(Buffer.from('SEND\n\n\0')), /handler failed/);
    assert.equal(calls, 1);
  });
});
