import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, normalizeFrame, normalizeTranscript, splitFrames, type RawFrame } from '../../bench/compat-frames.js';

const frame = (command: string, headers: [string, string][], body = ''): RawFrame => ({ command, headers, body: Buffer.from(body) });

test('splitFrames: heart-beat EOLs, NUL-terminated and content-length bodies, a partial frame kept for later', () => {
  const bytes = Buffer.concat([
    Buffer.from('\n\nRECEIPT\nreceipt-id:1\n\n\0'),
    Buffer.from('MESSAGE\ncontent-length:3\n\na\0b\0\r\n'),
    Buffer.from('MESSAGE\ndestination:/queue/x\n\nhal'),
  ]);
  const { frames, rest } = splitFrames(bytes);
  assert.deepEqual(frames.map((f) => f.command), ['RECEIPT', 'MESSAGE']);
  assert.deepEqual(frames[0].headers, [['receipt-id', '1']]);
  assert.deepEqual([...frames[1].body], [0x61, 0, 0x62]);
  assert.equal(rest.toString(), 'MESSAGE\ndestination:/queue/x\n\nhal');
  const more = splitFrames(Buffer.concat([rest, Buffer.from('f\0')]));
  assert.equal(more.frames[0].body.toString(), 'half');
});

test('normalizeFrame: ids and times masked, the run tag replaced, extension headers left out, ERROR reduced to its receipt', () => {
  const m = frame('MESSAGE', [['message-id', 'ID:x-1'], ['destination', '/queue/q-T1'], ['timestamp', '123'], ['expires', '0'], ['redelivery-count', '1'], ['qmq-x', 'y'], ['ack', '7'], ['n', '1']], 'body T1');
  assert.equal(normalizeFrame(m, 'T1'), 'MESSAGE {ack=*, destination=/queue/q-<tag>, expires=0, message-id=*, n=1, timestamp=*} "body <tag>"');
  assert.equal(normalizeFrame(frame('MESSAGE', [['expires', '99']]), 'T'), 'MESSAGE {expires=*} ""');
  assert.equal(normalizeFrame(frame('ERROR', [['message', 'anything'], ['receipt-id', 'r1']], 'stack trace'), 'T'), 'ERROR receipt-id=r1');
  assert.equal(normalizeFrame(frame('ERROR', [['message', 'x']]), 'T'), 'ERROR');
});

test('normalizeTranscript: per step, each connection in order, connections by name, then RECEIPTs sorted', () => {
  const lines = [
    { step: 'one' },
    { conn: 'b', frame: frame('MESSAGE', [], 'b1') },
    { conn: 'a', frame: frame('RECEIPT', [['receipt-id', '2']]) },
    { conn: 'a', frame: frame('MESSAGE', [], 'a1') },
    { conn: 'a', frame: frame('RECEIPT', [['receipt-id', '1']]) },
    { conn: 'a', frame: frame('MESSAGE', [], 'a0') },
    { note: 'closed=false' },
  ];
  assert.deepEqual(normalizeTranscript(lines, 'T'), [
    '-- one',
    'a: MESSAGE {} "a1"',
    'a: MESSAGE {} "a0"',
    'b: MESSAGE {} "b1"',
    'a: RECEIPT {receipt-id=1} ""',
    'a: RECEIPT {receipt-id=2} ""',
    'closed=false',
  ]);
  assert.deepEqual(normalizeTranscript(lines, 'T', true).slice(1, 4), ['a: MESSAGE {} "a0"', 'a: MESSAGE {} "a1"', 'b: MESSAGE {} "b1"']);
});

test('compare: the same lines are the same; a difference carries its expected reason only when there is one', () => {
  assert.deepEqual(compare('s', ['x'], ['x'], 'why'), { scenario: 's', same: true, ours: ['x'], theirs: ['x'] });
  assert.equal(compare('s', ['x'], ['y']).expected, undefined);
  assert.equal(compare('s', ['x'], ['y'], 'on purpose').expected, 'on purpose');
  assert.equal(compare('s', ['x'], ['x', 'y']).same, false);
});
