import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { groupComposite, parseDestinationHeader, renderDestination } from '../../src/protocol/stomp/destinations.js';
import { negotiateVersion, planHeartbeat } from '../../src/protocol/stomp/heartbeat.js';
import { sendFieldsFromHeaders } from '../../src/protocol/stomp/frame-translation.js';
import { headersToRecord } from '../../src/protocol/stomp/frame.js';

describe('destination names (ActiveMQ LegacyFrameTranslator)', () => {
  const cases: Array<[string, Array<{ kind: string; name: string; localTemp: boolean }>]> = [
    ['/queue/a', [{ kind: 'queue', name: 'a', localTemp: false }]],
    ['/queue/foo/bar', [{ kind: 'queue', name: 'foo/bar', localTemp: false }]],
    ['/topic/a.b.>', [{ kind: 'topic', name: 'a.b.>', localTemp: false }]],
    ['/temp-queue/reply', [{ kind: 'temp-queue', name: 'reply', localTemp: true }]],
    ['/remote-temp-queue/ID:c1:reply', [{ kind: 'temp-queue', name: 'ID:c1:reply', localTemp: false }]],
    ['/queue/a,/topic/b', [{ kind: 'queue', name: 'a', localTemp: false }, { kind: 'topic', name: 'b', localTemp: false }]],
    ['/queue/a,b', [{ kind: 'queue', name: 'a', localTemp: false }, { kind: 'queue', name: 'b', localTemp: false }]],
    // Without a known prefix, ActiveMQ 5.17 makes the whole name a queue (measured against it).
    ['orders', [{ kind: 'queue', name: 'orders', localTemp: false }]],
    ['queue/a', [{ kind: 'queue', name: 'queue/a', localTemp: false }]],
    ['/exchange/x', [{ kind: 'queue', name: '/exchange/x', localTemp: false }]],
    ['a.b,/topic/t', [{ kind: 'queue', name: 'a.b', localTemp: false }, { kind: 'topic', name: 't', localTemp: false }]],
    // Destination options (`?consumer.prefetchSize=1`) are ActiveMQ JMS-client settings; the name is what counts.
    ['/queue/a?consumer.prefetchSize=1', [{ kind: 'queue', name: 'a', localTemp: false }]],
    ['orders?consumer.exclusive=true', [{ kind: 'queue', name: 'orders', localTemp: false }]],
  ];
  for (const [text, expected] of cases) {
    test(text, () => assert.deepEqual(parseDestinationHeader(text), expected));
  }
  for (const bad of ['/queue/', '/topic/', '/queue/a,,b', '', ' ', '/queue/?consumer.prefetchSize=1']) {
    test(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseDestinationHeader(bad), { code: 'QMQ-2001' }));
  }
  test('composites are grouped by kind', () => {
    assert.deepEqual(groupComposite([{ kind: 'queue', name: 'a' }, { kind: 'topic', name: 't' }, { kind: 'queue', name: 'b' }]), [
      { kind: 'queue', name: 'a,b' },
      { kind: 'topic', name: 't' },
    ]);
  });
  test('temporary destinations render locally for their owner and as remote for others', () => {
    const d = { kind: 'temp-queue' as const, name: 'ID:c1:reply' };
    assert.equal(renderDestination(d, (g) => (g === 'temp-queue:ID:c1:reply' ? 'reply' : undefined)), '/temp-queue/reply');
    assert.equal(renderDestination(d, () => undefined), '/remote-temp-queue/ID:c1:reply');
    assert.equal(renderDestination({ kind: 'topic', name: 'x' }, () => undefined), '/topic/x');
  });
});

describe('version negotiation (STOMP 1.2 §Protocol Negotiation)', () => {
  const cases: Array<[string | undefined, string | undefined]> = [
    [undefined, '1.0'],
    ['1.0', '1.0'],
    ['1.0,1.1', '1.1'],
    ['1.1,1.2', '1.2'],
    ['1.2, 1.0', '1.2'],
    ['2.0', undefined],
    ['', undefined],
  ];
  for (const [offered, picked] of cases) test(`${offered} -> ${picked}`, () => assert.equal(negotiateVersion(offered), picked));
});

describe('heart-beat plan (mirrors the client, like ActiveMQ)', () => {
  test('no header: no heart-beats', () => assert.deepEqual(planHeartbeat(undefined, 1.5), { sendEveryMs: 0, expectWithinMs: 0, header: '0,0' }));
  test('cx,cy -> server sends every cy, expects within cx*grace', () =>
    assert.deepEqual(planHeartbeat('1000,2000', 1.5), { sendEveryMs: 2000, expectWithinMs: 1500, header: '2000,1000' }));
  test('0 means never', () => assert.deepEqual(planHeartbeat('0,500', 2), { sendEveryMs: 500, expectWithinMs: 0, header: '500,0' }));
  for (const bad of ['fast', '1000', '1,2,3', '-1,0']) {
    test(`malformed ${bad} is fatal`, () => assert.throws(() => planHeartbeat(bad, 1), (e: any) => e.code === 'QMQ-1010' && e.fatal === true));
  }
});

describe('SEND headers to message fields (ActiveMQ FrameTranslator)', () => {
  test('STOMP messages are non-persistent unless persistent:true', () => {
    assert.equal(sendFieldsFromHeaders({ destination: '/queue/a' }).persistent, false);
    assert.equal(sendFieldsFromHeaders({ destination: '/queue/a', persistent: 'true' }).persistent, true);
  });
  test('content-length makes a bytes message; broker headers are not kept as properties', () => {
    const f = sendFieldsFromHeaders({ destination: '/queue/a', 'content-length': '3', receipt: 'r', priority: '7', expires: '0', 'correlation-id': 'c', custom: 'v' });
    assert.equal(f.bodyIsBytes, true);
    assert.equal(f.priority, 7);
    assert.equal(f.expires, 0);
    assert.deepEqual(f.headers, { 'correlation-id': 'c', custom: 'v' });
  });
  test('a header named __proto__ stays a property of the message', () => {
    const f = sendFieldsFromHeaders(headersToRecord({ headers: [['destination', '/queue/a'], ['__proto__', 'x']] }));
    assert.deepEqual(Object.keys(f.headers), ['__proto__']);
    assert.equal(Object.getOwnPropertyDescriptor(f.headers, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(f.headers), Object.prototype);
  });
  for (const [name, value] of [['priority', '10'], ['priority', 'x'], ['expires', 'soon']]) {
    test(`${name}:${value} is rejected`, () => assert.throws(() => sendFieldsFromHeaders({ [name]: value }), { code: 'QMQ-1003' }));
  }
});
