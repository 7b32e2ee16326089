import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder, type AnyFrame } from '../../src/ha/replication/frames.js';

const headers: fc.Arbitrary<AnyFrame> = fc.oneof(
  fc.record({ t: fc.constant('records' as const), epoch: fc.nat(), start: fc.nat() }),
  fc.record({ t: fc.constant('ack' as const), received: fc.nat(), synced: fc.nat() }),
  fc.record({ t: fc.constant('refused' as const), epoch: fc.nat(), reason: fc.string() }),
  fc.record({
    t: fc.constant('login' as const),
    nodeId: fc.string(),
    securityToken: fc.string(),
    promisedEpoch: fc.nat(),
    log: fc.record({ first: fc.nat(), end: fc.nat(), epochs: fc.array(fc.record({ epoch: fc.nat(), start: fc.nat() })) }),
  }),
);

test('frames survive any split of the byte stream', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(headers, fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
      const bytes = Buffer.concat(frames.map(([h, b]) => encodeFrame(h, Buffer.from(b))));
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const dec = new FrameDecoder();
      const got = [];
      let prev = 0;
      for (const p of [...points, bytes.length]) {
        got.push(...dec.push(bytes.subarray(prev, p)));
        prev = p;
      }
      assert.equal(got.length, frames.length);
      assert.equal(dec.bufferedBytes, 0);
      got.forEach((f, i) => {
        assert.deepEqual(f.header, JSON.parse(JSON.stringify(frames[i][0])));
        assert.deepEqual([...f.body], [...frames[i][1]]);
      });
    }),
  );
});

test('a frame longer than the limit is refused before it is buffered', () => {
  const dec = new FrameDecoder(1024);
  const big = encodeFrame({ t: 'ack', received: 1, synced: 1 }, Buffer.alloc(2000));
  assert.throws(() => dec.push(big.subarray(0, 8)), /outside 4\.\.1024/);
});

test('a header that is not JSON is a malformed frame', () => {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(8, 0);
  b.writeUInt32LE(4, 4);
  b.write('nope', 8);
  assert.throws(() => new FrameDecoder().push(b), /not JSON/);
});
