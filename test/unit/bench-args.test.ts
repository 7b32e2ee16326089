import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, parseBrokerUrl, parseScenarios, SCENARIO_NAMES, UsageError } from '../../bench/args.js';

test('defaults: start QuorumMQ, every scenario, 1 KiB bodies, full counts', () => {
  const o = parseArgs([]);
  assert.equal(o.url, undefined);
  assert.equal(o.peer, undefined);
  assert.deepEqual(o.scenarios, [...SCENARIO_NAMES]);
  assert.equal(o.sizeBytes, 1024);
  assert.equal(o.quick, false);
  assert.equal(o.counts.backlogMessages, 1_000_000);
  assert.equal(o.counts.concurrentProducers, 16);
});

test('--quick shrinks every count, including the backlog', () => {
  const full = parseArgs([]).counts;
  const quick = parseArgs(['--quick']).counts;
  for (const key of ['receiptedMessages', 'pipelinedMessages', 'concurrentMessages', 'consumeMessages', 'latencyDurationMs', 'backlogMessages'] as const) {
    assert.ok(quick[key] < full[key], `${key}: ${quick[key]} should be below ${full[key]}`);
  }
});

test('--messages sets every throughput scenario, and explicit flags beat --quick', () => {
  const o = parseArgs(['--quick', '--messages', '800', '--backlog=5000', '--rate', '250', '--duration-ms', '1500', '--size', '4096']);
  assert.equal(o.counts.receiptedMessages, 800);
  assert.equal(o.counts.pipelinedMessages, 800);
  assert.equal(o.counts.consumeMessages, 800);
  assert.equal(o.counts.concurrentMessages, 800);
  assert.equal(o.counts.backlogMessages, 5000);
  assert.equal(o.counts.latencyRatePerSec, 250);
  assert.equal(o.counts.latencyDurationMs, 1500);
  assert.equal(o.sizeBytes, 4096);
});

test('--messages below the producer count still gives each of the 16 producers a message', () => {
  assert.equal(parseArgs(['--messages', '3']).counts.concurrentMessages, 16);
});

test('--scenarios keeps the canonical order and drops duplicates', () => {
  assert.deepEqual(parseScenarios('recovery, receipted-1p,ceiling,receipted-1p'), ['ceiling', 'receipted-1p', 'recovery']);
  assert.throws(() => parseScenarios('receipted-1p,nope'), (e: unknown) => e instanceof UsageError && /nope/.test(e.message));
  assert.throws(() => parseScenarios(' , '), UsageError);
});

test('--url accepts tcp:// and stomp:// with host names, IPv4 and bracketed IPv6', () => {
  assert.deepEqual(parseBrokerUrl('tcp://127.0.0.1:61613'), { host: '127.0.0.1', port: 61613, label: 'tcp://127.0.0.1:61613' });
  assert.equal(parseBrokerUrl('stomp://broker.local:1234').host, 'broker.local');
  assert.equal(parseBrokerUrl('tcp://[::1]:61613').host, '::1');
  for (const bad of ['127.0.0.1:61613', 'tcp://host', 'http://h:1', 'tcp://h:0', 'tcp://h:70000', 'tcp://h:1/x']) {
    assert.throws(() => parseBrokerUrl(bad), UsageError, bad);
  }
});

test('bad flags are usage errors that name the problem', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--peer', 'rabbitmq'], /activemq/],
    [['--messages', '0'], /positive integer/],
    [['--messages', '1e3'], /positive integer/],
    [['--size'], /needs a value/],
    [['--frobnicate'], /unknown argument/],
    [['--pid', '42'], /--url/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  }
});

test('--url with --pid and --peer', () => {
  const o = parseArgs(['--url', 'tcp://localhost:61613', '--pid', '1234', '--peer', 'activemq', '--help']);
  assert.equal(o.url?.port, 61613);
  assert.equal(o.urlPid, 1234);
  assert.equal(o.peer, 'activemq');
  assert.equal(o.help, true);
});

test('--rounds: 3 by default, 1 when quick, explicit wins', () => {
  assert.equal(parseArgs([]).rounds, 3);
  assert.equal(parseArgs(['--quick']).rounds, 1);
  assert.equal(parseArgs(['--quick', '--rounds', '5']).rounds, 5);
  assert.throws(() => parseArgs(['--rounds', '0']), UsageError);
});

test('by default the replicated group runs beside the single node, and failover is the last scenario', () => {
  const o = parseArgs([]);
  assert.equal(o.replicated, true);
  assert.equal(o.scenarios.at(-1), 'failover');
  assert.equal(o.counts.failoverTrials, 5);
  assert.equal(parseArgs(['--quick']).counts.failoverTrials, 3);
  assert.equal(parseArgs(['--failover-trials', '9']).counts.failoverTrials, 9);
});

test('--only replicated runs the single-node baselines and the group scenarios of issue 5', () => {
  const o = parseArgs(['--only', 'replicated', '--peer', 'activemq']);
  assert.deepEqual(o.scenarios, ['receipted-1p', 'concurrent-16p', 'failover']);
  assert.equal(o.replicated, true);
  assert.equal(o.peer, 'activemq');
});

test('--only single and --no-replicated leave the group out and drop failover', () => {
  for (const argv of [['--only', 'single'], ['--no-replicated'], ['--only=single', '--no-replicated']]) {
    const o = parseArgs(argv);
    assert.equal(o.replicated, false, argv.join(' '));
    assert.ok(!o.scenarios.includes('failover'), argv.join(' '));
    assert.ok(o.scenarios.includes('recovery'), argv.join(' '));
  }
});

test('a --url broker is never paired with the group: failover is dropped, and asking for it is an error', () => {
  const o = parseArgs(['--url', 'tcp://127.0.0.1:61613']);
  assert.equal(o.replicated, false);
  assert.ok(!o.scenarios.includes('failover'));
  const bad: Array<[string[], RegExp]> = [
    [['--url', 'tcp://127.0.0.1:61613', '--only', 'replicated'], /--url/],
    [['--url', 'tcp://127.0.0.1:61613', '--scenarios', 'failover'], /replicated group/],
    [['--no-replicated', '--scenarios', 'receipted-1p,failover'], /--no-replicated/],
    [['--only', 'replicated', '--no-replicated'], /contradicts/],
    [['--only', 'replicated', '--scenarios', 'latency'], /--only and --scenarios/],
    [['--only', 'everything'], /single, replicated/],
    [['--only'], /--only takes/],
    [['--failover-trials', '0'], /positive integer/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  }
});
