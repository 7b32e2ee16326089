import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupTemp, runCli, startBroker, tempDir } from '../helpers/broker-process.js';
import { waitFor } from '../helpers/wait.js';

after(() => cleanupTemp());

describe('quorummq CLI against a real broker process', () => {
  test('produce, browse, consume and status; persistent messages survive a restart', async () => {
    const broker = await startBroker();
    const url = `tcp://127.0.0.1:${broker.stompPort}`;
    try {
      const produced = await runCli(['produce', '--url', url, '--destination', '/queue/cli', '--count', '25', '--size', '64', '--persistent', '--json']);
      assert.equal(produced.code, 0, produced.stderr);
      const p = JSON.parse(produced.stdout);
      assert.equal(p.sent, 25);

      const browsed = await runCli(['browse', '--url', url, '--destination', '/queue/cli', '--json']);
      assert.equal(browsed.code, 0, browsed.stderr);
      assert.equal(JSON.parse(browsed.stdout).count, 25);

      const status = await runCli(['status', '--http', `http://127.0.0.1:${broker.httpPort}`, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout);
      assert.equal(s.role, 'master');
      assert.equal(s.destinations.find((d: { name: string }) => d.name === 'cli').depth, 25);
    } finally {
      assert.equal(await broker.stop(), 0, 'SIGTERM gives a clean exit');
    }

    // Same data directory, new process: the 25 persistent messages are still there.
    const again = await startBroker({ dataDir: broker.dataDir });
    try {
      const consumed = await runCli(['consume', '--url', `tcp://127.0.0.1:${again.stompPort}`, '--destination', '/queue/cli', '--count', '25', '--timeout', '5000', '--json']);
      assert.equal(consumed.code, 0, consumed.stderr);
      assert.equal(JSON.parse(consumed.stdout).received, 25);
    } finally {
      await again.stop();
    }
  });

  test('an invalid config file is a clear error naming the file and line', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'activemq.xml');
    writeFileSync(
      file,
      `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="b">\n  <persistenceAdapter>\n    <kahaDB directry="x"/>\n  </persistenceAdapter>\n</broker>\n`,
    );
    const r = await runCli(['start', '--config', file, '--http-port', '0'], { cwd: dir });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /activemq\.xml:3/);
    assert.match(r.stderr, /directry/);
    assert.match(r.stderr, /did you mean "directory"/);
  });

  test("the seed's replicatedLevelDB config parses, then says replication is not available yet", async () => {
    const dir = tempDir();
    const fixture = path.resolve('test/fixtures/config/seed-replicated-leveldb.xml');
    const r = await runCli(['start', '--config', fixture, '--http-port', '0', '--data', dir], { cwd: dir });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not available yet/);
  });

  test('a connection refused is a clear CLI error', async () => {
    const r = await runCli(['produce', '--url', 'tcp://127.0.0.1:1', '--destination', '/queue/x', '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot connect to tcp:\/\/127\.0\.0\.1:1/);
  });

  test('SIGINT stops the broker cleanly and the HTTP health check answers while it runs', async () => {
    const broker = await startBroker();
    const health = await waitFor('healthz', async () => (await fetch(`http://127.0.0.1:${broker.httpPort}/healthz`)).ok);
    assert.equal(health, true);
    process.kill(broker.pid, 'SIGINT');
    assert.equal(await broker.exited, 0);
    assert.match(broker.output(), /broker stopped/);
  });
});
