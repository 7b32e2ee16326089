import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, runCli, startBroker, type BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';

const brokers: BrokerProcess[] = [];
after(async () => {
  await Promise.all(brokers.map((b) => b.kill()));
  cleanupTemp();
});

describe('CLI produce/consume/browse through failover URLs', () => {
  test('produce and consume accept a failover list whose first broker is down', async () => {
    const b = await startBroker();
    brokers.push(b);
    const dead = await freePort();
    const url = `failover:(tcp://127.0.0.1:${dead},tcp://127.0.0.1:${b.stompPort})?randomize=false`;
    const produced = await runCli(['produce', '--url', url, '--destination', '/queue/cli.failover', '-n', '25', '--persistent', '--json']);
    assert.equal(produced.code, 0, produced.stderr);
    assert.equal(JSON.parse(produced.stdout).sent, 25);
    const browsed = await runCli(['browse', '--url', url, '--destination', '/queue/cli.failover', '--json']);
    assert.equal(JSON.parse(browsed.stdout).count, 25);
    const consumed = await runCli(['consume', '--url', url, '--destination', '/queue/cli.failover', '-n', '25', '--timeout', '3000', '--json']);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.equal(JSON.parse(consumed.stdout).received, 25);
  });

  test('a malformed URL, an unknown option and an unreachable broker are clear errors with exit code 1', async () => {
    const dead = await freePort();
    const cases: Array<[string, RegExp]> = [
      ['tcp//oops', /malformed broker URL "tcp\/\/oops"/],
      [`failover:(tcp://127.0.0.1:${dead})?maxReconnectAttempt=1`, /unknown failover option "maxReconnectAttempt".*valid options:/],
      [`failover:(tcp://127.0.0.1:${dead})?startupMaxReconnectAttempts=1`, /could not connect to any broker after 2 attempt\(s\)/],
    ];
    for (const [url, pattern] of cases) {
      const r = await runCli(['produce', '--url', url, '--destination', '/queue/x', '--json'], { timeoutMs: 15_000 });
      assert.equal(r.code, 1, url);
      assert.match(r.stderr, pattern);
    }
  });
});
