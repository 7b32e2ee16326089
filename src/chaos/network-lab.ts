/**
 * Network partitions for real: each broker runs in a network namespace of its own, joined to
 * the host by a veth pair, and the host routes between them. A cut is an nftables drop rule
 * inside the namespaces (blackhole routes when nft is missing). Everything is torn down at
 * `destroy()`, at process exit, and, for namespaces left by a killed run, at the next `create()`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const PREFIX = 'qmqc';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

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
  const removed: string[] = [];
  let list = '';
  try {
    list = run('ip', ['netns', 'list']);
  } catch {
    return removed;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}(\\d+)x\\d+$`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    tryRun('ip', ['netns', 'del', name]);
    removed.push(name);
  }
  return removed;
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
    private readonly savedForward: string | undefined,
  ) {}

  /** Creates `size` namespaces, each reachable from the host and from each other. */
  static create(size: number): NetworkLab {
    const why = networkLabUnavailable();
    if (why) throw new Error(why);
    removeStaleNamespaces();
    const subnet = 100 + (process.pid % 100);
    const savedForward = existsSync(IP_FORWARD) ? readFileSync(IP_FORWARD, 'utf8').trim() : undefined;
    const lab = new NetworkLab(size, subnet, savedForward);
    process.once('exit', lab.exitHook);
    try {
      // The host routes between the namespaces.
      if (savedForward !== '1') writeFileSync(IP_FORWARD, '1');
      for (let i = 0; i < size; i++) lab.createOne(i);
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
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

  /** Deletes the namespaces (their veth ends go with them) and restores ip_forward. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.exitHook);
    for (let i = 0; i < this.size; i++) {
      tryRun('ip', ['netns', 'del', this.netns(i)]);
      tryRun('ip', ['link', 'del', this.hostVeth(i)]);
    }
    if (this.savedForward !== undefined && this.savedForward !== '1') {
      try {
        writeFileSync(IP_FORWARD, this.savedForward);
      } catch {
        // Read-only /proc: nothing we changed then either.
      }
    }
  }
}
