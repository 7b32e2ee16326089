import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Message } from '../../src/broker/message.js';
import type { StoreOp } from '../../src/store/message-store.js';
import { decodeOp, encodeOp } from '../../src/store/journal/op-codec.js';
import { decodeRecordAt, HEADER_BYTES, sealRecord, typeByte } from '../../src/store/journal/record-codec.js';

const destination = fc.record({ kind: fc.constantFrom('queue' as const, 'topic' as const, 'temp-queue' as const, 'temp-topic' as const), name: fc.string({ unit: 'binary' }) }, { noNullPrototype: true });

const message: fc.Arbitrary<Message> = fc
  .record(
    {
      id: fc.string({ unit: 'binary' }),
      destination,
      headers: fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), { noNullPrototype: true }),
      body: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
      bodyIsBytes: fc.boolean(),
      persistent: fc.boolean(),
      priority: fc.integer({ min: 0, max: 9 }),
      expires: fc.nat(),
      timestamp: fc.nat(),
      redeliveryCount: fc.nat({ max: 1_000_000 }),
      originalDestination: destination,
      producerId: fc.string(),
      producerSeq: fc.nat(),
    },
    { requiredKeys: ['id', 'destination', 'headers', 'body', 'bodyIsBytes', 'persistent', 'priority', 'expires', 'timestamp', 'redeliveryCount'], noNullPrototype: true },
  );

const seq = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const op: fc.Arbitrary<StoreOp> = fc.oneof(
  fc.record({ type: fc.constant('add' as const), queue: fc.string({ unit: 'binary' }), seq, message }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('remove' as const), queue: fc.string(), seq }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('destination-add' as const), destination }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('destination-remove' as const), destination }, { noNullPrototype: true }),
  fc.record({
    type: fc.constant('subscription-add' as const),
    subscription: fc.record({ clientId: fc.string(), name: fc.string(), destination, selector: fc.string(), noLocal: fc.boolean() }, { requiredKeys: ['clientId', 'name', 'destination'], noNullPrototype: true }),
  }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('subscription-remove' as const), clientId: fc.string(), name: fc.string() }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('producer-seq' as const), producerId: fc.string(), seq }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('tx-commit' as const), txId: fc.string({ unit: 'binary' }) }, { noNullPrototype: true }),
);

function frame(o: StoreOp, epoch: number, position: number, more: boolean): Buffer {
  const e = encodeOp(o);
  sealRecord(e.buf, 0, e.buf.length, epoch, position, typeByte(e.type, more, false));
  return e.buf;
}

describe('journal record codec', () => {
  it('round-trips every op with its header fields', () => {
    fc.assert(
      fc.property(op, fc.nat(), fc.integer({ min: 0, max: 2 ** 52 }), fc.boolean(), (o, epoch, position, more) => {
        const buf = frame(o, epoch, position, more);
        const r = decodeRecordAt(buf, 0, position);
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.record.length, buf.length);
        assert.equal(r.record.epoch, epoch);
        assert.equal(r.record.position, position);
        assert.equal(r.record.more, more);
        assert.deepEqual(decodeOp(r.record.type, r.record.payload), o);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a message header named __proto__ as data (found by the property above, seed -254124541)', () => {
    const headers: Record<string, string> = {};
    Object.defineProperty(headers, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    const o: StoreOp = {
      type: 'add', queue: 'q', seq: 1,
      message: { id: 'ID:1', destination: { kind: 'queue', name: 'q' }, headers, body: Buffer.from('b'), bodyIsBytes: false, persistent: true, priority: 4, expires: 0, timestamp: 1, redeliveryCount: 0 },
    };
    const r = decodeRecordAt(frame(o, 1, 0, false), 0, 0);
    assert.ok(r.ok);
    const back = decodeOp(r.record.type, r.record.payload) as Extract<StoreOp, { type: 'add' }>;
    assert.equal(Object.getOwnPropertyDescriptor(back.message.headers, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(back.message.headers), Object.prototype);
  });

  it('detects a flipped bit anywhere in a record', () => {
    fc.assert(
      fc.property(op, fc.nat({ max: 1_000_000 }), fc.nat(), fc.nat({ max: 7 }), (o, position, at, bit) => {
        const buf = frame(o, 1, position, false);
        const i = at % buf.length;
        buf[i] ^= 1 << bit;
        assert.equal(decodeRecordAt(buf, 0, position).ok, false, `flip of bit ${bit} at byte ${i} of ${buf.length} went unnoticed`);
      }),
      { numRuns: 500 },
    );
  });

  it('is invalid at any other position, and reports zero-filled space as empty', () => {
    const buf = frame({ type: 'tx-commit', txId: 't' }, 1, 100, false);
    assert.equal(decodeRecordAt(buf, 0, 101).ok, false);
    const r = decodeRecordAt(Buffer.alloc(64), 0, 0);
    assert.deepEqual(r, { ok: false, reason: 'empty' });
    const cut = decodeRecordAt(buf.subarray(0, buf.length - 1), 0, 100);
    assert.equal(cut.ok, false);
    assert.equal(HEADER_BYTES, 25);
  });
});
