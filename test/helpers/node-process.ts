import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CLI } from './broker-process.js';
import { listensOn } from './ports.js';

/**
 * One broker process started from a config file (`quorummq start --config … --log-format json`),
 * for the HA groups of the tests: started, signalled and stopped by PID, its output kept, and its
 * `/api/status` read. `S` is the status shape the caller expects.
 */
export class BrokerNodeProcess<S> {
  proc: ChildProcess | null = null;
  running = false;
  private out = '';
  private exitedPromise: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly configFile: string,
    readonly stompPort: number,
    readonly httpPort: number,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Whether this node's process listens on its STOMP port (a slave or standby must not). */
  servesClients(): boolean {
    if (this.pid === undefined || !this.running) return false;
    return listensOn(this.pid, this.stompPort);
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.stompPort}`;
  }

  output(): string {
    return this.out;
  }

  exited(): Promise<number | null> {
    return this.exitedPromise;
  }

  /** Log lines (JSON) whose `msg` matches. */
  logLines(msg: RegExp): Array<Record<string, unknown>> {
    const lines: Array<Record<string, unknown>> = [];
    for (const line of this.out.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (typeof o.msg === 'string' && msg.test(o.msg)) lines.push(o);
      } catch {
        // a partial line
      }
    }
    return lines;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const child = spawn(
      process.execPath,
      [CLI, 'start', '--config', this.configFile, '--data', path.join(this.dir, 'data'), '--http-port', String(this.httpPort), '--log-format', 'json'],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir },
    );
    this.proc = child;
    this.running = true;
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    this.exitedPromise = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.running = false;
        resolve(code);
      }),
    );
  }

  async status(timeoutMs = 1000): Promise<S | null> {
    if (!this.running) return null;
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/api/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as S;
    } catch {
      return null;
    }
  }

  /** Sends a signal by PID (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). */
  signal(sig: NodeJS.Signals): void {
    if (this.running && this.proc?.pid) process.kill(this.proc.pid, sig);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exitedPromise;
  }

  async stop(): Promise<number | null> {
    if (!this.running) return this.exitedPromise;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    return this.exitedPromise;
  }
}
