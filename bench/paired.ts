/**
 * `node --import tsx bench/paired.ts [--blocks N] [--scenarios receipted-1p:300,concurrent-16p:1600] [--sync LEVEL]`:
 * the single node and the 3-node group (the same two brokers `npm run bench` starts), measured
 * in many short blocks that take turns, the order rotating each block. One run of the main bench
 * compares 3 rounds, and on a shared VM one round can be 3× another; here a slow spell falls on
 * both brokers alike. Prints one JSON line per scenario and broker: the rate (all messages over
 * all timed time), the ratio to the single node, CPU µs per message of every broker process
 * (from /proc, over whole blocks: sends and the queue's drain) and, for the group, the master's
 * journal writer counts (batches per group commit). The group runs at `quorum_disk` (issue 5's
 * targets) unless `--sync` names another level, to compare what each level costs.
 */
import { readFileSync } from 'node:fs';
import { QUICK_COUNTS, type BenchCounts } from './args.js';
import { startQuorumMq } from './brokers/quorummq.js';
import { ReplicatedGroup } from './brokers/replicated.js';
import type { BenchBroker } from './brokers/types.js';
import { blockOrder, cpuMsFromStat, summarizeBlocks, type BlockSample } from './paired-stats.js';
import { cleanupAll } from './processes.js';
import { parseSyncLevel } from '../src/ha/quorum.js';
import { SCENARIOS, warmUp, type ScenarioContext } from './scenarios.js';

type Shared = keyof typeof SCENARIOS;
const SUPPORTED: readonly Shared[] = ['receipted-1p', 'pipelined-1p', 'concurrent-16p'];

function parse(argv: readonly string[]): { blocks: number; scenarios: [Shared, number][]; sync: string } {
  let blocks = 16;
  let sync = 'quorum_disk';
  let scenarios: [Shared, number][] = [['receipted-1p', 300], ['concurrent-16p', 1600]];
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--blocks' && /^\d+$/.test(v ?? '') && Number(v) > 0) {
      blocks = Number(v);
      i++;
    } else if (argv[i] === '--scenarios' && v) {
      scenarios = v.split(',').map((item) => {
        const [name, count] = item.split(':');
        if (!SUPPORTED.includes(name as Shared) || !/^\d+$/.test(count ?? '') || Number(count) < 16) {
          throw new Error(`--scenarios takes name:messages items (messages >= 16) with names from ${SUPPORTED.join(', ')}; got "${item}"`);
        }
        return [name as Shared, Number(count)];
      });
      i++;
    } else if (argv[i] === '--sync' && v) {
      parseSyncLevel(v.split(','));
      sync = v;
      i++;
    } else throw new Error(`usage: paired.ts [--blocks N] [--scenarios receipted-1p:300,concurrent-16p:1600] [--sync LEVEL]; unexpected "${argv[i]}"`);
  }
  return { blocks, scenarios, sync };
}

/** The quick set's counts with every per-scenario count set to one block's messages. */
function counts(messages: number): BenchCounts {
  return { ...QUICK_COUNTS, receiptedMessages: messages, pipelinedMessages: messages, concurrentMessages: messages, consumeMessages: messages };
}

const log = (msg: string) => process.stderr.write(`paired: ${msg}\n`);
const cpuOf = (pid: number) => cpuMsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));

async function main(): Promise<void> {
  const { blocks, scenarios, sync } = parse(process.argv.slice(2));
  const single = await startQuorumMq();
  const group = await ReplicatedGroup.start(log, sync);
  const context = (broker: BenchBroker, tag: string, messages: number): ScenarioContext => ({
    broker, counts: counts(messages), body: Buffer.alloc(1024, 0x78), runTag: `paired-${Date.now().toString(36)}-${tag}`, state: {}, log,
  });
  await warmUp(context(single, 'warm', 500));
  await warmUp(context(group, 'warm', 500));
  const processes = (b: BenchBroker): Record<string, number> => {
    if (b === single) return { broker: single.pid()! };
    const { master, slaves } = group.pids();
    return { master: master!, ...Object.fromEntries(slaves.map((p, i) => [`slave${i + 1}`, p])) };
  };
  type WriterCounts = Record<string, number>;
  const writerOf = (status: Record<string, unknown> | undefined) => (status?.ha as { journalWriter?: WriterCounts } | undefined)?.journalWriter;
  /** Journal writer counts of the master and of each slave (`slave1`… as in the CPU figures). */
  const writers = async (): Promise<Record<string, WriterCounts | undefined>> => {
    const slaves = await group.slaveStatuses();
    return { master: writerOf(await group.masterStatus()), ...Object.fromEntries(slaves.map((st, i) => [`slave${i + 1}`, writerOf(st)])) };
  };
  for (const [scenario, messages] of scenarios) {
    const samples: BlockSample[] = [];
    const writerDelta: Record<string, WriterCounts> = {};
    for (let b = 0; b < blocks; b++) {
      for (const broker of blockOrder<BenchBroker>([single, group], b)) {
        if (broker === group) await group.waitHealthy(30_000);
        const before = broker === group ? await writers() : undefined;
        const pids = processes(broker);
        const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuOf(p)]));
        const client0 = process.cpuUsage();
        const figures = await SCENARIOS[scenario](context(broker, `${scenario}-${b}`, messages));
        const client = process.cpuUsage(client0);
        const cpuMs: Record<string, number> = {};
        for (const [k, p] of Object.entries(pids)) {
          const now = cpuOf(p);
          cpuMs[k] = now.user + now.sys - cpu0[k].user - cpu0[k].sys;
          cpuMs[`${k}Sys`] = now.sys - cpu0[k].sys;
        }
        cpuMs.client = (client.user + client.system) / 1000;
        cpuMs.clientSys = client.system / 1000;
        samples.push({ broker: broker.label, messages, perSec: Number(figures.perSec), cpuMs });
        const after = broker === group ? await writers() : undefined;
        for (const [node, counts] of Object.entries(after ?? {})) {
          const was = before?.[node];
          if (!counts || !was) continue;
          const d = (writerDelta[node] ??= {});
          for (const k of Object.keys(counts)) d[k] = (d[k] ?? 0) + counts[k] - (was[k] ?? 0);
        }
      }
      log(`${scenario}: block ${b + 1} of ${blocks}`);
    }
    for (const row of summarizeBlocks(samples, single.label)) {
      const m = writerDelta.master;
      const extra = row.broker === group.label ? { sync, ...(m?.groups ? { writers: writerDelta, batchesPerGroup: Number((m.batches / m.groups).toFixed(2)) } : {}) } : {};
      process.stdout.write(JSON.stringify({ paired: scenario, ...row, ...extra }) + '\n');
    }
  }
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`paired: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll().then(() => process.exit()));
