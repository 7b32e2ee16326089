/**
 * Command-line flags of `npm run bench`, parsed into one typed options object. Pure: no I/O,
 * so the rules (defaults, quick-mode counts, validation) are unit-tested.
 */

/** Every scenario, in the order a run executes them whatever order `--scenarios` names them in. */
export const SCENARIO_NAMES = [
  'ceiling',
  'receipted-1p',
  'pipelined-1p',
  'concurrent-16p',
  'consume-ci',
  'latency',
  'backlog-rss',
  'recovery',
  'failover',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export type PeerName = 'activemq';

/**
 * Subsets for `--only`: `single` is issue 3's single-broker set; `replicated` is what issue 5's
 * targets need: the single-node baselines and the 3-node group's receipted, 16-producer and
 * failover figures, all from the same run.
 */
export const ONLY_GROUPS = {
  single: SCENARIO_NAMES.filter((s) => s !== 'failover'),
  replicated: ['receipted-1p', 'concurrent-16p', 'failover'],
} as const satisfies Record<string, readonly ScenarioName[]>;

export type OnlyGroup = keyof typeof ONLY_GROUPS;

export interface BenchCounts {
  receiptedMessages: number;
  pipelinedMessages: number;
  /** Total over all 16 producers. */
  concurrentMessages: number;
  concurrentProducers: number;
  consumeMessages: number;
  latencyRatePerSec: number;
  latencyDurationMs: number;
  backlogMessages: number;
  warmupMessages: number;
  /** kill -9 trials of the replicated master in the `failover` scenario. */
  failoverTrials: number;
}

export interface BenchOptions {
  /** A STOMP broker to measure instead of starting QuorumMQ; `undefined` means start QuorumMQ. */
  url: { host: string; port: number; label: string } | undefined;
  /** The PID of the `--url` broker, so its RSS can be read. */
  urlPid: number | undefined;
  peer: PeerName | undefined;
  /**
   * Also start a 3-node replicated group (private ZooKeeper ensemble, `sync="quorum_disk"`) and
   * run it in the scenarios it takes part in (REPLICATED_SCENARIOS), beside the single node.
   */
  replicated: boolean;
  scenarios: ScenarioName[];
  quick: boolean;
  sizeBytes: number;
  counts: BenchCounts;
  /** Times each short scenario runs per broker (alternating broker order); the median is reported. */
  rounds: number;
  login: string | undefined;
  passcode: string | undefined;
  help: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `usage: npm run bench -- [options]

  --url tcp://HOST:PORT   measure this STOMP broker (default: start QuorumMQ from bin/quorummq.js)
  --pid N                 PID of the --url broker, so its RSS can be reported
  --peer activemq         also start ActiveMQ 5.17 (Debian package) and print quorummq/activemq ratios
  --scenarios a,b,c       any of: ${SCENARIO_NAMES.join(', ')} (default: all)
  --only GROUP            single (issue 3's scenarios, no replicated group) or replicated
                          (${ONLY_GROUPS.replicated.join(', ')}: single node and 3-node group)
  --no-replicated         do not start the 3-node replicated group (default without --url: start it)
  --failover-trials N     kill -9 trials of the replicated master (default 5, quick 3)
  --quick                 small counts, for a smoke run
  --messages N            messages per throughput scenario (receipted, pipelined, 16 producers, consume)
  --size BYTES            body size (default 1024)
  --backlog N             messages in the backlog-rss/recovery backlog (default 1000000, quick 20000)
  --rate N                latency scenario send rate per second (default 1000)
  --duration-ms N         latency scenario duration (default 10000, quick 2000)
  --rounds N              run each short scenario N times per broker, report the median (default 3, quick 1)
  --login U --passcode P  credentials for --url brokers
  --help
Output: one JSON line per scenario and broker; with --peer also ratio lines and a summary line.`;

const FULL_COUNTS: BenchCounts = {
  receiptedMessages: 5_000,
  pipelinedMessages: 50_000,
  concurrentMessages: 32_000,
  concurrentProducers: 16,
  consumeMessages: 50_000,
  latencyRatePerSec: 1_000,
  latencyDurationMs: 10_000,
  backlogMessages: 1_000_000,
  warmupMessages: 2_000,
  failoverTrials: 5,
};

/** `--quick` counts; also the base of `bench/paired.ts`'s short blocks. */
export const QUICK_COUNTS: BenchCounts = {
  receiptedMessages: 300,
  pipelinedMessages: 3_000,
  concurrentMessages: 1_600,
  concurrentProducers: 16,
  consumeMessages: 3_000,
  latencyRatePerSec: 1_000,
  latencyDurationMs: 2_000,
  backlogMessages: 20_000,
  warmupMessages: 300,
  failoverTrials: 3,
};

function positiveInt(flag: string, text: string | undefined): number {
  if (text === undefined) throw new UsageError(`${flag} needs a value`);
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Accepts `tcp://host:port` and `stomp://host:port` (the scheme QuorumMQ logs its connectors with). */
export function parseBrokerUrl(text: string): { host: string; port: number; label: string } {
  const m = /^(tcp|stomp):\/\/(\[[^\]]+\]|[^:/?#]+):([0-9]{1,5})\/?$/.exec(text);
  if (!m) throw new UsageError(`--url must look like tcp://host:port, got ${JSON.stringify(text)}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new UsageError(`--url port must be 1-65535, got ${port}`);
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  return { host, port, label: text };
}

export function parseScenarios(text: string): ScenarioName[] {
  const wanted = new Set<string>();
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`unknown scenario ${JSON.stringify(name)}; known: ${SCENARIO_NAMES.join(', ')}`);
    }
    wanted.add(name);
  }
  if (wanted.size === 0) throw new UsageError('--scenarios names no scenario');
  return SCENARIO_NAMES.filter((s) => wanted.has(s));
}

/** `argv` is what follows the script name (process.argv.slice(2)). */
export function parseArgs(argv: readonly string[]): BenchOptions {
  let url: BenchOptions['url'];
  let urlPid: number | undefined;
  let peer: PeerName | undefined;
  let scenarios: ScenarioName[] | undefined;
  let only: OnlyGroup | undefined;
  let noReplicated = false;
  let failoverTrials: number | undefined;
  let quick = false;
  let help = false;
  let sizeBytes = 1024;
  let messages: number | undefined;
  let backlog: number | undefined;
  let rate: number | undefined;
  let durationMs: number | undefined;
  let rounds: number | undefined;
  let login: string | undefined;
  let passcode: string | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // Both `--flag value` and `--flag=value`.
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string | undefined => (eq === -1 ? argv[++i] : arg.slice(eq + 1));
    switch (flag) {
      case '--url': {
        const v = value();
        if (v === undefined) throw new UsageError('--url needs a value');
        url = parseBrokerUrl(v);
        break;
      }
      case '--pid':
        urlPid = positiveInt(flag, value());
        break;
      case '--peer': {
        const v = value();
        if (v !== 'activemq') throw new UsageError(`--peer supports only "activemq", got ${JSON.stringify(v)}`);
        peer = v;
        break;
      }
      case '--scenarios': {
        const v = value();
        if (v === undefined) throw new UsageError('--scenarios needs a value');
        scenarios = parseScenarios(v);
        break;
      }
      case '--only': {
        const v = value();
        if (v === undefined || !Object.hasOwn(ONLY_GROUPS, v)) {
          throw new UsageError(`--only takes one of ${Object.keys(ONLY_GROUPS).join(', ')}, got ${JSON.stringify(v)}`);
        }
        only = v as OnlyGroup;
        break;
      }
      case '--no-replicated':
        noReplicated = true;
        break;
      case '--failover-trials':
        failoverTrials = positiveInt(flag, value());
        break;
      case '--quick':
        quick = true;
        break;
      case '--messages':
        messages = positiveInt(flag, value());
        break;
      case '--size':
        sizeBytes = positiveInt(flag, value());
        break;
      case '--backlog':
        backlog = positiveInt(flag, value());
        break;
      case '--rate':
        rate = positiveInt(flag, value());
        break;
      case '--duration-ms':
        durationMs = positiveInt(flag, value());
        break;
      case '--rounds':
        rounds = positiveInt(flag, value());
        break;
      case '--login':
        login = value();
        break;
      case '--passcode':
        passcode = value();
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (urlPid !== undefined && url === undefined) throw new UsageError('--pid only makes sense with --url');
  if (only !== undefined && scenarios !== undefined) throw new UsageError('--only and --scenarios choose the same thing; give one of them');
  if (only === 'replicated' && noReplicated) throw new UsageError('--only replicated contradicts --no-replicated');
  // The group is always QuorumMQ: its ratios against a --url broker would compare two products.
  if (only === 'replicated' && url !== undefined) throw new UsageError('--only replicated compares QuorumMQ with itself; it cannot be used with --url');
  const chosen: ScenarioName[] = only !== undefined ? SCENARIO_NAMES.filter((s) => (ONLY_GROUPS[only] as readonly string[]).includes(s)) : (scenarios ?? [...SCENARIO_NAMES]);
  const replicated = only === 'replicated' || (only === undefined && !noReplicated && url === undefined);
  if (!replicated && scenarios?.includes('failover')) {
    throw new UsageError(url !== undefined ? 'the failover scenario needs the replicated group, which is not started with --url' : 'the failover scenario needs the replicated group (drop --no-replicated)');
  }
  // Without the group there is nobody to run `failover` on.
  const finalScenarios = replicated ? chosen : chosen.filter((s) => s !== 'failover');
  if (finalScenarios.length === 0) throw new UsageError('no scenario left to run');

  const counts: BenchCounts = { ...(quick ? QUICK_COUNTS : FULL_COUNTS) };
  if (messages !== undefined) {
    counts.receiptedMessages = messages;
    counts.pipelinedMessages = messages;
    counts.consumeMessages = messages;
    // Every producer sends at least one message.
    counts.concurrentMessages = Math.max(messages, counts.concurrentProducers);
  }
  if (backlog !== undefined) counts.backlogMessages = backlog;
  if (rate !== undefined) counts.latencyRatePerSec = rate;
  if (durationMs !== undefined) counts.latencyDurationMs = durationMs;
  if (failoverTrials !== undefined) counts.failoverTrials = failoverTrials;

  return { url, urlPid, peer, replicated, scenarios: finalScenarios, quick, sizeBytes, counts, rounds: rounds ?? (quick ? 1 : 3), login, passcode, help };
}
