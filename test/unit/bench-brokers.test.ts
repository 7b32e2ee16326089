import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStartedLine } from '../../bench/brokers/quorummq.js';
import { activemqJavaArgs, activemqXml } from '../../bench/brokers/activemq.js';

test('the STOMP port comes from the connectors of the "broker started" JSON line', () => {
  const line = JSON.stringify({ level: 30, msg: 'broker started', store: 'journal', connectors: ['ws://127.0.0.1:40001', 'stomp://127.0.0.1:40123'] });
  assert.deepEqual(parseStartedLine(line), { stompPort: 40123, store: 'journal' });
  assert.deepEqual(parseStartedLine(JSON.stringify({ msg: 'broker started', connectors: ['stomp://[::1]:7'] })), { stompPort: 7 });
  assert.deepEqual(parseStartedLine(JSON.stringify({ msg: 'broker started', connectors: ['tcp://127.0.0.1:9', 'stomp://127.0.0.1:8'] })), { stompPort: 8, openwirePort: 9 });
  assert.equal(parseStartedLine(JSON.stringify({ msg: 'broker started', connectors: ['stomp+ssl://127.0.0.1:1'] })), undefined);
  assert.equal(parseStartedLine(JSON.stringify({ msg: 'store opened', connectors: ['stomp://127.0.0.1:2'] })), undefined);
  assert.equal(parseStartedLine('12:00:00 INFO broker started port=61613'), undefined);
});

test('the generated activemq.xml uses KahaDB, a loopback STOMP connector and a loopback OpenWire one', () => {
  const xml = activemqXml(45678, 45679);
  assert.match(xml, /<kahaDB directory="\$\{activemq.data\}\/kahadb"\/>/);
  assert.match(xml, /uri="stomp:\/\/127\.0\.0\.1:45678"/);
  assert.match(xml, /uri="tcp:\/\/127\.0\.0\.1:45679"/);
  assert.equal(xml.match(/<transportConnector /g)?.length, 2);
});

test('ActiveMQ runs as a plain JVM with its base dir, never through the Debian wrapper', () => {
  const args = activemqJavaArgs('/tmp/x');
  assert.ok(args.includes('-Dactivemq.base=/tmp/x'));
  assert.ok(args.includes('xbean:file:/tmp/x/conf/activemq.xml'));
  assert.equal(args[args.indexOf('-jar') + 1], '/usr/share/activemq/bin/activemq.jar');
});

test('the replicated group is whole only when the master reports its slaves with no lag', async () => {
  const { caughtUpSlaves } = await import('../../bench/brokers/replicated.js');
  const master = (slaves: unknown) => ({ role: 'master', ha: { slaves } });
  assert.equal(caughtUpSlaves(master([{ nodeId: 'a', lagBytes: 0 }, { nodeId: 'b', lagBytes: 0 }])), 2);
  assert.equal(caughtUpSlaves(master([{ nodeId: 'a', lagBytes: 0 }, { nodeId: 'b', lagBytes: 4096 }])), 1);
  assert.equal(caughtUpSlaves(master([])), 0);
  // A slave's own status, or no answer, says nothing about the group.
  assert.equal(caughtUpSlaves({ role: 'slave', ha: { slaves: [{ lagBytes: 0 }] } }), 0);
  assert.equal(caughtUpSlaves(undefined), 0);
  assert.equal(caughtUpSlaves({ role: 'master', ha: {} }), 0);
});
