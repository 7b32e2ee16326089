/**
 * Starts QuorumMQ as a child process (`bin/quorummq.js start`) on a temp data dir, learns its
 * STOMP port from the JSON "broker started" log line, and can crash and relaunch it on the
 * same data dir and port for the recovery scenario.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, onCleanup, terminate, waitForExit } from '../processes.js';
import { OutputTail, type BenchBroker } from './types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'bin/quorummq.js');
const START_TIMEOUT_MS = 60_000;

interface Running {
  child: ChildProcess;
  exitCode: number | null | undefined;
  signal: NodeJS.Signals | null;
  output: OutputTail;
  exited: Promise<void>;
}

/**
 * The port of the first `stomp://` connector in a "broker started" JSON log line, and the
 * store kind it names; undefined if the line is not that one.
 */
export function parseStartedLine(line: string): { stompPort: number; store?: string; openwirePort?: number } | undefined {
  if (!line.includes('broker started')) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return undefined;
  }
  const { connectors, store } = entry as { connectors?: unknown; store?: unknown };
  if (!Array.isArray(connectors)) return undefined;
  const openwire = connectors.map((u) => (typeof u === 'string' ? /^tcp:\/\/[^/]*:([0-9]+)/.exec(u) : null)).find((m) => m !== null);
  for (const url of connectors) {
    const m = typeof url === 'string' ? /^stomp:\/\/[^/]*:([0-9]+)/.exec(url) : null;
    if (m) return { stompPort: Number(m[1]), ...(typeof store === 'string' ? { store } : {}), ...(openwire ? { openwirePort: Number(openwire[1]) } : {}) };
  }
  return undefined;
}

/** With `configFile`, the broker runs that XML (its connectors, on port 0, say where it listens). */
function launch(dataDir: string, stompPort: number, configFile?: string): { running: Running; started: Promise<{ stompPort: number; store?: string; openwirePort?: number }> } {
  const ports = configFile ? ['--config', configFile] : ['--stomp-port', String(stompPort), '--ws-port', '0', '--openwire-port', '0'];
  const args = [CLI, 'start', '--data', dataDir, ...ports, '--http-port', '0', '--log-format', 'json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dataDir });
  const output = new OutputTail();
  const running: Running = {
    child,
    exitCode: undefined,
    signal: null,
    output,
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.exitCode = code;
        running.signal = signal;
        resolve();
      }),
    ),
  };
  const started = new Promise<{ stompPort: number; store?: string; openwirePort?: number }>((resolve, reject) => {
    let pending = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error(`QuorumMQ did not log "broker started" within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      output.push(d);
      if (found) return;
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const p = parseStartedLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (p !== undefined) {
          found = true;
          pending = '';
          clearTimeout(timer);
          resolve(p);
          return;
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => output.push(d));
    void running.exited.then(() => {
      clearTimeout(timer);
      if (!found) reject(new Error(`QuorumMQ exited (code ${running.exitCode}, signal ${running.signal}) before it started:\n${output}`));
    });
  });
  return { running, started };
}

/**
 * A single QuorumMQ broker. `extraXml` (e.g. a <plugins> block) makes it run an activemq.xml with
 * that inside <broker>, and STOMP and OpenWire connectors on free ports, as the ActiveMQ peer does.
 */
export async function startQuorumMq(extraXml?: string): Promise<BenchBroker> {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
    throw new Error('QuorumMQ is not built (dist/cli/main.js is missing): run `npm run build` first');
  }
  const { dir: dataDir, remove: removeDataDir } = makeTempDir('qmq-bench-data-');
  let configFile: string | undefined;
  if (extraXml !== undefined) {
    configFile = path.join(dataDir, 'activemq.xml');
    writeFileSync(
      configFile,
      `<broker xmlns="http://activemq.apache.org/schema/core" brokerName="bench">${extraXml}<transportConnectors>` +
        '<transportConnector name="stomp" uri="stomp://127.0.0.1:0"/><transportConnector name="openwire" uri="tcp://127.0.0.1:0"/>' +
        '</transportConnectors></broker>',
    );
  }
  let current = launch(dataDir, 0, configFile);
  const stopCurrent = async () => {
    const pid = current.running.child.pid;
    if (pid !== undefined && current.running.exitCode === undefined) await terminate(pid);
  };
  const unregister = onCleanup('QuorumMQ broker', stopCurrent);
  const { stompPort: port, store, openwirePort } = await current.started;

  return {
    label: 'quorummq',
    host: '127.0.0.1',
    port,
    openwirePort,
    info: store === undefined ? undefined : { store },
    pid: () => current.running.child.pid,
    async crashAndRelaunch() {
      const pid = current.running.child.pid;
      if (pid !== undefined && current.running.exitCode === undefined) {
        process.kill(pid, 'SIGKILL');
        await current.running.exited;
        await waitForExit(pid, 5_000);
      }
      current = launch(dataDir, port, configFile);
      // Readiness is the caller's to measure (by connecting); a failed start still surfaces here.
      current.started.catch(() => undefined);
    },
    assertRunning() {
      const r = current.running;
      if (r.exitCode !== undefined) throw new Error(`QuorumMQ exited (code ${r.exitCode}, signal ${r.signal}):\n${r.output}`);
    },
    async stop() {
      await unregister();
      await removeDataDir();
    },
  };
}
