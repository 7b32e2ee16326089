/**
 * A cluster under test: its broker nodes, the failover URL that reaches them, and the
 * supporting services a mode needs (ZooKeeper). Modes plug in through `startCluster`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BrokerNode } from './broker-node.js';
import { startJdbcCluster } from './jdbc-cluster.js';
import type { FaultKind } from './faults.js';
import type { NetworkLab } from './network-lab.js';
import { freePort } from './ports.js';
import { startReplicatedCluster } from './replicated-cluster.js';

export type ChaosMode = 'single' | 'replicated' | 'sharedfs' | 'jdbc';
export const CHAOS_MODES: readonly ChaosMode[] = ['single', 'replicated', 'sharedfs', 'jdbc'];

/** ZooKeeper servers a fault can stop and start (scripts/zookeeper.mjs's ensemble). */
export interface ZkControl {
  ids: number[];
  connectString: string;
  killNode(id: number): Promise<void>;
  startNode(id: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ChaosCluster {
  mode: ChaosMode;
  nodes: BrokerNode[];
  /** `failover:(…)` over every node, with options suited to fast failover. */
  clientUrl: string;
  zk?: ZkControl;
  /** Set when the nodes run in network namespaces (partitions possible); node `i` is namespace `i`. */
  network?: NetworkLab;
  /** Host-side forwarder ports node `i` reaches ZooKeeper / PostgreSQL through (cut for the lone side of a split). */
  servicePorts?: (i: number) => number[];
  /** Why a fault kind this mode could otherwise run is skipped here (e.g. partitions without root). */
  unsupported?: Partial<Record<FaultKind, string>>;
  /** `kind:variant` faults that make sense here (no slave to kill in `single`, no ZooKeeper outside `replicated`). */
  supports: ReadonlySet<string>;
  /** The serving master, if one answers now. */
  master(): Promise<BrokerNode | undefined>;
  /** Waits until some node is master and serving. */
  waitServing(timeoutMs: number): Promise<BrokerNode>;
  close(): Promise<void>;
}

/**
 * `connectTimeoutMs` bounds each connect: an isolated node drops SYNs instead of refusing them,
 * and the client's default 10 s per attempt would be measured as failover time.
 */
export function failoverUrl(nodes: BrokerNode[], connectTimeoutMs?: number): string {
  const inner = connectTimeoutMs === undefined ? '' : `?connectionTimeout=${connectTimeoutMs}`;
  // Short back-off: a chaos run measures the broker's failover, not the client's patience.
  return `failover:(${nodes.map((n) => n.stompAddress + inner).join(',')})?randomize=false&initialReconnectDelay=50&maxReconnectDelay=500&startupMaxReconnectAttempts=-1`;
}

export interface StartClusterOptions {
  /** Run the nodes in network namespaces so `partition` faults can cut them (needs root). */
  partitions?: boolean;
}

export async function findMaster(nodes: BrokerNode[]): Promise<BrokerNode | undefined> {
  const answers = await Promise.all(nodes.map(async (n) => ((await n.isMaster()) ? n : undefined)));
  return answers.find((n) => n !== undefined);
}

export async function waitForMaster(nodes: BrokerNode[], timeoutMs: number): Promise<BrokerNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await findMaster(nodes);
    if (m) return m;
    if (Date.now() > deadline) {
      const tails = nodes.map((n) => `--- ${n.name} (${n.running ? (n.paused ? 'paused' : 'running') : 'down'}):\n${n.output().slice(-2000)}`).join('\n');
      throw new Error(`no master within ${timeoutMs} ms\n${tails}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `single`: one journal broker on loopback; a kill or pause is healed by restart or resume. */
export async function startSingleCluster(dir: string): Promise<ChaosCluster> {
  const dataDir = path.join(dir, 'node-1');
  mkdirSync(dataDir, { recursive: true });
  const node = new BrokerNode({ name: 'node-1', dataDir, host: '127.0.0.1', stompPort: await freePort(), httpPort: await freePort() });
  node.start();
  const nodes = [node];
  await waitForMaster(nodes, 30_000);
  return {
    mode: 'single',
    nodes,
    clientUrl: failoverUrl(nodes),
    supports: new Set(['kill:master', 'pause:master']),
    unsupported: { partition: 'single: one node has no peer to be cut from' },
    master: () => findMaster(nodes),
    waitServing: (timeoutMs) => waitForMaster(nodes, timeoutMs),
    close: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/**
 * `sharedfs`: three brokers on one journal directory (DESIGN §5). The first takes the kernel
 * lock and serves; the others wait on it and take over when the master dies or is fenced.
 */
export async function startSharedFsCluster(dir: string, size = 3): Promise<ChaosCluster> {
  const dataDir = path.join(dir, 'shared');
  mkdirSync(dataDir, { recursive: true });
  const nodes: BrokerNode[] = [];
  for (let i = 1; i <= size; i++) {
    nodes.push(new BrokerNode({ name: `node-${i}`, dataDir, host: '127.0.0.1', stompPort: await freePort(), httpPort: await freePort() }));
  }
  for (const n of nodes) n.start();
  await waitForMaster(nodes, 30_000);
  return {
    mode: 'sharedfs',
    nodes,
    clientUrl: failoverUrl(nodes),
    // One copy of the data: a disk fault would hit the master's store, not a minority's.
    supports: new Set(['kill:master', 'kill:slave', 'pause:master', 'pause:slave']),
    unsupported: {
      partition: 'sharedfs: the lock is a kernel lock on one shared directory, so a partition could only cut clients off, never a node off its lock',
    },
    master: () => findMaster(nodes),
    waitServing: (timeoutMs) => waitForMaster(nodes, timeoutMs),
    close: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

export async function startCluster(mode: ChaosMode, dir: string, o: StartClusterOptions = {}): Promise<ChaosCluster> {
  switch (mode) {
    case 'single':
      return startSingleCluster(dir);
    case 'sharedfs':
      return startSharedFsCluster(dir);
    case 'replicated':
      return startReplicatedCluster(dir, { partitions: o.partitions });
    case 'jdbc':
      return startJdbcCluster(dir, { partitions: o.partitions });
  }
}
