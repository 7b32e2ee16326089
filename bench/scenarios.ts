/**
 * The benchmark scenarios of issue 3 §6. Each runs against one broker and returns the figures
 * of one output line. Every scenario uses a queue of its own and leaves it empty (draining is
 * not timed), so scenarios do not disturb each other; the backlog is the exception, kept for
 * `recovery`.
 */
import { getHeader, type StompFrame } from '../src/protocol/stomp/frame.js';
import type { BenchCounts, ScenarioName } from './args.js';
import type { BenchBroker } from './brokers/types.js';
import { canConnect, readRss, sleep } from './processes.js';
import { msSince, ratePerSec, summarizeLatencies } from './stats.js';
import { BenchStompClient, type AckMode } from './stomp-client.js';

export type Figures = Record<string, number | number[] | string | boolean | null>;

/** What one broker keeps between scenarios. */
export interface BrokerState {
  backlog?: { destination: string; messages: number };
}

export interface ScenarioContext {
  broker: BenchBroker;
  counts: BenchCounts;
  body: Buffer;
  /** Makes queue names unique to this run, so leftovers of an aborted run never count. */
  runTag: string;
  state: BrokerState;
  log(msg: string): void;
}

/** Thrown when a scenario cannot run against this broker; the line says why instead of figures. */
export class ScenarioSkipped extends Error {}

/** Longest silence while waiting for messages before a scenario gives up. */
const STALL_TIMEOUT_MS = 60_000;
/** Frames written per corked batch by pipelined producers. */
const PIPELINE_BATCH = 64;
const LATENCY_HEADER = 'bench-sent-ns';

function connect(ctx: ScenarioContext, timeoutMs?: number): Promise<BenchStompClient> {
  const b = ctx.broker;
  return BenchStompClient.connect({ host: b.host, port: b.port, login: b.login, passcode: b.passcode, timeoutMs });
}

export function queueFor(ctx: ScenarioContext, scenario: string): string {
  return `/queue/bench.${scenario}.${ctx.runTag}`;
}

/** Persistent sends, one at a time, each waiting for its RECEIPT; returns each round trip in ms. */
async function sendReceipted(client: BenchStompClient, destination: string, body: Buffer, count: number): Promise<number[]> {
  const latenciesMs = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await client.sendWithReceipt(destination, body);
    latenciesMs[i] = msSince(t0);
  }
  return latenciesMs;
}

/**
 * Persistent sends written back to back, honouring socket backpressure, with a receipt on the
 * last one (and every `receiptEvery`, keeping at most `maxOutstanding` unanswered, so a broker
 * that applies producer flow control through its receipts is not flooded).
 */
async function sendPipelined(client: BenchStompClient, destination: string, body: Buffer, count: number, receiptEvery = 0, maxOutstanding = 4): Promise<void> {
  const plain = BenchStompClient.encodeSend(destination, body);
  const outstanding: Array<Promise<void>> = [];
  let i = 0;
  while (i < count) {
    const end = Math.min(count, i + PIPELINE_BATCH);
    let flowing = true;
    client.cork();
    for (; i < end; i++) {
      const wantsReceipt = i === count - 1 || (receiptEvery > 0 && (i + 1) % receiptEvery === 0);
      if (wantsReceipt) {
        const r = client.expectReceipt();
        r.done.catch(() => undefined); // awaited below; this only stops an early rejection counting as unhandled
        outstanding.push(r.done);
        flowing = client.write(BenchStompClient.encodeSend(destination, body, [['receipt', r.id]]));
      } else {
        flowing = client.write(plain);
      }
    }
    client.uncork();
    if (!flowing) await client.drained();
    while (outstanding.length > maxOutstanding) await outstanding.shift();
  }
  await Promise.all(outstanding);
}

/**
 * Resolves once `expected()` messages have arrived; rejects if the connection fails or no
 * message arrives for STALL_TIMEOUT_MS.
 */
function untilReceived(client: BenchStompClient, progress: () => number, expected: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let last = progress();
    let lastChangeMs = Date.now();
    const timer = setInterval(() => {
      const now = progress();
      if (now >= expected) {
        clearInterval(timer);
        resolve();
      } else if (now !== last) {
        last = now;
        lastChangeMs = Date.now();
      } else if (Date.now() - lastChangeMs > STALL_TIMEOUT_MS) {
        clearInterval(timer);
        reject(new Error(`${what}: stalled at ${now} of ${expected} messages for ${STALL_TIMEOUT_MS} ms`));
      }
    }, 2);
    client.failed.catch((e: Error) => {
      clearInterval(timer);
      reject(e);
    });
  });
}

/** Consumes `count` messages; timed from SUBSCRIBE to the DISCONNECT receipt, so every ACK was processed. */
async function consume(ctx: ScenarioContext, destination: string, count: number, ack: AckMode): Promise<number> {
  const client = await connect(ctx);
  try {
    let received = 0;
    const onMessage = (frame: StompFrame) => {
      received++;
      if (ack !== 'auto') client.ack(frame);
    };
    const t0 = process.hrtime.bigint();
    await client.subscribe(destination, ack, onMessage);
    await untilReceived(client, () => received, count, `consuming ${destination}`);
    await client.disconnect();
    return msSince(t0);
  } finally {
    client.destroy();
  }
}

/** Empties a queue the scenario filled (not timed). */
export async function drain(ctx: ScenarioContext, destination: string, count: number): Promise<void> {
  await consume(ctx, destination, count, 'auto');
}

function withRss(ctx: ScenarioContext, figures: Figures): Figures {
  const pid = ctx.broker.pid();
  const rss = pid === undefined ? undefined : readRss(pid);
  return { ...figures, rssMB: rss ? Math.round(rss.rssMB) : null };
}

/** A few untimed sends and receives, so the JVM has compiled its hot paths before anything is measured. */
export async function warmUp(ctx: ScenarioContext): Promise<void> {
  const n = ctx.counts.warmupMessages;
  const dest = queueFor(ctx, 'warmup');
  const client = await connect(ctx);
  try {
    await sendReceipted(client, dest, ctx.body, Math.ceil(n / 4));
    await sendPipelined(client, dest, ctx.body, n);
  } finally {
    await client.disconnect().catch(() => client.destroy());
  }
  if (ctx.broker.label !== 'ceiling') await consume(ctx, dest, Math.ceil(n / 4) + n, 'client-individual');
}

async function receipted1p(ctx: ScenarioContext): Promise<Figures> {
  const n = ctx.counts.receiptedMessages;
  const dest = queueFor(ctx, 'receipted-1p');
  const client = await connect(ctx);
  const t0 = process.hrtime.bigint();
  const latencies = await sendReceipted(client, dest, ctx.body, n);
  const elapsedMs = msSince(t0);
  await client.disconnect();
  const figures = withRss(ctx, { messages: n, perSec: ratePerSec(n, elapsedMs), ...pickLatency(latencies) });
  if (ctx.broker.label !== 'ceiling') await drain(ctx, dest, n);
  return figures;
}

function pickLatency(samplesMs: number[]): Figures {
  const s = summarizeLatencies(samplesMs);
  return { p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxMs };
}

async function pipelined1p(ctx: ScenarioContext): Promise<Figures> {
  const n = ctx.counts.pipelinedMessages;
  const dest = queueFor(ctx, 'pipelined-1p');
  const client = await connect(ctx);
  const t0 = process.hrtime.bigint();
  await sendPipelined(client, dest, ctx.body, n);
  const elapsedMs = msSince(t0);
  await client.disconnect();
  const figures = withRss(ctx, { messages: n, perSec: ratePerSec(n, elapsedMs) });
  await drain(ctx, dest, n);
  return figures;
}

async function concurrent16p(ctx: ScenarioContext): Promise<Figures> {
  const producers = ctx.counts.concurrentProducers;
  const perProducer = Math.max(1, Math.floor(ctx.counts.concurrentMessages / producers));
  const n = perProducer * producers;
  const dest = queueFor(ctx, 'concurrent-16p');
  const clients = await Promise.all(Array.from({ length: producers }, () => connect(ctx)));
  try {
    const t0 = process.hrtime.bigint();
    const latencies = (await Promise.all(clients.map((c) => sendReceipted(c, dest, ctx.body, perProducer)))).flat();
    const elapsedMs = msSince(t0);
    await Promise.all(clients.map((c) => c.disconnect()));
    const figures = withRss(ctx, { messages: n, producers, perSec: ratePerSec(n, elapsedMs), ...pickLatency(latencies) });
    await drain(ctx, dest, n);
    return figures;
  } finally {
    for (const c of clients) c.destroy();
  }
}

async function consumeCi(ctx: ScenarioContext): Promise<Figures> {
  const n = ctx.counts.consumeMessages;
  const dest = queueFor(ctx, 'consume-ci');
  const producer = await connect(ctx);
  await sendPipelined(producer, dest, ctx.body, n, 1000);
  await producer.disconnect();
  const elapsedMs = await consume(ctx, dest, n, 'client-individual');
  return withRss(ctx, { messages: n, perSec: ratePerSec(n, elapsedMs) });
}

async function latency(ctx: ScenarioContext): Promise<Figures> {
  const rate = ctx.counts.latencyRatePerSec;
  const total = Math.max(1, Math.round((rate * ctx.counts.latencyDurationMs) / 1000));
  const dest = queueFor(ctx, 'latency');
  const consumer = await connect(ctx);
  const producer = await connect(ctx);
  try {
    const samplesMs: number[] = [];
    await consumer.subscribe(dest, 'client-individual', (frame) => {
      const sent = getHeader(frame, LATENCY_HEADER);
      if (sent !== undefined) samplesMs.push(Number(process.hrtime.bigint() - BigInt(sent)) / 1e6);
      consumer.ack(frame);
    });
    const t0 = process.hrtime.bigint();
    let sent = 0;
    await new Promise<void>((resolve, reject) => {
      // Sends whatever is due by now, so a late timer catches up instead of lowering the rate.
      const tick = () => {
        try {
          const due = Math.min(total, Math.floor((msSince(t0) * rate) / 1000) + 1);
          while (sent < due) {
            producer.write(BenchStompClient.encodeSend(dest, ctx.body, [[LATENCY_HEADER, String(process.hrtime.bigint())]]));
            sent++;
          }
        } catch (e) {
          reject(e);
          return;
        }
        if (sent >= total) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    const sendMs = msSince(t0);
    await untilReceived(consumer, () => samplesMs.length, total, `latency consumer on ${dest}`);
    await producer.disconnect();
    await consumer.disconnect();
    const s = summarizeLatencies(samplesMs);
    return withRss(ctx, { messages: total, ratePerSec: rate, perSec: ratePerSec(total, sendMs), p50Ms: s.p50Ms, p90Ms: s.p90Ms, p99Ms: s.p99Ms, maxMs: s.maxMs });
  } finally {
    producer.destroy();
    consumer.destroy();
  }
}

/** Fills the backlog queue; returns the fill rate. */
async function fillBacklog(ctx: ScenarioContext): Promise<{ messages: number; perSec: number }> {
  const n = ctx.counts.backlogMessages;
  const dest = queueFor(ctx, 'backlog');
  const client = await connect(ctx);
  const t0 = process.hrtime.bigint();
  ctx.log(`${ctx.broker.label}: filling a backlog of ${n} messages`);
  await sendPipelined(client, dest, ctx.body, n, 1000);
  const elapsedMs = msSince(t0);
  await client.disconnect();
  ctx.state.backlog = { destination: dest, messages: n };
  return { messages: n, perSec: ratePerSec(n, elapsedMs) };
}

async function backlogRss(ctx: ScenarioContext): Promise<Figures> {
  const pid = ctx.broker.pid();
  if (pid === undefined) throw new ScenarioSkipped('the bench does not know this broker\'s PID (pass --pid)');
  const fill = await fillBacklog(ctx);
  const rss = readRss(pid);
  if (!rss) throw new Error(`cannot read /proc/${pid}/status`);
  return { messages: fill.messages, perSec: fill.perSec, rssMB: Math.round(rss.rssMB), rssPeakMB: Math.round(rss.rssPeakMB) };
}

async function recovery(ctx: ScenarioContext): Promise<Figures> {
  const b = ctx.broker;
  if (!b.crashAndRelaunch) throw new ScenarioSkipped('only brokers the bench started can be killed and restarted');
  if (!ctx.state.backlog) await fillBacklog(ctx);
  const backlog = ctx.state.backlog!;
  ctx.log(`${b.label}: kill -9 with a backlog of ${backlog.messages} messages, then restart`);
  await b.crashAndRelaunch();
  const t0 = process.hrtime.bigint();
  const deadlineMs = Date.now() + 300_000;
  let client: BenchStompClient | undefined;
  while (!client) {
    b.assertRunning();
    if (Date.now() > deadlineMs) throw new Error('the broker did not accept a STOMP connection within 300 s of its restart');
    if (!(await canConnect(b.host, b.port, 1000))) {
      await sleep(20);
      continue;
    }
    client = await connect(ctx, 5_000).catch(() => undefined);
    if (!client) await sleep(20);
  }
  const acceptMs = msSince(t0);
  try {
    let got = 0;
    await client.subscribe(backlog.destination, 'client-individual', () => {
      got++;
    }, 1);
    await untilReceived(client, () => got, 1, `first message of the backlog on ${backlog.destination}`);
    const recoveryMs = msSince(t0);
    return withRss(ctx, { messages: backlog.messages, acceptMs, recoveryMs });
  } finally {
    client.destroy();
  }
}

/** The single-broker scenarios; `failover` (bench/failover.ts) needs a replicated group. */
export const SCENARIOS: Record<Exclude<ScenarioName, 'ceiling' | 'failover'>, (ctx: ScenarioContext) => Promise<Figures>> = {
  'receipted-1p': receipted1p,
  'pipelined-1p': pipelined1p,
  'concurrent-16p': concurrent16p,
  'consume-ci': consumeCi,
  latency,
  'backlog-rss': backlogRss,
  recovery,
};

/** The ceiling probe's figures are receipted-1p against the bare listener. */
export const runCeilingScenario = receipted1p;
