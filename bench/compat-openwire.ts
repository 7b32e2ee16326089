/**
 * `npm run compat:openwire [-- scenario …]`: runs the same JMS scenarios with ActiveMQ 5.17's own
 * Java client (test/java/OpenWireProbe.java) against QuorumMQ and against ActiveMQ 5.17, and
 * compares what the client saw, step by step (bench/compat-openwire-events.ts says what counts).
 * Prints one JSON line per scenario and a summary; exits 1 on a difference not listed in
 * EXPECTED with its reason. Needs Debian's `activemq` package (for the broker) and
 * `libactivemq-java` with a JDK (for the client).
 */
import { startActivemq } from './brokers/activemq.js';
import { startQuorumMq } from './brokers/quorummq.js';
import type { BenchBroker } from './brokers/types.js';
import { SECURE_XML } from './secure-config.js';
import { compareSteps, type OpenWireComparison, type StepOutcome } from './compat-openwire-events.js';
import { compatSummary } from './compat-summary.js';
import { cleanupAll } from './processes.js';
import { compileProbe, runProbe } from '../test/helpers/java-openwire.js';

/** Each scenario is a list of probe runs, one after another, on fresh destinations. */
const SCENARIOS: Record<string, (d: string) => string[][]> = {
  'text, properties and headers': (d) => [
    ['produce', '--queue', d, '--count', '3', '--property', 'color=red', '--priority', '6', '--correlation-id', 'c-1', '--type', 'order', '--ttl', '600000'],
    ['consume', '--queue', d, '--count', '3', '--timeout', '5000'],
    ['consume', '--queue', d, '--count', '1', '--timeout', '300'],
  ],
  'bytes, non-persistent, browse then client ack': (d) => [
    ['produce', '--queue', d, '--count', '2', '--bytes', '--persistent', 'false', '--prefix', 'héllo✓-'],
    ['browse', '--queue', d],
    ['consume', '--queue', d, '--count', '2', '--timeout', '5000', '--ack', 'client'],
  ],
  'unacknowledged messages come back redelivered': (d) => [
    ['produce', '--queue', d, '--count', '2'],
    ['consume', '--queue', d, '--count', '3', '--timeout', '500', '--ack', 'client'],
    ['consume', '--queue', d, '--count', '2', '--timeout', '5000'],
  ],
  'prefetched but never delivered messages are not redelivered': (d) => [
    ['produce', '--queue', d, '--count', '4'],
    ['consume', '--queue', d, '--count', '1', '--timeout', '5000', '--ack', 'client'],
    ['consume', '--queue', d, '--count', '3', '--timeout', '5000'],
  ],
  'transacted rollback': (d) => [
    ['produce', '--queue', d, '--count', '2', '--transacted'],
    ['consume', '--queue', d, '--count', '2', '--timeout', '5000', '--ack', 'transacted', '--rollback-first'],
    ['consume', '--queue', d, '--count', '1', '--timeout', '300'],
  ],
  'selector, individual ack, prefetch 1, then the rest': (d) => [
    ['produce', '--queue', d, '--count', '4'],
    ['consume', '--queue', d, '--count', '2', '--timeout', '5000', '--ack', 'individual', '--selector', 'seq > 1', '--prefetch', '1'],
    ['consume', '--queue', d, '--count', '2', '--timeout', '5000', '--ack', 'dups_ok'],
  ],
  'pull consumers (prefetch 0)': (d) => [
    ['consume', '--queue', d, '--count', '1', '--timeout', '300', '--prefetch', '0'],
    ['produce', '--queue', d, '--count', '2'],
    ['consume', '--queue', d, '--count', '2', '--timeout', '5000', '--prefetch', '0'],
  ],
  'request/reply through a temporary queue': (d) => [['request-reply', '--queue', d, '--count', '2']],
  'topic publish and subscribe': (d) => [['pubsub', '--topic', d, '--count', '2']],
  'durable subscriber away and back': (d) => [
    ['consume', '--topic', d, '--durable', 'sub1', '--client-id', `cid-${d}`, '--count', '1', '--timeout', '300'],
    ['produce', '--topic', d, '--count', '2'],
    ['consume', '--topic', d, '--durable', 'sub1', '--client-id', `cid-${d}`, '--count', '2', '--timeout', '5000'],
  ],
  'priorities: higher first among waiting messages': (d) => [
    ['produce', '--queue', d, '--count', '2', '--priority', '1', '--prefix', 'low-'],
    ['produce', '--queue', d, '--count', '2', '--priority', '9', '--prefix', 'high-'],
    ['consume', '--queue', d, '--count', '4', '--timeout', '5000'],
  ],
  'an expired message is not delivered; it is in the DLQ': (d) => [
    ['produce', '--queue', d, '--count', '1', '--ttl', '1', '--prefix', 'gone-', '--property', `scenario=${d}`],
    ['produce', '--queue', d, '--count', '1', '--prefix', 'kept-'],
    ['consume', '--queue', d, '--count', '2', '--timeout', '1000'],
    ['consume', '--queue', 'ActiveMQ.DLQ', '--count', '1', '--timeout', '5000', '--selector', `scenario = '${d}'`],
  ],
  'a topic message with no subscriber is gone; an empty browse': (d) => [
    ['produce', '--topic', d, '--count', '1'],
    ['consume', '--topic', d, '--count', '1', '--timeout', '300'],
    ['browse', '--queue', d],
  ],
  'text with accents, astral characters and 64 KiB': (d) => [
    ['produce', '--queue', d, '--count', '2', '--prefix', `é😀${'x'.repeat(65_536)}-`],
    ['consume', '--queue', d, '--count', '2', '--timeout', '5000'],
  ],
  'durable subscriber with a selector': (d) => [
    ['consume', '--topic', d, '--durable', 's', '--client-id', `sel-${d}`, '--selector', 'seq = 1', '--count', '1', '--timeout', '300'],
    ['produce', '--topic', d, '--count', '3'],
    ['consume', '--topic', d, '--durable', 's', '--client-id', `sel-${d}`, '--selector', 'seq = 1', '--count', '1', '--timeout', '5000'],
    ['consume', '--topic', d, '--durable', 's', '--client-id', `sel-${d}`, '--selector', 'seq = 1', '--count', '1', '--timeout', '300'],
  ],
  'the client gives a message up: poison ack, then the DLQ': (d) => [
    ['produce', '--queue', d, '--count', '1', '--property', `scenario=${d}`],
    ['consume', '--queue', d, '--count', '1', '--timeout', '1500', '--ack', 'transacted', '--rollback-all', '--max-redeliveries', '2'],
    ['consume', '--queue', d, '--count', '1', '--timeout', '300'],
    // The DLQ is shared: take only this scenario's dead letter.
    ['consume', '--queue', 'ActiveMQ.DLQ', '--count', '1', '--timeout', '5000', '--selector', `scenario = '${d}'`],
  ],
  'a client-ack consumer reads past its prefetch before acknowledging': (d) => [
    ['produce', '--queue', d, '--count', '6'],
    ['consume', '--queue', d, '--count', '6', '--timeout', '3000', '--ack', 'client', '--prefetch', '2'],
    ['consume', '--queue', d, '--count', '1', '--timeout', '300'],
  ],
  'async sends through a small producer window': (d) => [
    ['produce', '--queue', d, '--count', '50', '--persistent', 'false', '--producer-window', '4096', '--quiet'],
    ['produce', '--queue', d, '--count', '50', '--async-send', '--producer-window', '4096', '--quiet'],
    ['consume', '--queue', d, '--count', '100', '--timeout', '5000', '--quiet'],
  ],
  'compressed bodies (useCompression)': (d) => [
    ['produce', '--queue', d, '--count', '2', '--compress', '--prefix', `${'abc'.repeat(2000)}-`],
    ['produce', '--queue', d, '--count', '1', '--compress', '--bytes', '--prefix', 'zipped-bytes-'],
    ['consume', '--queue', d, '--count', '3', '--timeout', '5000'],
  ],
  'a wildcard queue consumer (d.>) reads every matching queue': (d) => [
    ['produce', '--queue', `${d}.a`, '--count', '1', '--prefix', 'a-'],
    ['produce', '--queue', `${d}.b.c`, '--count', '1', '--prefix', 'bc-'],
    ['consume', '--queue', `${d}.>`, '--count', '2', '--timeout', '5000'],
  ],
  'an invalid selector': (d) => [['consume', '--queue', d, '--count', '1', '--timeout', '300', '--selector', 'color = ']],
  'a durable subscriber without a client id': (d) => [['consume', '--topic', d, '--durable', 'x', '--count', '1', '--timeout', '300']],
  'non-persistent messages for a durable subscriber that is away': (d) => [
    ['consume', '--topic', d, '--durable', 'np', '--client-id', `np-${d}`, '--count', '1', '--timeout', '300'],
    ['produce', '--topic', d, '--count', '2', '--persistent', 'false'],
    ['consume', '--topic', d, '--durable', 'np', '--client-id', `np-${d}`, '--count', '2', '--timeout', '3000'],
  ],
  'selectors on JMSType and JMSCorrelationID': (d) => [
    ['produce', '--queue', d, '--count', '1', '--type', 'order', '--correlation-id', 'c-1'],
    ['produce', '--queue', d, '--count', '1', '--type', 'refund', '--correlation-id', 'c-2', '--prefix', 'r'],
    ['consume', '--queue', d, '--count', '1', '--timeout', '3000', '--selector', "JMSType = 'refund' AND JMSCorrelationID = 'c-2'"],
    ['consume', '--queue', d, '--count', '2', '--timeout', '500'],
  ],
  'a queue browser with a selector': (d) => [
    ['produce', '--queue', d, '--count', '4'],
    ['browse', '--queue', d, '--selector', 'seq >= 2'],
    ['consume', '--queue', d, '--count', '4', '--timeout', '3000'],
  ],
};

/**
 * Scenarios whose events are compared as sets: the probe prints from two threads (request/reply),
 * or the order is not defined (a wildcard consumer takes from several queues).
 */
const UNORDERED = new Set([
  'request/reply through a temporary queue',
  'a wildcard queue consumer (d.>) reads every matching queue',
  // The exception listener's thread and the main thread both print.
  'authentication: a wrong password',
]);

const APP = ['--user', 'app', '--password', 'apppw'];
const ADMIN = ['--user', 'system', '--password', 'manager'];
/**
 * Run against the pair started with SECURE_XML (users and an authorization map): what the Java
 * client sees when the map refuses it, word for word.
 */
const SECURE_SCENARIOS: Record<string, (d: string) => string[][]> = {
  'authorization: a user may not write or read a queue only admins may': (d) => [
    ['produce', '--queue', `orders.${d}`, '--count', '1', ...APP],
    ['produce', '--queue', `orders.${d}`, '--count', '1', ...ADMIN],
    ['consume', '--queue', `orders.${d}`, '--count', '1', '--timeout', '2000', ...APP],
    ['consume', '--queue', `orders.${d}`, '--count', '1', '--timeout', '5000', ...ADMIN],
  ],
  'authorization: a user writes and reads USERS.>, creating the queue': (d) => [
    ['produce', '--queue', `USERS.${d}`, '--count', '2', ...APP],
    ['consume', '--queue', `USERS.${d}`, '--count', '2', '--timeout', '5000', ...APP],
  ],
  'authorization: anonymous reads GUEST.> but may not create it': (d) => [
    ['consume', '--queue', `GUEST.${d}`, '--count', '1', '--timeout', '2000'],
    ['produce', '--queue', `GUEST.${d}`, '--count', '1', ...APP],
    ['consume', '--queue', `GUEST.${d}`, '--count', '1', '--timeout', '5000'],
  ],
  'authentication: a wrong password': (d) => [['produce', '--queue', `USERS.${d}`, '--count', '1', '--user', 'app', '--password', 'wrong']],
};

/** Differences we keep on purpose, with the reason; each names its scenario. */
const EXPECTED: Record<string, string> = {};

async function runSteps(url: string, steps: string[][]): Promise<StepOutcome[]> {
  const out: StepOutcome[] = [];
  for (const args of steps) {
    const r = await runProbe(url, args, { timeoutMs: 60_000 });
    out.push({ args, code: r.timedOut ? null : r.code, events: r.events });
  }
  return out;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const all = { ...SCENARIOS, ...SECURE_SCENARIOS };
  const unknown = only.filter((n) => !(n in all));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(all).join(' | ')}`);
  const stale = Object.keys(EXPECTED).filter((n) => !(n in all));
  if (stale.length > 0) throw new Error(`EXPECTED names no scenario: ${stale.join(', ')}`);
  const log = (m: string) => process.stderr.write(`compat:openwire: ${m}\n`);
  await compileProbe();
  const selected = Object.keys(all).filter((n) => only.length === 0 || only.includes(n));
  const pairs: BenchBroker[] = [];
  const pair = async (secure: boolean): Promise<string[]> => {
    const brokers = [await startQuorumMq(secure ? SECURE_XML : undefined), await startActivemq(log, secure ? SECURE_XML : '')];
    pairs.push(...brokers);
    return brokers.map((b) => {
      if (b.openwirePort === undefined) throw new Error(`${b.label} has no OpenWire port`);
      return `tcp://127.0.0.1:${b.openwirePort}`;
    });
  };
  const results: OpenWireComparison[] = [];
  try {
    const plainUrls = selected.some((n) => n in SCENARIOS) ? await pair(false) : [];
    const secureUrls = selected.some((n) => n in SECURE_SCENARIOS) ? await pair(true) : [];
    for (const name of selected) {
      const steps = all[name];
      const urls = name in SECURE_SCENARIOS ? secureUrls : plainUrls;
      const d = `compat.ow.${results.length}.${Date.now().toString(36)}`;
      const [a, b] = await Promise.all(urls.map((u) => runSteps(u, steps(d))));
      const c = compareSteps(name, a, b, { expected: EXPECTED[name], unordered: UNORDERED.has(name) });
      results.push(c);
      process.stdout.write(JSON.stringify(c) + '\n');
    }
  } finally {
    for (const b of pairs) await b.stop();
  }
  const { line, failed } = compatSummary('compat:openwire', results);
  process.stdout.write(JSON.stringify(line) + '\n');
  if (failed) process.exitCode = 1;
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`compat:openwire: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll().then(() => process.exit()));
