import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePacket, encodeAck, encodeConnack, encodePublish, encodeSuback, PacketSplitter, PacketType, type QoS } from '../../src/protocol/mqtt/packets.js';
import { brokerTopicFilter, brokerTopicName, filterMatches, mqttTopicName } from '../../src/protocol/mqtt/topics.js';
import { QmqError } from '../../src/util/errors.js';

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
function connectBody(flags: number, clientId: string, ...rest: Buffer[]): Buffer {
  return Buffer.concat([str('MQTT'), Buffer.from([4, flags]), u16(60), str(clientId), ...rest]);
}
const malformedWith = (pattern: RegExp) => (e: unknown) => e instanceof QmqError && e.fatal && pattern.test(e.message);

test('CONNECT: every field, as §3.1 lays them out', () => {
  // user name, password, will retain, will QoS 1, will flag, clean session
  const body = connectBody(0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02, 'dev-1', str('will/t'), str('gone'), str('alice'), str('pw'));
  const p = decodePacket(PacketType.CONNECT << 4, body);
  assert.deepEqual(p, {
    type: PacketType.CONNECT, protocolName: 'MQTT', protocolLevel: 4, cleanSession: true, keepAliveSeconds: 60, clientId: 'dev-1',
    will: { topic: 'will/t', payload: Buffer.from('gone'), qos: 1, retain: true }, username: 'alice', password: Buffer.from('pw'),
  });
});

test('CONNECT: malformed ones close the connection, naming the clause', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['reserved flag', connectBody(0x01, 'x'), /reserved flag.*MQTT-3\.1\.2-3/],
    ['password without user', connectBody(0x40, 'x', str('pw')), /password but no user name.*MQTT-3\.1\.2-22/],
    ['will QoS without will', connectBody(0x08, 'x'), /will QoS or retain without a will/],
    ['bad UTF-8 in the client id', Buffer.concat([str('MQTT'), Buffer.from([4, 2]), u16(60), Buffer.from([0, 2, 0xc3, 0x28])]), /not well-formed UTF-8/],
    ['U+0000 in the client id', connectBody(0x02, 'a\u0000b'), /U\+0000/],
    ['cut short', Buffer.concat([str('MQTT'), Buffer.from([4])]), /ends early/],
  ];
  for (const [what, body, pattern] of cases) assert.throws(() => decodePacket(PacketType.CONNECT << 4, body), malformedWith(pattern), what);
});

test('PUBLISH, SUBSCRIBE and the others: flags and fields checked', () => {
  const publish = (flags: number, body: Buffer) => decodePacket((PacketType.PUBLISH << 4) | flags, body);
  assert.deepEqual(publish(0b0011, Buffer.concat([str('a/b'), u16(7), Buffer.from('hi')])), { type: PacketType.PUBLISH, dup: false, qos: 1, retain: true, topic: 'a/b', packetId: 7, payload: Buffer.from('hi') });
  assert.throws(() => publish(0b0110, Buffer.concat([str('a'), u16(1)])), malformedWith(/QoS 3/));
  assert.throws(() => publish(0b1000, str('a')), malformedWith(/DUP set with QoS 0/));
  assert.throws(() => publish(0, str('a/+')), malformedWith(/wildcard.*MQTT-3\.3\.2-2/));
  assert.throws(() => publish(0b0010, Buffer.concat([str('a'), u16(0)])), malformedWith(/Packet Identifier 0/));
  assert.throws(() => publish(0, str('')), malformedWith(/empty topic name/));
  assert.deepEqual(decodePacket((PacketType.SUBSCRIBE << 4) | 2, Buffer.concat([u16(3), str('a/#'), Buffer.from([1]), str('b'), Buffer.from([2])])), {
    type: PacketType.SUBSCRIBE, packetId: 3, filters: [{ filter: 'a/#', qos: 1 }, { filter: 'b', qos: 2 }],
  });
  assert.throws(() => decodePacket(PacketType.SUBSCRIBE << 4, Buffer.concat([u16(3), str('a'), Buffer.from([0])])), malformedWith(/flags 0000, expected 0010/));
  assert.throws(() => decodePacket((PacketType.SUBSCRIBE << 4) | 2, u16(3)), malformedWith(/no topic filter/));
  assert.throws(() => decodePacket((PacketType.SUBSCRIBE << 4) | 2, Buffer.concat([u16(3), str('a'), Buffer.from([0x41])])), malformedWith(/reserved bits/));
  assert.throws(() => decodePacket(PacketType.CONNACK << 4, Buffer.from([0, 0])), malformedWith(/not one a client may send/));
  assert.deepEqual(decodePacket((PacketType.PUBREL << 4) | 2, u16(9)), { type: PacketType.PUBREL, packetId: 9 });
  assert.deepEqual(decodePacket(PacketType.PINGREQ << 4, Buffer.alloc(0)), { type: PacketType.PINGREQ });
});

test('the splitter cuts packets across chunk boundaries and refuses bad or huge lengths', () => {
  const pub = encodePublish({ topic: 't', payload: Buffer.alloc(300, 7), qos: 1, retain: false, dup: false, packetId: 5 });
  const s = new PacketSplitter(1024);
  const got = [...pub].flatMap((byte) => s.push(Buffer.from([byte])));
  assert.equal(got.length, 1);
  assert.equal((decodePacket(got[0].header, got[0].body) as { payload: Buffer }).payload.length, 300);
  assert.throws(() => new PacketSplitter(1024).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), malformedWith(/runs past 4 bytes/));
  assert.throws(() => new PacketSplitter(100).push(Buffer.from([0x30, 0xc8, 0x01])), (e) => e instanceof QmqError && e.codeName === 'FRAME_TOO_LARGE' && /200 bytes/.test(e.message));
});

test('PUBLISH encodes as it decodes, for any topic, payload and QoS (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 50 }).filter((t) => !/[+#\u0000]/.test(t) && Buffer.from(t, 'utf8').toString('utf8') === t),
      fc.uint8Array({ maxLength: 20_000 }),
      fc.constantFrom<QoS>(0, 1, 2),
      fc.boolean(),
      (topic, payload, qos, retain) => {
        const bytes = encodePublish({ topic, payload: Buffer.from(payload), qos, retain, dup: false, packetId: qos > 0 ? 42 : undefined });
        const [p] = new PacketSplitter(1 << 20).push(bytes);
        const d = decodePacket(p.header, p.body) as { topic: string; payload: Buffer; qos: number; retain: boolean; packetId?: number };
        assert.equal(d.topic, topic);
        assert.deepEqual([...d.payload], [...payload]);
        assert.equal(d.qos, qos);
        assert.equal(d.retain, retain);
        assert.equal(d.packetId, qos > 0 ? 42 : undefined);
      },
    ),
  );
});

test('server packets: CONNACK, SUBACK, PUBREL flags', () => {
  assert.deepEqual([...encodeConnack(true, 0)], [0x20, 2, 1, 0]);
  assert.deepEqual([...encodeSuback(7, [1, 0x80])], [0x90, 4, 0, 7, 1, 0x80]);
  assert.deepEqual([...encodeAck(PacketType.PUBREL, 258)], [0x62, 2, 1, 2]);
});

test('topics map as ActiveMQ maps them; filters are checked; retained matching follows §4.7', () => {
  assert.equal(brokerTopicName('sensors/temp.c'), 'sensors.temp/c');
  assert.equal(mqttTopicName('sensors.temp/c'), 'sensors/temp.c');
  assert.equal(brokerTopicFilter('sensors/+/temp'), 'sensors.*.temp');
  assert.equal(brokerTopicFilter('sensors/#'), 'sensors.>');
  assert.equal(brokerTopicFilter('#'), '>');
  for (const bad of ['a/#/b', 'a#', 'a/b+', '']) assert.throws(() => brokerTopicFilter(bad), malformedWith(/MQTT-4\.7/), bad);
  const rows: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a', true],
    ['+/b', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
  ];
  for (const [filter, topic, match] of rows) assert.equal(filterMatches(filter, topic), match, `${filter} ~ ${topic}`);
});
