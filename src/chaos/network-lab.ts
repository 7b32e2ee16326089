/**
 * Network partitions for real: each broker runs in a network namespace of its own, joined to
 * the host by a veth pair, and the host routes between them. A cut is an nftables drop rule
 * inside the namespaces (blackhole routes when nft is missing). Everything is torn down at
 * `destroy()`, at process exit, and, for namespaces left by a killed run, at the next `create()`.
 *
 * Several labs may live at once (the test runner runs two test files at a time, and a chaos run
 * may be going by hand), and routing between namespaces needs the host's one `ip_forward`
 * switch: the value from before the first lab is kept in a file, and only the last lab to go
 * puts it back. A lab that put it back while another still ran cut that one's brokers off from
 * each other, but not from ZooKeeper (the host), which looked like a broker partition nobody
 * planned. Setting up and tearing down hold a lock, so they never interleave across processes.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tryLock } from 'fs-native-extensions';

const PREFIX = 'qmqc';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
/** On tmpfs, so it goes at a reboot, as the ip_forward value it records does. */
const STATE_DIR = '/run/qmqchaos';
const SAVED_FORWARD = `${STATE_DIR}/ip_forward.saved`;
const LOCK_FILE = `${STATE_DIR}/lock`;
const LOCK_WAIT_MS = 30_000;

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // Best effort during teardown: the thing may already be gone.
  }
}

function hasCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (existsSync(`${dir}/${cmd}`)) return true;
  }
  return false;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The namespaces labs made (`qmqc<pid>x<i>`), with the PID of the process that made each. */
function labNamespaces(): { name: string; pid: number }[] {
  let list = '';
  try {
    list = run('ip', ['netns', 'list']);
  } catch {
    return [];
  }
  const out: { name: string; pid: number }[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}(\\d+)x\\d+$`).exec(name);
    if (m) out.push({ name, pid: Number(m[1]) });
  }
  return out;
}

/** PIDs of other live processes that have namespaces of a lab. */
function otherLiveLabs(): number[] {
  return [...new Set(labNamespaces().filter((n) => n.pid !== process.pid && pidAlive(n.pid)).map((n) => n.pid))];
}

/** Runs `fn` holding the labs' lock (an OFD lock: the kernel drops it if this process dies). */
function withLabLock<T>(fn: () => T): T {
  mkdirSync(STATE_DIR, { recursive: true });
  const fd = openSync(LOCK_FILE, 'a+');
  try {
    const deadline = Date.now() + LOCK_WAIT_MS;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!tryLock(fd)) {
      if (Date.now() > deadline) throw new Error(`another process has held ${LOCK_FILE} for ${LOCK_WAIT_MS} ms (setting up or tearing down its network namespaces)`);
      Atomics.wait(nap, 0, 0, 20);
    }
    return fn();
  } finally {
    closeSync(fd);
  }
}

/** 10.<n>.0.0/16 not used by any address on the host, starting from one that depends on our PID. */
function freeSubnet(): number {
  const used = new Set<number>();
  for (const m of run('ip', ['-o', '-4', 'addr', 'show']).matchAll(/inet 10\.(\d+)\./g)) used.add(Number(m[1]));
  for (let k = 0; k < 100; k++) {
    const n = 100 + ((process.pid + k) % 100);
    if (!used.has(n)) return n;
  }
  throw new Error('no free 10.100-199.0.0/16 subnet on this host for network namespaces');
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function networkLabUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network partitions need root (ip netns, veth, nftables)';
  if (!hasCommand('ip')) return 'network partitions need iproute2 (`ip`)';
  const probe = `${PREFIX}probe${process.pid}`;
  try {
    run('ip', ['netns', 'add', probe]);
  } catch (e) {
    return `cannot create network namespaces here: ${(e as Error).message}`;
  } finally {
    tryRun('ip', ['netns', 'del', probe]);
  }
  return undefined;
}

/** Deletes namespaces left behind by chaos runs whose process is gone. */
export function removeStaleNamespaces(): string[] {
  const stale = labNamespaces().filter((n) => !pidAlive(n.pid));
  for (const n of stale) tryRun('ip', ['netns', 'del', n.name]);
  return stale.map((n) => n.name);
}

export class NetworkLab {
  private destroyed = false;
  private readonly cuts = new Set<string>();
  private readonly useNft = hasCommand('nft');
  private usedIptables = false;
  private readonly exitHook = () => this.destroy();

  private constructor(
    readonly size: number,
    /** 10.<subnet>.<i>.0/24 per namespace. */
    private readonly subnet: number,
  ) {}

  /** Creates `size` namespaces, each reachable from the host and from each other. */
  static create(size: number): NetworkLab {
    const why = networkLabUnavailable();
    if (why) throw new Error(why);
    let lab: NetworkLab | undefined;
    try {
      withLabLock(() => {
        removeStaleNamespaces();
        lab = new NetworkLab(size, freeSubnet());
        process.once('exit', lab.exitHook);
        // The host routes between the namespaces. The value before the first lab is kept
        // (a file left by a killed run still holds it: that run found it and set 1).
        if (existsSync(IP_FORWARD)) {
          const now = readFileSync(IP_FORWARD, 'utf8').trim();
          if (!existsSync(SAVED_FORWARD)) writeFileSync(SAVED_FORWARD, now);
          if (now !== '1') writeFileSync(IP_FORWARD, '1');
        }
        for (let i = 0; i < size; i++) lab.createOne(i);
      });
    } catch (e) {
      lab?.destroy();
      throw e;
    }
    return lab!;
  }

  netns(i: number): string {
    return `${PREFIX}${process.pid}x${i}`;
  }

  /** The address a node in namespace `i` listens on. */
  nodeAddress(i: number): string {
    return `10.${this.subnet}.${i}.2`;
  }

  /** The host's end of namespace `i`'s link: what the node reaches host services through. */
  hostAddress(i: number): string {
    return `10.${this.subnet}.${i}.1`;
  }

  private hostVeth(i: number): string {
    return `${PREFIX}${process.pid % 100000}h${i}`;
  }

  private createOne(i: number): void {
    const ns = this.netns(i);
    const host = this.hostVeth(i);
    const inner = `${PREFIX}${process.pid % 100000}n${i}`;
    run('ip', ['netns', 'add', ns]);
    run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', inner]);
    run('ip', ['link', 'set', inner, 'netns', ns]);
    run('ip', ['addr', 'add', `${this.hostAddress(i)}/24`, 'dev', host]);
    run('ip', ['link', 'set', host, 'up']);
    const inNs = (args: string[]) => run('ip', ['netns', 'exec', ns, 'ip', ...args]);
    inNs(['link', 'set', 'lo', 'up']);
    inNs(['addr', 'add', `${this.nodeAddress(i)}/24`, 'dev', inner]);
    inNs(['link', 'set', inner, 'up']);
    inNs(['route', 'add', 'default', 'via', this.hostAddress(i)]);
  }

  /** Drops all traffic between namespaces `a` and `b`, both ways. */
  cut(a: number, b: number): void {
    if (a === b) return;
    for (const [from, to] of [[a, b], [b, a]] as const) this.drop(from, `10.${this.subnet}.${to}.0/24`);
    this.cuts.add(`${a}-${b}`);
  }

  /** Cuts namespace `i` off from every other namespace and from the host (clients, ZooKeeper, the database). */
  isolate(i: number): void {
    this.drop(i, '0.0.0.0/0');
  }

  /** Splits the namespaces into two sides that cannot reach each other. */
  split(sideA: number[], sideB: number[]): void {
    for (const a of sideA) for (const b of sideB) this.cut(a, b);
  }

  /**
   * Drops namespace `i`'s TCP traffic to these ports on its host address (the forwarders to
   * ZooKeeper and PostgreSQL), leaving clients that reach the node from the host untouched.
   */
  cutPorts(i: number, hostPorts: readonly number[]): void {
    if (hostPorts.length === 0) return;
    const ns = this.netns(i);
    const host = this.hostAddress(i);
    if (this.useNft) {
      const set = `{ ${hostPorts.join(', ')} }`;
      run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], [
        ...this.nftTable(),
        `add rule inet qmqchaos output ip daddr ${host} tcp dport ${set} drop`,
        `add rule inet qmqchaos input ip saddr ${host} tcp sport ${set} drop`,
      ].join('\n') + '\n');
    } else if (hasCommand('iptables')) {
      const ports = hostPorts.join(',');
      run('ip', ['netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-d', host, '-p', 'tcp', '-m', 'multiport', '--dports', ports, '-j', 'DROP']);
      run('ip', ['netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-s', host, '-p', 'tcp', '-m', 'multiport', '--sports', ports, '-j', 'DROP']);
      this.usedIptables = true;
    } else {
      throw new Error('cutting single ports needs nft or iptables');
    }
  }

  /** Our own table: removing it heals exactly what we added and nothing else. */
  private nftTable(): string[] {
    return [
      'table inet qmqchaos {',
      '  chain input { type filter hook input priority 0; policy accept; }',
      '  chain output { type filter hook output priority 0; policy accept; }',
      '}',
    ];
  }

  private drop(i: number, peer: string): void {
    const ns = this.netns(i);
    if (this.useNft) {
      // The namespace's own loopback is never cut: a node keeps talking to itself.
      const rules = [
        ...this.nftTable(),
        `add rule inet qmqchaos input iifname != "lo" ip saddr ${peer} drop`,
        `add rule inet qmqchaos output oifname != "lo" ip daddr ${peer} drop`,
      ].join('\n');
      run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], rules + '\n');
    } else if (peer === '0.0.0.0/0') {
      run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', `${PREFIX}${process.pid % 100000}n${i}`, 'down']);
    } else {
      run('ip', ['netns', 'exec', ns, 'ip', 'route', 'add', 'blackhole', peer]);
    }
  }

  /** Removes every cut; the namespaces stay. */
  heal(): void {
    for (let i = 0; i < this.size; i++) {
      const ns = this.netns(i);
      if (this.useNft) tryRun('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'qmqchaos']);
      else {
        // A fresh namespace has no iptables rules of its own: flushing removes only ours.
        if (this.usedIptables) for (const chain of ['INPUT', 'OUTPUT']) tryRun('ip', ['netns', 'exec', ns, 'iptables', '-F', chain]);
        tryRun('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', `${PREFIX}${process.pid % 100000}n${i}`, 'up']);
        tryRun('ip', ['netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', this.hostAddress(i)]);
        for (let j = 0; j < this.size; j++) tryRun('ip', ['netns', 'exec', ns, 'ip', 'route', 'del', 'blackhole', `10.${this.subnet}.${j}.0/24`]);
      }
    }
    this.cuts.clear();
  }

  private deleteNamespaces(): void {
    for (let i = 0; i < this.size; i++) {
      tryRun('ip', ['netns', 'del', this.netns(i)]);
      tryRun('ip', ['link', 'del', this.hostVeth(i)]);
    }
  }

  /** Puts back the ip_forward value from before the first lab, unless another lab still needs it. */
  private restoreForwardIfLast(): void {
    if (otherLiveLabs().length > 0 || !existsSync(SAVED_FORWARD)) return;
    try {
      const saved = readFileSync(SAVED_FORWARD, 'utf8').trim();
      if (saved !== '1') writeFileSync(IP_FORWARD, saved);
      unlinkSync(SAVED_FORWARD);
    } catch {
      // Read-only /proc: nothing we changed then either.
    }
  }

  /** Deletes the namespaces (their veth ends go with them); the last lab restores ip_forward. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.exitHook);
    try {
      withLabLock(() => {
        this.deleteNamespaces();
        this.restoreForwardIfLast();
      });
    } catch {
      // The lock is out of reach (a stuck peer, an unwritable /run): our namespaces go anyway, and
      // ip_forward stays on rather than be pulled from under another lab.
      this.deleteNamespaces();
    }
  }
}
