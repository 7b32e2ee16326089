import cliProgress from 'cli-progress';
import { connect, type AckMode, type StompClient } from '../client/index.js';

/** CONNECT credentials, for a broker with `<simpleAuthenticationPlugin>`. */
interface Credentials {
  login?: string;
  passcode?: string;
}

interface CommonOpts extends Credentials {
  url: string;
  destination: string;
  count: number;
  json?: boolean;
}

function progress(total: number, label: string, json: boolean | undefined): { tick(): void; stop(): void } {
  if (json || !process.stderr.isTTY) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

function report(summary: Record<string, unknown>, json: boolean | undefined): void {
  if (json) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stderr.write(Object.entries(summary).map(([k, v]) => `${k}: ${v}`).join('  ') + '\n');
}

/**
 * Connects (a `failover:` URL reconnects on its own) and reports failover on stderr, so an
 * operator watching a long produce/consume sees the switch instead of a silent pause.
 */
async function open(url: string, json: boolean | undefined, credentials: Credentials): Promise<StompClient> {
  const client = await connect(url, { login: credentials.login, passcode: credentials.passcode });
  if (!json) {
    client.on('disconnected', (e) => process.stderr.write(`\nconnection to ${e.address} lost (${e.error.message}); reconnecting\n`));
    client.on('connected', (e) => e.reconnect && process.stderr.write(`reconnected to ${e.address}\n`));
  }
  return client;
}

async function withErrors(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    process.stderr.write(`quorummq ${name}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

export function runProduce(opts: CommonOpts & { size: number; message?: string; persistent?: boolean }): Promise<void> {
  return withErrors('produce', async () => {
    const client = await open(opts.url, opts.json, opts);
    const body = opts.message ?? 'x'.repeat(opts.size);
    const headers: Record<string, string> = opts.persistent ? { persistent: 'true' } : {};
    const bar = progress(opts.count, 'produce', opts.json);
    const started = performance.now();
    // Keep a bounded window of unacknowledged sends in flight: pipelined, but never unbounded.
    const window = 64;
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < opts.count; i++) {
      const p = client.send(opts.destination, body, headers).then(() => {
        inflight.delete(p);
        bar.tick();
      });
      inflight.add(p);
      if (inflight.size >= window) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    const seconds = (performance.now() - started) / 1000;
    bar.stop();
    await client.close();
    report({ command: 'produce', destination: opts.destination, sent: opts.count, seconds: Number(seconds.toFixed(3)), perSecond: Math.round(opts.count / seconds) }, opts.json);
  });
}

export function runConsume(opts: CommonOpts & { ack: AckMode; selector?: string; timeout: number; print?: boolean }): Promise<void> {
  return withErrors('consume', async () => {
    const client = await open(opts.url, opts.json, opts);
    const sub = await client.subscribe(opts.destination, { ack: opts.ack, selector: opts.selector });
    const bar = progress(opts.count, 'consume', opts.json || opts.print);
    const started = performance.now();
    let received = 0;
    while (received < opts.count) {
      const m = await sub.next(opts.timeout);
      if (!m) break;
      received++;
      if (opts.print) process.stdout.write(m.text() + '\n');
      if (opts.ack !== 'auto') await m.ack();
      bar.tick();
    }
    const seconds = (performance.now() - started) / 1000;
    bar.stop();
    await client.close();
    report({ command: 'consume', destination: opts.destination, received, seconds: Number(seconds.toFixed(3)), perSecond: Math.round(received / Math.max(seconds, 1e-9)) }, opts.json);
    if (received < opts.count && !opts.json) process.stderr.write(`stopped after ${opts.timeout} ms without a message\n`);
  });
}

export function runBrowse(opts: Credentials & { url: string; destination: string; json?: boolean }): Promise<void> {
  return withErrors('browse', async () => {
    const client = await open(opts.url, opts.json, opts);
    const sub = await client.subscribe(opts.destination, { browse: true });
    const rows: Array<Record<string, unknown>> = [];
    for await (const m of sub) {
      rows.push({ messageId: m.messageId, priority: m.headers.priority, persistent: m.headers.persistent === 'true', bytes: m.body.length, body: m.text().slice(0, 200) });
    }
    await client.close();
    if (opts.json) process.stdout.write(JSON.stringify({ destination: opts.destination, count: rows.length, messages: rows }) + '\n');
    else {
      for (const r of rows) process.stdout.write(`${r.messageId}  prio=${r.priority}  ${r.bytes} B  ${r.body}\n`);
      process.stdout.write(`${rows.length} message(s) on ${opts.destination}\n`);
    }
  });
}
