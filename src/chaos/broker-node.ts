/**
 * One broker of a chaos cluster: a real `quorummq start` process (optionally inside a network
 * namespace) that the fault injectors can kill, pause, resume and restart on the same data
 * directory and ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The compiled CLI: chaos runs test what ships. */
export const CLI_PATH = path.join(ROOT, 'bin/quorummq.js');

/**
 * Brokers still running when the harness exits are killed with it: an orphaned broker would keep
 * its namespace (and a half-healed cluster) alive after the run's namespaces were deleted.
 */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function guard(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
      }
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

export interface BrokerNodeSpec {
  name: string;
  dataDir: string;
  /** Address clients use (the node's own address when it runs in a namespace). */
  host: string;
  stompPort: number;
  httpPort: number;
  /** Extra `quorummq start` arguments, e.g. `--config cluster.xml`. */
  args?: string[];
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
}

export class BrokerNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private outputTail = '';
  paused = false;

  constructor(readonly spec: BrokerNodeSpec) {}

  get name(): string {
    return this.spec.name;
  }

  get stompAddress(): string {
    return `tcp://${this.spec.host}:${this.spec.stompPort}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined;
  }

  /** The last few KiB the process wrote, for failure reports. */
  output(): string {
    return this.outputTail;
  }

  /** Spawns the process; does not wait for mastership (a standby never opens client ports). */
  start(): void {
    if (this.running) return;
    if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) throw new Error('the broker is not built: run `npm run build` first');
    const s = this.spec;
    const args = [
      CLI_PATH, 'start', '--data', s.dataDir, '--host', s.host, '--http-host', s.host, '--http-port', String(s.httpPort),
      '--stomp-port', String(s.stompPort), '--ws-port', '0', '--openwire-port', '0', '--log-format', 'json', ...(s.args ?? []),
    ];
    const [cmd, argv] = s.netns ? ['ip', ['netns', 'exec', s.netns, process.execPath, ...args]] : [process.execPath, args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: s.dataDir });
    const keep = (d: Buffer) => {
      this.outputTail = (this.outputTail + d.toString('utf8')).slice(-262_144);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    guard(child);
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** `kill -9`, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
    this.paused = false;
  }

  /** SIGTERM (a clean stop); a paused process is resumed first so it can act on it. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    if (this.paused) this.resume();
    const grace = new Promise<'timeout'>((r) => setTimeout(r, 10_000, 'timeout').unref());
    if ((await Promise.race([this.exited, grace])) === 'timeout') await this.kill();
  }

  pause(): void {
    if (!this.running || this.paused) return;
    this.child!.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.running || !this.paused) return;
    this.child!.kill('SIGCONT');
    this.paused = false;
  }

  /** True when `/readyz` says this node is the master and serving. */
  async isMaster(timeoutMs = 1000): Promise<boolean> {
    if (!this.running || this.paused) return false;
    try {
      const res = await fetch(`http://${this.spec.host}:${this.spec.httpPort}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** The node's `/api/status`, or undefined when it does not answer. */
  async status(timeoutMs = 1000): Promise<Record<string, unknown> | undefined> {
    if (!this.running || this.paused) return undefined;
    try {
      const res = await fetch(`http://${this.spec.host}:${this.spec.httpPort}/api/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /** Resolves once the process has exited on its own or been stopped. */
  waitExit(): Promise<void> {
    return this.exited;
  }
}
