/**
 * Real broker processes on one shared store directory, for the shared file system tests. Unlike
 * `startBroker`, a node here is ready once its HTTP status answers: a slave never logs
 * "broker started".
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { CLI } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

export interface NodeStatus {
  role: string;
  epoch?: number;
  reason?: string;
  ha: { nodeId: string; state: string; lockHolder: { nodeId: string; epoch: number } | null };
}

export interface SharedNode {
  name: string;
  pid: number;
  stompPort: number;
  httpPort: number;
  output(): string;
  /** Parsed JSON log lines with this message. */
  logs(msg: string): Array<Record<string, unknown>>;
  status(): Promise<NodeStatus>;
  waitRole(role: 'master' | 'standby', timeoutMs?: number): Promise<NodeStatus>;
  signal(sig: NodeJS.Signals): void;
  kill(): Promise<void>;
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
  exitCode(): number | null | undefined;
}

export interface SharedNodeOptions {
  name: string;
  dataDir: string;
  stompPort?: number;
  args?: string[];
  spawn?: Pick<SpawnOptions, 'uid' | 'gid'>;
  /** Resolve as soon as the process runs (for startup errors), not once it answers. */
  noWait?: boolean;
}

const nodes: SharedNode[] = [];

export async function startSharedNode(opts: SharedNodeOptions): Promise<SharedNode> {
  const stompPort = opts.stompPort ?? (await freePort());
  const httpPort = await freePort();
  const args = [CLI, 'start', '--data', opts.dataDir, '--http-port', String(httpPort), '--stomp-port', String(stompPort), '--ws-port', '0', '--openwire-port', '0', '--log-format', 'json', ...(opts.args ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts.spawn });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve((code = c))));
  const status = async (): Promise<NodeStatus> => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/status`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as NodeStatus;
  };
  const node: SharedNode = {
    name: opts.name,
    pid: child.pid!,
    stompPort,
    httpPort,
    output: () => out,
    logs: (msg) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes(`"msg":"${msg}"`))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    status,
    waitRole: (role, timeoutMs = 15_000) =>
      waitFor(`${opts.name} to be ${role}`, async () => {
        if (code !== undefined) throw new Error(`${opts.name} exited with ${code}:\n${out}`);
        const s = await status();
        return s.role === role ? s : undefined;
      }, timeoutMs, 10),
    signal: (sig) => child.kill(sig),
    kill: async () => {
      if (code === undefined) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (code === undefined) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const c = await exited;
      clearTimeout(timer);
      if (c === null) throw new Error(`${opts.name} did not stop within 15 s of SIGTERM:\n${out.split('\n').slice(-10).join('\n')}`);
      return c;
    },
    exited,
    exitCode: () => code,
  };
  nodes.push(node);
  if (!opts.noWait) {
    await waitFor(`${opts.name} to answer on HTTP`, async () => {
      if (code !== undefined) throw new Error(`${opts.name} exited with ${code}:\n${out}`);
      return status();
    }, 20_000, 20);
  }
  return node;
}

/** Kills every node these helpers started (SIGCONT first, so a stopped one can die). */
export async function killAllNodes(): Promise<void> {
  for (const n of nodes.splice(0)) {
    if (n.exitCode() === undefined) {
      n.signal('SIGCONT');
      await n.kill();
    }
  }
}

/** A failover URL over the nodes' STOMP ports, tuned to find the new master quickly. */
export function failoverUrl(ns: SharedNode[]): string {
  return `failover:(${ns.map((n) => `tcp://127.0.0.1:${n.stompPort}`).join(',')})?randomize=false&initialReconnectDelay=10&maxReconnectDelay=100&useExponentialBackOff=false&timeout=30000`;
}
