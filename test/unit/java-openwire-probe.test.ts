import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compileProbe, javaOpenWireAvailable, runProbe, startProbe } from '../helpers/java-openwire.js';
import { freePort } from '../helpers/ports.js';

test('Java, javac and the ActiveMQ client jars are installed', () => {
  assert.deepEqual(javaOpenWireAvailable(), { ok: true });
});

test('the OpenWire probe compiles, once per process', async () => {
  const cp = await compileProbe();
  const dir = cp.split(path.delimiter)[0];
  assert.ok(fs.existsSync(path.join(dir, 'OpenWireProbe.class')), `no OpenWireProbe.class in ${dir}`);
  assert.ok(cp.includes('activemq-client.jar'));
  assert.equal(await compileProbe(), cp);
});

test('against a closed port, plain tcp:// fails fast with exit 2 and an error event', async () => {
  const port = await freePort();
  const started = Date.now();
  const r = await runProbe(`tcp://127.0.0.1:${port}`, ['consume', '--queue', 'probe.closed', '--count', '1', '--timeout', '1000'], { timeoutMs: 30_000 });
  assert.equal(r.timedOut, false, `the probe hung:\n${r.stderr}`);
  assert.equal(r.code, 2, `events: ${JSON.stringify(r.events)}\nstderr: ${r.stderr}`);
  assert.equal(r.events.length, 1, JSON.stringify(r.events));
  const [e] = r.events;
  assert.equal(e.event, 'error');
  assert.equal(e.class, 'javax.jms.JMSException');
  assert.match(String(e.message), new RegExp(`tcp://127\\.0\\.0\\.1:${port}.*Connection refused`));
  assert.ok(Date.now() - started < 30_000);
});

test('a bad command line is an error event and exit 2, before any connection', async () => {
  const r = await runProbe('tcp://127.0.0.1:1', ['consume', '--count', '1'], { timeoutMs: 30_000 });
  assert.equal(r.code, 2);
  assert.deepEqual(r.events, [{ event: 'error', class: 'java.lang.IllegalArgumentException', message: 'consume needs --queue or --topic' }]);
});

test('a probe that runs past its deadline is SIGKILLed and reported as timed out', async () => {
  // failover: retries a closed port for ever, so only the harness can end it.
  const port = await freePort();
  const url = `failover:(tcp://127.0.0.1:${port})?randomize=false&initialReconnectDelay=50`;
  const r = await runProbe(url, ['produce', '--queue', 'probe.closed', '--count', '1'], { timeoutMs: 2_000 });
  assert.equal(r.timedOut, true);
  assert.equal(r.code, null);
  assert.equal(r.signal, 'SIGKILL');
  assert.deepEqual(r.events, []);

  const p = await startProbe(url, ['consume', '--queue', 'probe.closed', '--count', '1']);
  assert.equal(p.running(), true);
  await assert.rejects(p.waitFor((e) => e.event === 'received', 500, 'a message'), /timed out after 500 ms waiting for 1 a message/);
  await p.kill();
  assert.equal(p.running(), false);
  assert.deepEqual(await p.exited, { code: null, signal: 'SIGKILL' });
});
