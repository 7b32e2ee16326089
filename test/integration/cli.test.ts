import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { CLI, cleanupTemp, runCli, startBroker, tempDir } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
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

  test("the seed's replicatedLevelDB block (addresses moved to loopback) starts as a standby and says why there is no master", async () => {
    const dir = tempDir();
    const seed = readFileSync(path.resolve('test/fixtures/config/seed-replicated-leveldb.xml'), 'utf8');
    const deadZk = await freePort(); // nothing listens here: ZooKeeper is unreachable
    const stomp = await freePort();
    const http = await freePort();
    const file = path.join(dir, 'activemq.xml');
    writeFileSync(
      file,
      seed
        .replace(/zkAddress="[^"]*"/, `zkAddress="127.0.0.1:${deadZk}"`)
        .replace('tcp://0.0.0.0:61619', 'tcp://127.0.0.1:0')
        .replace('stomp://0.0.0.0:61613', `stomp://127.0.0.1:${stomp}`),
    );
    const child = spawn(process.execPath, [CLI, 'start', '--config', file, '--data', dir, '--http-port', String(http), '--log-format', 'json'], { cwd: dir, stdio: 'ignore' });
    try {
      const status = await waitFor('a standby status with a reason', async () => {
        const s = (await (await fetch(`http://127.0.0.1:${http}/api/status`)).json()) as { role: string; mode: string; reason?: string };
        return s.reason && /ZooKeeper/.test(s.reason) ? s : undefined;
      }, 20_000);
      assert.notEqual(status.role, 'master');
      assert.match(status.mode, /replicated/);
      assert.match(status.reason ?? '', new RegExp(`127\\.0\\.0\\.1:${deadZk}`), 'the reason names the ZooKeeper address it cannot reach');
      assert.equal((await fetch(`http://127.0.0.1:${http}/readyz`)).status, 503, 'not ready without a master');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
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
