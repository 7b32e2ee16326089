/**
 * QuorumMQ's replicated mode as one bench broker: three real broker processes with the seed's
 * `<replicatedLevelDB>` block at `sync="quorum_disk"`, electing through a private 3-node
 * ZooKeeper ensemble (tickTime 500 ms, so the 2 s session timeout is granted). The group is
 * built by the chaos harness's `startReplicatedCluster`, so the bench measures exactly the
 * setup the chaos runs test. Scenarios talk to whichever node is master now; the `failover`
 * scenario kills it with SIGKILL and restarts it through `killMaster`/`restartKilled`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BrokerNode } from '../../src/chaos/broker-node.js';
import type { ChaosCluster } from '../../src/chaos/cluster.js';
import { startReplicatedCluster } from '../../src/chaos/replicated-cluster.js';
import { makeTempDir, onCleanup, sleep } from '../processes.js';
import { firstLogTime, zkExpiryTime, type FailoverPhases } from '../failover-stats.js';
import { REPLICATED_ZK_SESSION_TIMEOUT_MS } from '../targets.js';
import type { BenchBroker } from './types.js';

const START_TIMEOUT_MS = 120_000;

interface SlaveProgressView {
  nodeId?: string;
  lagBytes?: number;
}

/** The master's own view of its slaves, from `/api/status` (`ha.slaves`). */
export function caughtUpSlaves(status: Record<string, unknown> | undefined): number {
  const ha = status?.ha as { slaves?: SlaveProgressView[] } | undefined;
  if (status?.role !== 'master' || !Array.isArray(ha?.slaves)) return 0;
  return ha.slaves.filter((s) => s.lagBytes === 0).length;
}

export class ReplicatedGroup implements BenchBroker {
  readonly label = 'quorummq-replicated';
  readonly host = '127.0.0.1';
  readonly info: Record<string, string>;
  private master: BrokerNode;
  private killed: BrokerNode | undefined;

  private constructor(
    private readonly cluster: ChaosCluster,
    master: BrokerNode,
    private readonly release: () => Promise<void>,
    /** Where startReplicatedCluster put the ensemble: `<dir>/zookeeper/node<id>/zk.log`. */
    private readonly zkDir: string,
    sync: string,
  ) {
    this.master = master;
    this.info = { store: 'replicatedLevelDB', sync, nodes: '3', zkSessionTimeoutMs: String(REPLICATED_ZK_SESSION_TIMEOUT_MS) };
  }

  /** `sync` is the group's level; issue 5's targets are at `quorum_disk`, the other levels are for comparison. */
  static async start(log: (msg: string) => void, sync = 'quorum_disk'): Promise<ReplicatedGroup> {
    const { dir, remove } = makeTempDir('qmq-bench-replicated-');
    let starting: Promise<ChaosCluster> | undefined;
    // Registered before anything starts. The harness hands out its processes only once the
    // group is up, so Ctrl-C during the start waits for that (or its failure, which cleans up
    // after itself) and then takes the group down by PID.
    const unregister = onCleanup('replicated group (3 brokers, 3 ZooKeeper servers)', async () => {
      const started = await starting?.catch(() => undefined);
      await started?.close();
    });
    try {
      log(`starting a 3-node ZooKeeper ensemble and 3 replicated brokers (${sync})`);
      const groupDir = path.join(dir, 'group');
      starting = startReplicatedCluster(groupDir, { size: 3, sync, zkSessionTimeoutMs: REPLICATED_ZK_SESSION_TIMEOUT_MS });
      const cluster = await starting;
      const master = await cluster.waitServing(START_TIMEOUT_MS);
      const group = new ReplicatedGroup(cluster, master, async () => {
        await unregister();
        await remove();
      }, path.join(groupDir, 'zookeeper'), sync);
      await group.waitHealthy(START_TIMEOUT_MS);
      return group;
    } catch (e) {
      await unregister();
      await remove();
      throw e;
    }
  }

  get port(): number {
    return this.master.spec.stompPort;
  }

  /** The failover URL over every node, as a client of the group would use it. */
  get clientUrl(): string {
    return this.cluster.clientUrl;
  }

  /** `tcp://host:port` of the node serving now (the client's `connectedAddress` spelling). */
  get masterAddress(): string {
    return this.master.stompAddress;
  }

  pid(): number | undefined {
    return this.master.pid;
  }

  assertRunning(): void {
    if (this.cluster.nodes.every((n) => !n.running)) throw new Error('every node of the replicated group has exited');
    if (!this.master.running && this.killed !== this.master) {
      throw new Error(`the replicated master ${this.master.name} exited:\n${this.master.output().slice(-4000)}`);
    }
  }

  /**
   * Waits until one node serves and both others are its slaves with nothing left to copy, so
   * every measurement starts from a whole group. Also learns which node is master now.
   */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const master = await this.cluster.master();
      if (master) {
        this.master = master;
        if (caughtUpSlaves(await master.status()) >= this.cluster.nodes.length - 1) return;
      }
      if (Date.now() > deadline) {
        const tails = this.cluster.nodes.map((n) => `--- ${n.name} (${n.running ? 'running' : 'down'}):\n${n.output().slice(-1500)}`).join('\n');
        throw new Error(`the replicated group did not reach one master with ${this.cluster.nodes.length - 1} caught-up slaves within ${timeoutMs} ms\n${tails}`);
      }
      await sleep(100);
    }
  }

  /** `kill -9` of the master; resolves once the process is gone. The node stays down until `restartKilled`. */
  async killMaster(): Promise<BrokerNode> {
    const victim = this.master;
    this.killed = victim;
    await victim.kill();
    return victim;
  }

  /** Waits for a master other than the killed node; returns its address. */
  async waitNewMaster(timeoutMs: number): Promise<string> {
    const m = await this.cluster.waitServing(timeoutMs);
    this.master = m;
    return m.stompAddress;
  }

  /** Starts the killed node again on its data; it rejoins as a slave and catches up. */
  restartKilled(): void {
    const n = this.killed;
    this.killed = undefined;
    n?.start();
  }

  /**
   * The phases of a failover that began at `killAtMs` (epoch ms), read from the ZooKeeper
   * servers' logs (session expiry) and the current master's log (elected, ports open).
   */
  failoverPhases(killAtMs: number): FailoverPhases {
    let expiredAt: number | undefined;
    for (const id of this.cluster.zk?.ids ?? []) {
      let text = '';
      try {
        text = readFileSync(path.join(this.zkDir, `node${id}`, 'zk.log'), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        const t = zkExpiryTime(line);
        if (t !== undefined && t >= killAtMs && (expiredAt === undefined || t < expiredAt)) expiredAt = t;
      }
    }
    const out = this.master.output();
    const since = (t: number | undefined) => (t === undefined ? undefined : t - killAtMs);
    return {
      sessionExpiredMs: since(expiredAt),
      electedMs: since(firstLogTime(out, /^elected: epoch taken/, killAtMs)),
      portsOpenMs: since(firstLogTime(out, /^master: the epoch marker met the sync level/, killAtMs)),
    };
  }

  /** The serving node's `/api/status`. */
  masterStatus(): Promise<Record<string, unknown> | undefined> {
    return this.master.status();
  }

  /** The other running nodes' `/api/status`, in the order of `pids().slaves`. */
  slaveStatuses(): Promise<(Record<string, unknown> | undefined)[]> {
    return Promise.all(this.cluster.nodes.filter((n) => n !== this.master && n.pid !== undefined).map((n) => n.status()));
  }

  /** PIDs of the master and of the other running nodes, for tracing tools. */
  pids(): { master: number | undefined; slaves: number[] } {
    const slaves = this.cluster.nodes.filter((n) => n !== this.master).flatMap((n) => (n.pid === undefined ? [] : [n.pid]));
    return { master: this.master.pid, slaves };
  }

  /** The last log lines of every node, for a failed trial's report. */
  tails(chars = 1500): string {
    return this.cluster.nodes.map((n) => `--- ${n.name} (${n.running ? 'running' : 'down'}):\n${n.output().slice(-chars)}`).join('\n');
  }

  async stop(): Promise<void> {
    await this.release();
  }
}
