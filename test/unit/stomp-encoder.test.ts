import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Parser as StompJsParser, type IRawFrameType } from '@stomp/stompjs';
import { encodeFrame, encodeHeartbeat } from '../../src/protocol/stomp/encoder.js';
import { StompParser } from '../../src/protocol/stomp/parser.js';
import { headersToRecord, type StompFrame } from '../../src/protocol/stomp/frame.js';
import { QmqError } from '../../src/util/errors.js';

const text = (b: Buffer) => b.toString('latin1');

function isCode(code: string, re: RegExp) {
  return (e: unknown) => e instanceof QmqError && e.codeName === code && re.test(e.message);
}

describe('encodeFrame', () => {
  it('writes command, headers in order, a blank line, the body and a NUL', () => {
    const out = encodeFrame({ command: 'SEND', headers: [['destination', '/queue/a'], ['receipt', '1']], body: 'hi' }, '1.2');
    assert.equal(text(out), 'SEND\ndestination:/queue/a\nreceipt:1\n\nhi\0');
  });

  it('accepts headers as a record and no body', () => {
    assert.equal(text(encodeFrame({ command: 'DISCONNECT', headers: { receipt: 'r' } }, '1.1')), 'DISCONNECT\nreceipt:r\n\n\0');
    assert.equal(text(encodeFrame({ command: 'ACK', headers: {} }, '1.2')), 'ACK\n\n\0');
  });

  it('escapes names and values per version', () => {
    const headers: Array<[string, string]> = [['a:b', 'x\ny\\z\r:']];
    assert.equal(text(encodeFrame({ command: 'SEND', headers }, '1.2')), 'SEND\na\\cb:x\\ny\\\\z\\r\\c\n\n\0');
    assert.throws(() => encodeFrame({ command: 'SEND', headers: { k: 'v\r' } }, '1.1'), isCode('HEADER_INVALID', /ends with a carriage return.*STOMP 1\.1/));
    // 1.1 has no \r escape; a CR inside a value travels literally.
    assert.equal(text(encodeFrame({ command: 'SEND', headers }, '1.1')), 'SEND\na\\cb:x\\ny\\\\z\r\\c\n\n\0');
    assert.equal(text(encodeFrame({ command: 'SEND', headers: [['k', 'a\\b:c']] }, '1.0')), 'SEND\nk:a\\b:c\n\n\0');
  });

  it('never escapes CONNECT, STOMP or CONNECTED', () => {
    for (const command of ['CONNECT', 'STOMP', 'CONNECTED']) {
      assert.equal(text(encodeFrame({ command, headers: { passcode: 'a\\b:c' } }, '1.2')), `${command}\npasscode:a\\b:c\n\n\0`);
    }
  });

  it('refuses a header this version cannot carry, naming it, unless told to skip it', () => {
    const frame = { command: 'MESSAGE', headers: [['note', 'line1\nline2'], ['keep', 'yes']] as Array<[string, string]> };
    assert.throws(() => encodeFrame(frame, '1.0'), isCode('HEADER_INVALID', /"note".*STOMP 1\.0.*line feed/));
    assert.equal(text(encodeFrame(frame, '1.0', { unrepresentable: 'skip' })), 'MESSAGE\nkeep:yes\n\n\0');
    assert.throws(() => encodeFrame({ command: 'CONNECT', headers: { 'a:b': 'x' } }, '1.2'), isCode('HEADER_INVALID', /"a:b".*':'/));
    assert.throws(() => encodeFrame({ command: 'SEND', headers: { '': 'x' } }, '1.2'), isCode('HEADER_INVALID', /name is empty/));
  });

  it('refuses a command that would break the framing', () => {
    assert.throws(() => encodeFrame({ command: 'SEND\nX', headers: {} }, '1.2'), isCode('FRAME_MALFORMED', /"SEND\\nX"/));
    assert.throws(() => encodeFrame({ command: '', headers: {} }, '1.2'), isCode('FRAME_MALFORMED', /""/));
  });

  describe('content-length', () => {
    it('is left out for a text body without NUL', () => {
      assert.equal(text(encodeFrame({ command: 'SEND', headers: {}, body: 'abc' }, '1.2')), 'SEND\n\nabc\0');
    });

    it('is added when the body contains a NUL', () => {
      const out = encodeFrame({ command: 'MESSAGE', headers: {}, body: Buffer.from([1, 0, 2]) }, '1.2');
      assert.deepStrictEqual(out, Buffer.concat([Buffer.from('MESSAGE\ncontent-length:3\n\n'), Buffer.from([1, 0, 2, 0])]));
      assert.equal(text(encodeFrame({ command: 'SEND', headers: {}, body: 'a\0b' }, '1.2')), 'SEND\ncontent-length:3\n\na\0b\0');
    });

    it('is added when asked, counting UTF-8 bytes of a text body', () => {
      const out = encodeFrame({ command: 'MESSAGE', headers: { a: '1' }, body: 'é€' }, '1.2', { contentLength: true });
      assert.deepStrictEqual(out, Buffer.concat([Buffer.from('MESSAGE\na:1\ncontent-length:5\n\n'), Buffer.from('é€'), Buffer.from([0])]));
      assert.equal(text(encodeFrame({ command: 'SEND', headers: {} }, '1.2', { contentLength: true })), 'SEND\ncontent-length:0\n\n\0');
    });

    it('a content-length in the headers is kept in place, recomputed, and not repeated', () => {
      const out = encodeFrame(
        { command: 'SEND', headers: [['content-length', '999'], ['x', '1'], ['content-length', '7']], body: 'ab' },
        '1.2',
      );
      assert.equal(text(out), 'SEND\ncontent-length:2\nx:1\n\nab\0');
    });
  });

  it('encodeHeartbeat is a single line feed', () => {
    assert.deepStrictEqual(encodeHeartbeat(), Buffer.from('\n'));
  });

  it('output parses back with our parser, bodies of any bytes and any size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.boolean(), (u8, forceLength) => {
        const body = Buffer.from(u8);
        const frames: StompFrame[] = [];
        const parser = new StompParser({
          limits: { maxBodyBytes: 1 << 20, maxHeaderBytes: 1024, maxHeaders: 10 },
          side: 'client',
          onFrame: (f) => frames.push(f),
        });
        parser.version = '1.2';
        parser.push(encodeFrame({ command: 'MESSAGE', headers: { a: 'b' }, body }, '1.2', { contentLength: forceLength }));
        assert.equal(frames.length, 1);
        assert.deepStrictEqual(frames[0].body, body);
      }),
      { numRuns: 30 },
    );
  });

  it('output is read by @stomp/stompjs the same way', () => {
    const raw: IRawFrameType[] = [];
    const parser = new StompJsParser(
      (f) => raw.push(f),
      () => {},
    );
    const wire = encodeFrame({ command: 'MESSAGE', headers: { destination: '/queue/a', note: 'x:y\nz' }, body: Buffer.from([0, 1, 2]) }, '1.2');
    parser.parseChunk(wire.buffer.slice(wire.byteOffset, wire.byteOffset + wire.length) as ArrayBuffer);
    assert.equal(raw.length, 1);
    assert.equal(raw[0].command, 'MESSAGE');
    const headers = Object.fromEntries(raw[0].headers);
    assert.equal(headers['note'], 'x\\cy\\nz', 'stompjs hands over raw values; unescaping is its FrameImpl job');
    assert.equal(headers['content-length'], '3');
    assert.deepStrictEqual([...(raw[0].binaryBody ?? [])], [0, 1, 2]);
  });

  it('headersToRecord keeps a header named __proto__ as data', () => {
    const rec = headersToRecord({ headers: [['__proto__', 'x'], ['a', '1'], ['a', '2']] });
    assert.equal(Object.getPrototypeOf(rec), Object.prototype);
    assert.deepStrictEqual(Object.keys(rec), ['__proto__', 'a']);
    assert.equal(rec['a'], '1');
    assert.equal(Object.getOwnPropertyDescriptor(rec, '__proto__')?.value, 'x');
  });
});
