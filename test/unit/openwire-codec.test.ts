import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCommand, encodeCommand, FrameSplitter, type OwObject } from '../../src/protocol/openwire/codec.js';
import { SCHEMAS, T } from '../../src/protocol/openwire/schema.js';
import { decodeModifiedUtf8, encodeModifiedUtf8, WireWriter } from '../../src/protocol/openwire/wire-data.js';
import { deflateSync } from 'node:zlib';
import { decodePrimitiveMap, decodeTextContent, encodeProperties, encodeStringMap, encodeTextContent, encodeTypedMap, inflateBytesContent } from '../../src/protocol/openwire/primitive-map.js';
import { messageForDispatch, owMessageId, sendRequestFromMessage } from '../../src/protocol/openwire/message-translation.js';
import { throwableFor } from '../../src/protocol/openwire/session.js';
import { QmqError } from '../../src/util/errors.js';

test('modified UTF-8: NUL takes two bytes, astral characters two 3-byte halves, and it round-trips', () => {
  assert.deepEqual([...encodeModifiedUtf8('\0')], [0xc0, 0x80]);
  assert.equal(encodeModifiedUtf8('😀').length, 6);
  assert.deepEqual([...encodeModifiedUtf8('é')], [0xc3, 0xa9]);
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => decodeModifiedUtf8(encodeModifiedUtf8(s), 's') === s));
  assert.throws(() => decodeModifiedUtf8(Buffer.from([0xc3]), 'a name'), /a name is not valid modified UTF-8/);
});

/** A value of each field kind, so every table entry is encoded and decoded once. */
function sample(type: number): OwObject {
  const o: OwObject = { type };
  for (const [name, kind] of SCHEMAS.get(type)!.fields) {
    if (kind === 'bool') o[name] = true;
    else if (kind === 'byte') o[name] = -3;
    else if (kind === 'short') o[name] = 300;
    else if (kind === 'int') o[name] = 70_000;
    else if (kind === 'long') o[name] = 2 ** 40 + 5;
    else if (kind === 'string') o[name] = `${name}-é`;
    else if (kind === 'object') o[name] = { type: T.QUEUE, physicalName: name };
    else if (kind === 'objects') o[name] = [{ type: T.BROKER_ID, value: 'b1' }, null];
    else if (kind === 'bytes') o[name] = Buffer.from([1, 2, 3]);
    else if (kind === 'throwable') o[name] = { className: 'javax.jms.JMSException', message: 'boom' };
    else o[name] = 'ActiveMQ';
  }
  return o;
}

test('every data structure in the table round-trips through the loose encoding', () => {
  for (const type of SCHEMAS.keys()) {
    const o = sample(type);
    const frame = encodeCommand(o);
    assert.equal(frame.readInt32BE(0), frame.length - 4, SCHEMAS.get(type)!.name);
    assert.deepEqual(decodeCommand(frame.subarray(4)), o, SCHEMAS.get(type)!.name);
  }
});

test('absent strings, objects and byte arrays are one false byte each', () => {
  const frame = encodeCommand({ type: T.SESSION_INFO, commandId: 7, responseRequired: false, sessionId: null });
  assert.deepEqual([...frame], [0, 0, 0, 7, T.SESSION_INFO, 0, 0, 0, 7, 0, 0]);
});

test('truncated, oversized, unknown and trailing input are refused with the reason', () => {
  const frame = encodeCommand(sample(T.CONSUMER_INFO)).subarray(4);
  assert.throws(() => decodeCommand(frame.subarray(0, frame.length - 3)), /the frame ends inside BrokerId\.value \(needs 2 bytes/);
  assert.throws(() => decodeCommand(Buffer.concat([frame, Buffer.from([0])])), /1 bytes left over after a ConsumerInfo/);
  assert.throws(() => decodeCommand(Buffer.from([200])), /unknown data structure type 200/);
  const splitter = new FrameSplitter(100);
  assert.throws(() => splitter.push(Buffer.from([0, 0, 1, 0])), (e: unknown) => e instanceof QmqError && e.codeName === 'FRAME_TOO_LARGE');
  assert.throws(() => new FrameSplitter(100).push(Buffer.from([0xff, 0xff, 0xff, 0xff])), /declares size -1/);
  // Nesting bombs end at a fixed depth.
  let nested: OwObject = { type: T.QUEUE, physicalName: 'q' };
  for (let i = 0; i < 40; i++) nested = { type: T.DATA_RESPONSE, commandId: 0, responseRequired: false, correlationId: 0, data: nested };
  assert.throws(() => decodeCommand(encodeCommand(nested).subarray(4)), /nested deeper than 16/);
});

test('the splitter finds frames across any chunking', () => {
  const frames = [sample(T.MESSAGE_ACK), sample(T.KEEP_ALIVE_INFO), sample(T.TEXT_MESSAGE)].map(encodeCommand);
  const all = Buffer.concat(frames);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 40 }), (cuts) => {
      const s = new FrameSplitter(1 << 20);
      const out: Buffer[] = [];
      let off = 0;
      for (const c of cuts) {
        if (off >= all.length) break;
        out.push(...s.push(all.subarray(off, off + c)));
        off += c;
      }
      if (off < all.length) out.push(...s.push(all.subarray(off)));
      assert.deepEqual(out.map((b) => decodeCommand(b).type), [T.MESSAGE_ACK, T.KEEP_ALIVE_INFO, T.TEXT_MESSAGE]);
    }),
  );
});

test('typed maps: every Java primitive type decodes; a lying entry count is refused', () => {
  const w = new WireWriter().int(9);
  w.utf('b', 'k').byte(1).bool(true);
  w.utf('y', 'k').byte(2).byte(-1);
  w.utf('c', 'k').byte(3).short(65);
  w.utf('s', 'k').byte(4).short(-2);
  w.utf('i', 'k').byte(5).int(123456);
  w.utf('l', 'k').byte(6).long(2 ** 50);
  w.utf('d', 'k').byte(7).double(1.5);
  w.utf('f', 'k').byte(8).float(0.25);
  w.utf('n', 'k').byte(0);
  assert.deepEqual(decodePrimitiveMap(w.toBuffer(), 'm'), { b: true, y: -1, c: 'A', s: -2, i: 123456, l: 2 ** 50, d: 1.5, f: 0.25, n: null });
  assert.deepEqual(decodePrimitiveMap(encodeStringMap({ a: 'x', big: 'z'.repeat(10_000) }), 'm'), { a: 'x', big: 'z'.repeat(10_000) });
  assert.deepEqual(decodePrimitiveMap(encodeTypedMap({ on: { t: 'bool', v: false }, n: { t: 'int', v: 5 }, t: { t: 'long', v: 30_000 } }), 'm'), { on: false, n: 5, t: 30_000 });
  assert.throws(() => decodePrimitiveMap(new WireWriter().int(1_000_000).toBuffer(), 'the properties'), /the properties declares 1000000 entries/);
  assert.throws(() => decodePrimitiveMap(new WireWriter().int(1).utf('k', 'k').byte(42).toBuffer(), 'p'), /p\.k has unknown value type 42/);
});

test('a compressed bytes body is its length, then zlib; a wrong length is refused', () => {
  const raw = Buffer.from('hello hello hello hello');
  const deflated = deflateSync(raw);
  const withLength = Buffer.concat([Buffer.alloc(4), deflated]);
  withLength.writeInt32BE(raw.length, 0);
  assert.deepEqual(inflateBytesContent(withLength, 1000), raw);
  withLength.writeInt32BE(raw.length - 6, 0);
  assert.deepEqual(inflateBytesContent(withLength, 1000), raw.subarray(0, raw.length - 6), 'bytes past the length are the sender\'s spare buffer');
  withLength.writeInt32BE(raw.length + 1, 0);
  assert.throws(() => inflateBytesContent(withLength, 1000), /inflates to 23 bytes, fewer than the 24 it claims/);
  withLength.writeInt32BE(5000, 0);
  assert.throws(() => inflateBytesContent(withLength, 1000), /claims 5000 bytes; the limit is 1000/);
});

test('a text body is a 32-bit length and modified UTF-8; -1 is null', () => {
  assert.equal(decodeTextContent(encodeTextContent('héllo\0😀'), false, 1 << 20), 'héllo\0😀');
  assert.equal(decodeTextContent(new WireWriter().int(-1).toBuffer(), false, 1 << 20), null);
  assert.throws(() => decodeTextContent(Buffer.from([1, 2, 3]), true, 1000), /does not inflate/);
});

test('message ids: split into producer and sequence as ActiveMQ builds them', () => {
  assert.deepEqual(owMessageId('ID:host-1-2-1:3:4:5:6', 0), {
    type: T.MESSAGE_ID, textView: 'ID:host-1-2-1:3:4:5:6', brokerSequenceId: 0, producerSequenceId: 6,
    producerId: { type: T.PRODUCER_ID, connectionId: 'ID:host-1-2-1:3', sessionId: 4, value: 5 },
  });
  const odd = owMessageId('not-an-amq-id', 42);
  assert.equal(odd.producerSequenceId, 42);
  assert.equal((odd.producerId as OwObject).connectionId, 'not-an-amq-id');
});

test('an OpenWire text message → a send request, and a stored message → what a Java consumer gets', () => {
  const producerId = { type: T.PRODUCER_ID, connectionId: 'ID:c-1', sessionId: 1, value: 2 };
  const { req, replyTo } = sendRequestFromMessage(
    {
      type: T.TEXT_MESSAGE, destination: { type: T.QUEUE, physicalName: 'orders' }, producerId, persistent: true, priority: 7, expiration: 0,
      messageId: { type: T.MESSAGE_ID, textView: null, producerId, producerSequenceId: 9, brokerSequenceId: 0 },
      content: encodeTextContent('hi'), marshalledProperties: encodeStringMap({ region: 'eu' }), correlationId: 'c', jmsType: 't',
      replyTo: { type: T.TEMP_QUEUE, physicalName: 'ID:c-1:1:1' }, groupID: 'g', groupSequence: 3,
    },
    { maxBodyBytes: 1 << 20 },
  );
  assert.deepEqual(req, {
    destination: { kind: 'queue', name: 'orders' },
    headers: { region: 'eu', 'correlation-id': 'c', type: 't', JMSXGroupID: 'g', JMSXGroupSeq: '3' },
    body: Buffer.from('hi'), bodyIsBytes: false, persistent: true, priority: 7, expires: 0,
    producerId: 'ID:c-1:1:2', producerSeq: 9, messageId: 'ID:c-1:1:2:9',
  });
  assert.deepEqual(replyTo, { kind: 'temp-queue', name: 'ID:c-1:1:1' });

  const out = messageForDispatch(
    {
      id: 'ID:c-1:1:2:9', destination: { kind: 'queue', name: 'orders' }, body: Buffer.from('hi'), bodyIsBytes: false, persistent: true,
      priority: 7, expires: 0, timestamp: 1000, redeliveryCount: 2,
      headers: { region: 'eu', 'correlation-id': 'c', type: 't', 'reply-to': 'temp-queue://ID:c-1:1:1' },
    },
    1,
    2000,
  );
  assert.equal(out.type, T.TEXT_MESSAGE);
  assert.equal(decodeTextContent(out.content as Buffer, false, 100), 'hi');
  assert.deepEqual(decodePrimitiveMap(out.marshalledProperties as Buffer, 'p'), { region: 'eu' });
  assert.equal(out.correlationId, 'c');
  assert.equal(out.jmsType, 't');
  assert.deepEqual(out.replyTo, { type: T.TEMP_QUEUE, physicalName: 'ID:c-1:1:1' });
  assert.equal(out.redeliveryCounter, 2);
  assert.deepEqual(decodeCommand(encodeCommand(out).subarray(4)).messageId, owMessageId('ID:c-1:1:2:9', 1));
});

test('typed properties keep their Java types between OpenWire clients; STOMP sees strings', () => {
  const w = new WireWriter().int(4);
  w.utf('n', 'k').byte(5).int(7);
  w.utf('big', 'k').byte(6).long(2 ** 40);
  w.utf('ok', 'k').byte(1).bool(true);
  w.utf('f', 'k').byte(8).float(0.1);
  const { req } = sendRequestFromMessage(
    { type: T.MESSAGE, destination: { type: T.QUEUE, physicalName: 'q' }, marshalledProperties: w.toBuffer() },
    { maxBodyBytes: 100 },
  );
  assert.deepEqual(req.headers, { n: '7', big: String(2 ** 40), ok: 'true', f: '0.1', 'qmq-openwire-body': 'message', 'qmq-property-types': '{"n":"I","big":"J","ok":"Z","f":"F"}' });
  const out = messageForDispatch({ id: 'x', destination: req.destination, body: req.body, bodyIsBytes: false, persistent: false, priority: 4, expires: 0, timestamp: 0, redeliveryCount: 0, headers: req.headers }, 1, 0);
  const back = encodeCommand(out);
  const decoded = decodeCommand(back.subarray(4));
  assert.equal(decoded.type, T.MESSAGE);
  // Same bytes as the producer's map, types included.
  assert.deepEqual(decoded.marshalledProperties, w.toBuffer());
  // A value that no longer parses as its type (a STOMP client cannot set the header) goes as a string.
  assert.deepEqual(decodePrimitiveMap(encodeProperties({ n: 'seven' }, { n: 'I' }), 'p'), { n: 'seven' });
});

test('a Map message keeps its kind through the broker; errors map to the JMS exception a client expects', () => {
  const { req } = sendRequestFromMessage(
    { type: T.MAP_MESSAGE, destination: { type: T.TOPIC, physicalName: 't' }, content: Buffer.from([0, 0, 0, 0]) },
    { maxBodyBytes: 100 },
  );
  assert.equal(req.headers['qmq-openwire-body'], 'map');
  const back = messageForDispatch({ id: 'x', destination: req.destination, body: req.body, bodyIsBytes: true, persistent: false, priority: 4, expires: 0, timestamp: 0, redeliveryCount: 0, headers: req.headers }, 1, 0);
  assert.equal(back.type, T.MAP_MESSAGE);
  assert.equal(back.marshalledProperties, null);
  assert.deepEqual(throwableFor(new QmqError('INVALID_SELECTOR', 'bad')), { className: 'javax.jms.InvalidSelectorException', message: 'bad (QMQ-2002)' });
  assert.equal(throwableFor(new QmqError('INTERNAL', 'x')).className, 'javax.jms.JMSException');
  assert.throws(() => sendRequestFromMessage({ type: T.TEXT_MESSAGE, destination: null }, { maxBodyBytes: 1 }), /the message destination is missing/);
});
