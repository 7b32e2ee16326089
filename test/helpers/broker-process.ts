import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/quorummq.js');

export interface BrokerProcess {
  pid: number;
  stompPort: number;
  wsPort: number;
  /** OpenWire (`tcp://`) port. */
  openwirePort: number;
  /** MQTT port, when the config has an `mqtt://` connector (else 0). */
  mqttPort: number;
  httpPort: number;
  dataDir: string;
  /** Everything the process wrote, for assertions and for failure messages. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash) and wait for exit. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartBrokerOptions {
  dataDir?: string;
  args?: string[];
  /** Reuse ports (restart on the same address). */
  stompPort?: number;
  wsPort?: number;
  openwirePort?: number;
  keepData?: boolean;
}

/** Temp dirs made by these helpers; removed by `cleanupTemp`. */
const temps: string[] = [];

export function tempDir(prefix = 'qmq-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

export function cleanupTemp(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Starts `quorummq start` as a real process and waits until it reports its bound ports. */
export async function startBroker(opts: StartBrokerOptions = {}): Promise<BrokerProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const httpPort = await freePort();
  const args = [
    CLI, 'start', '--data', dataDir, '--http-port', String(httpPort),
    '--stomp-port', String(opts.stompPort ?? 0), '--ws-port', String(opts.wsPort ?? 0), '--openwire-port', String(opts.openwirePort ?? 0), '--log-format', 'json',
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dataDir });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  const started = await waitFor(
    'the broker to start',
    () => {
      if (exitCode !== undefined) throw new Error(`broker exited with ${exitCode}:\n${out}`);
      for (const line of out.split('\n')) {
        if (!line.includes('"broker started"')) continue;
        return JSON.parse(line) as { connectors: string[] };
      }
      return undefined;
    },
    20_000,
  ).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  const portOf = (scheme: string) => {
    const url = started.connectors.find((u) => u.startsWith(scheme + '://'));
    return url ? Number(new URL(url.replace(/^[a-z+]+:/, 'http:')).port) : 0;
  };
  return {
    pid: child.pid!,
    stompPort: portOf('stomp'),
    wsPort: portOf('ws'),
    openwirePort: portOf('tcp'),
    mqttPort: portOf('mqtt'),
    httpPort,
    dataDir,
    output: () => out,
    exited,
    stop: async () => {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (exitCode === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Writes `xml` as `<dataDir>/activemq.xml` and starts a broker from it (ports come from its connectors). */
export async function startBrokerWithConfig(xml: string, dataDir: string = tempDir()): Promise<BrokerProcess> {
  const file = path.join(dataDir, 'activemq.xml');
  writeFileSync(file, xml);
  return startBroker({ dataDir, args: ['--config', file] });
}

/** Runs the CLI to completion and returns its output. */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`quorummq ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
