/**
 * `npm run bench:openwire [-- --messages N --rounds R]`: ActiveMQ 5.17's own Java client
 * (test/java/OpenWireProbe.java, quiet) against a QuorumMQ node and against ActiveMQ 5.17, in
 * turn within each round so both see the same machine load. Per round and broker: N persistent
 * sends, each waiting for the broker's answer (the JMS default for persistent messages), then N
 * receives with auto-acknowledge. Rates come from the probe's own clock around its loops, so the
 * JVM's start is not counted. Prints one JSON line per round and broker, then the medians and
 * the ratio QuorumMQ/ActiveMQ. Needs Debian's `activemq` and `libactivemq-java` packages.
 */
import { startActivemq } from './brokers/activemq.js';
import { startQuorumMq } from './brokers/quorummq.js';
import type { BenchBroker } from './brokers/types.js';
import { cleanupAll } from './processes.js';
import { compileProbe, runProbe } from '../test/helpers/java-openwire.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} takes a positive whole number, not ${process.argv[i + 1]}`);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timed(url: string, args: string[]): Promise<number> {
  const r = await runProbe(url, [...args, '--quiet'], { timeoutMs: 300_000 });
  const done = r.events.find((e) => e.event === 'done');
  if (r.code !== 0 || !done || typeof done.elapsedMs !== 'number') {
    throw new Error(`probe ${args.join(' ')} on ${url} failed (exit ${r.code}): ${JSON.stringify(r.events)}\n${r.stderr.slice(-2000)}`);
  }
  return done.elapsedMs;
}

async function main(): Promise<void> {
  const messages = option('--messages', 2000);
  const rounds = option('--rounds', 3);
  const log = (m: string) => process.stderr.write(`bench:openwire: ${m}\n`);
  await compileProbe();
  const brokers: BenchBroker[] = [await startQuorumMq(), await startActivemq(log)];
  const rates = new Map<string, { send: number[]; receive: number[] }>(brokers.map((b) => [b.label, { send: [], receive: [] }]));
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so neither always runs on the warmer machine.
      const order = round % 2 === 0 ? brokers : [...brokers].reverse();
      for (const b of order) {
        const url = `tcp://127.0.0.1:${b.openwirePort!}`;
        const queue = `bench.openwire.${round}`;
        log(`round ${round + 1}/${rounds} on ${b.label}`);
        const sendMs = await timed(url, ['produce', '--queue', queue, '--count', String(messages)]);
        const receiveMs = await timed(url, ['consume', '--queue', queue, '--count', String(messages), '--timeout', '30000']);
        const r = rates.get(b.label)!;
        r.send.push((messages * 1000) / Math.max(1, sendMs));
        r.receive.push((messages * 1000) / Math.max(1, receiveMs));
        process.stdout.write(JSON.stringify({ scenario: 'openwire', round: round + 1, broker: b.label, messages, persistentSendsPerSec: Math.round(r.send.at(-1)!), receivesPerSec: Math.round(r.receive.at(-1)!) }) + '\n');
      }
    }
  } finally {
    for (const b of brokers) await b.stop();
  }
  const ours = rates.get('quorummq')!;
  const theirs = rates.get('activemq')!;
  const summary = {
    scenario: 'openwire',
    messages,
    rounds,
    quorummq: { persistentSendsPerSec: Math.round(median(ours.send)), receivesPerSec: Math.round(median(ours.receive)) },
    activemq: { persistentSendsPerSec: Math.round(median(theirs.send)), receivesPerSec: Math.round(median(theirs.receive)) },
    ratio: {
      persistentSends: Number((median(ours.send) / median(theirs.send)).toFixed(3)),
      receives: Number((median(ours.receive) / median(theirs.receive)).toFixed(3)),
    },
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench:openwire: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll().then(() => process.exit()));
