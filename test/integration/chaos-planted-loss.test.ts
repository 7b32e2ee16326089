import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startSingleCluster } from '../../src/chaos/cluster.js';
import { startReceiptFakingProxy } from '../../src/chaos/receipt-faking-proxy.js';
import { runChaos } from '../../src/chaos/run-chaos.js';
import { cleanupTemp, tempDir } from '../helpers/broker-process.js';

after(cleanupTemp);

test('planted fault: a hop that forges receipts for swallowed sends is reported as loss, and the CLI exits non-zero', async () => {
  const dir = tempDir('qmq-chaos-planted-');
  const cluster = await startSingleCluster(path.join(dir, 'cluster'));
  const node = cluster.nodes[0]!;
  const proxy = await startReceiptFakingProxy({ host: '127.0.0.1', port: node.spec.stompPort }, 25);
  try {
    const report = await runChaos({
      mode: 'single',
      durationMs: 3000,
      faults: [],
      seed: 7,
      outDir: path.join(dir, 'out'),
      producers: 2,
      cluster,
      producerUrl: `failover:(tcp://127.0.0.1:${proxy.port})?randomize=false&initialReconnectDelay=50`,
      drainTimeoutMs: 5000,
    });
    const r = report.result;
    assert.ok(proxy.dropped > 0, 'the proxy swallowed sends');
    assert.ok(r.acked > proxy.dropped, `acked ${r.acked}`);
    // Swallowed transactional sends pass through (the proxy only drops plain ones), so every
    // swallowed send is exactly one acked message that never reached the broker; a message to
    // the ack:auto queue counts in lostAtMostOnce, and the topic has one receiver.
    assert.equal(r.lost + r.lostAtMostOnce, proxy.dropped, report.summary);
    assert.ok(r.lost > 0, report.summary);
    assert.equal(r.unexpected, 0, report.summary);
    assert.match(r.violations.join('\n'), /acknowledged message\(s\) lost/);

    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/chaos/run.ts', 'check', report.files.history], { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../..') });
    assert.equal(cli.status, 1, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /FAIL/);
  } finally {
    await proxy.close();
    await cluster.close();
  }
});
