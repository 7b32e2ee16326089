/**
 * `npm run chaos -- --mode single|replicated|sharedfs|jdbc --duration 60 --faults kill,pause --seed N [--out DIR]`
 * runs a chaos run and exits 1 on any loss, unexpected or corrupt message.
 * `npm run chaos -- check history.json` checks a saved history again.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkHistory } from './check-history.js';
import { CHAOS_MODES, type ChaosMode } from './cluster.js';
import { parseFaultKinds } from './faults.js';
import type { HistoryOp } from './history.js';
import { runChaos } from './run-chaos.js';
import { formatSummary } from './summary.js';

const USAGE = `usage:
  npm run chaos -- --mode single|replicated|sharedfs|jdbc [--duration 60] [--faults kill,pause,zk,partition,disk] [--seed N] [--out DIR] [--producers 4] [--pause-ms 6000]
  npm run chaos -- check HISTORY.json [--at-most-once /queue/a,/queue/b]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mode: { type: 'string', default: 'single' },
      duration: { type: 'string', default: '60' },
      faults: { type: 'string', default: 'kill,pause,zk,partition,disk' },
      seed: { type: 'string' },
      out: { type: 'string' },
      producers: { type: 'string', default: '4' },
      'pause-ms': { type: 'string', default: '6000' },
      'at-most-once': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals[0] === 'check') {
    const file = positionals[1];
    if (!file) throw new Error(`check needs a history file\n${USAGE}`);
    const history = JSON.parse(readFileSync(file, 'utf8')) as HistoryOp[];
    const result = checkHistory(history, { atMostOnceReceivers: values['at-most-once'].split(',').filter(Boolean) });
    process.stdout.write(formatSummary(result, `history ${file}`));
    return result.violations.length === 0 ? 0 : 1;
  }
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'\n${USAGE}`);
  const mode = values.mode as ChaosMode;
  if (!CHAOS_MODES.includes(mode)) throw new Error(`unknown mode '${values.mode}'; known: ${CHAOS_MODES.join(', ')}`);
  const durationS = Number(values.duration);
  if (!(durationS > 0)) throw new Error(`--duration must be a positive number of seconds, got '${values.duration}'`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got '${values.seed}'`);
  // Absolute: each broker runs in its own data directory and reads its config through this path.
  const outDir = values.out ? path.resolve(values.out) : path.join(os.tmpdir(), `qmq-chaos-${mode}-${seed}-${Date.now().toString(36)}`);
  const report = await runChaos({
    mode,
    durationMs: durationS * 1000,
    faults: parseFaultKinds(values.faults),
    seed,
    outDir,
    producers: Number(values.producers),
    pauseMs: Number(values['pause-ms']),
    log: (line) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 23)}] ${line}\n`),
  });
  process.stdout.write(report.summary);
  // The pause length also sets partition holds, so it is part of the schedule a seed replays.
  const pauseArg = values['pause-ms'] === '6000' ? '' : ` --pause-ms ${values['pause-ms']}`;
  process.stdout.write(`replay: npm run chaos -- --mode ${mode} --duration ${durationS} --faults ${values.faults} --seed ${seed}${pauseArg}\n`);
  process.stdout.write(`reports: ${report.files.summary}, ${report.files.result}, ${report.files.history}\n`);
  return report.result.violations.length === 0 ? 0 : 1;
}

// Ctrl-C or a SIGTERM still runs the exit hooks that kill the brokers and ZooKeeper/PostgreSQL
// servers and delete the network namespaces.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`chaos: ${(e as Error).message}\n`);
    process.exit(2);
  },
);
