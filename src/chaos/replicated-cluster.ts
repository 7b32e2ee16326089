/**
 * `replicated`: three brokers with a `<replicatedLevelDB>` store (the seed's block) electing
 * through a private 3-node ZooKeeper ensemble. Each broker keeps its own journal, so a disk
 * fault on a stopped slave is a minority fault the master must repair. With partitions each
 * broker runs in a network namespace and reaches ZooKeeper through its own forwarders.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Ensemble } from '../../scripts/zookeeper.mjs';
import { BrokerNode } from './broker-node.js';
import { failoverUrl, findMaster, waitForMaster, type ChaosCluster, type ZkControl } from './cluster.js';
import { NodeNetwork } from './node-network.js';
import { freePort } from './ports.js';

export interface ReplicatedClusterOptions {
  size?: number;
  sync?: string;
  /** Short, so a pause of a few seconds really costs the paused node its session. */
  zkSessionTimeoutMs?: number;
  /** Each broker in a network namespace, so `partition` faults can cut it (needs root). */
  partitions?: boolean;
}

/** The ensemble script lives outside `src` (plain JS shared with the test runner); load it at run time. */
async function loadZooKeeperScript(): Promise<typeof import('../../scripts/zookeeper.mjs')> {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  return (await import(pathToFileURL(path.join(root, 'scripts/zookeeper.mjs')).href)) as typeof import('../../scripts/zookeeper.mjs');
}

export function replicatedXml(o: { brokerName: string; replicas: number; zkConnect: string; zkPath: string; sync: string; host: string; stompPort: number; zkSessionTimeoutMs: number }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<broker xmlns="http://activemq.apache.org/schema/core" brokerName="${o.brokerName}" dataDirectory="\${activemq.data}">
  <persistenceAdapter>
    <replicatedLevelDB directory="\${activemq.data}/leveldb" replicas="${o.replicas}" bind="tcp://${o.host}:0"
      zkAddress="${o.zkConnect}" zkPath="${o.zkPath}" zkSessionTimeout="${o.zkSessionTimeoutMs}ms" sync="${o.sync}"/>
  </persistenceAdapter>
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://${o.host}:${o.stompPort}"/>
  </transportConnectors>
</broker>
`;
}

/** Wraps the ensemble so that healing a server that is already up is a no-op. */
function zkControl(ensemble: Ensemble): ZkControl {
  const down = new Set<number>();
  return {
    ids: ensemble.nodes.map((n) => n.id),
    connectString: ensemble.connectString,
    async killNode(id) {
      await ensemble.killNode(id, 'SIGKILL');
      down.add(id);
    },
    async startNode(id) {
      if (!down.has(id)) return;
      await ensemble.startNode(id);
      down.delete(id);
    },
    stop: () => ensemble.stop(),
  };
}

export async function startReplicatedCluster(dir: string, o: ReplicatedClusterOptions = {}): Promise<ChaosCluster> {
  const size = o.size ?? 3;
  const zkSessionTimeoutMs = o.zkSessionTimeoutMs ?? 2000;
  const { startEnsemble } = await loadZooKeeperScript();
  const ensemble = await startEnsemble({ dir: path.join(dir, 'zookeeper'), nodes: 3, tickTimeMs: 500 });
  const zk = zkControl(ensemble);
  const nodes: BrokerNode[] = [];
  let net: NodeNetwork | undefined;
  try {
    net = NodeNetwork.open(size, o.partitions ?? false);
    for (let i = 1; i <= size; i++) {
      const host = net.host(i - 1);
      // Node i's own way to each ZooKeeper server: cutting its namespace cuts its session too.
      const zkAddresses = await Promise.all(ensemble.nodes.map((z) => net!.serviceAddress(i - 1, z.clientPort)));
      const zkConnect = zkAddresses.map((a) => `${a.host}:${a.port}`).join(',');
      const nodeDir = path.join(dir, `node-${i}`);
      const dataDir = path.join(nodeDir, 'data');
      mkdirSync(dataDir, { recursive: true });
      // Fixed STOMP ports, chosen once and kept across restarts, so the failover URL lists every node.
      const stompPort = await freePort();
      const configFile = path.join(nodeDir, 'activemq.xml');
      writeFileSync(
        configFile,
        replicatedXml({ brokerName: 'chaos', replicas: size, zkConnect, zkPath: '/qmq-chaos', sync: o.sync ?? 'quorum_disk', host, stompPort, zkSessionTimeoutMs }),
      );
      nodes.push(new BrokerNode({ name: `node-${i}`, dataDir, host, stompPort, httpPort: await freePort(), args: ['--config', configFile], netns: net.netns(i - 1) }));
    }
    for (const n of nodes) n.start();
    await waitForMaster(nodes, 60_000);
  } catch (e) {
    await Promise.all(nodes.map((n) => n.kill()));
    await net?.close();
    await ensemble.stop();
    throw e;
  }
  const network = net;
  return {
    mode: 'replicated',
    nodes,
    clientUrl: failoverUrl(nodes, network.lab ? 3000 : undefined),
    zk,
    network: network.lab,
    servicePorts: (i) => network.servicePorts(i),
    supports: new Set([
      'kill:master', 'kill:slave', 'pause:master', 'pause:slave', 'zk:one', 'zk:two', 'disk:truncate-last', 'disk:flip-old',
      ...(network.lab ? ['partition:isolate-master', 'partition:isolate-slave', 'partition:split', 'partition:cut-master'] : []),
    ]),
    unsupported: network.unavailable ? { partition: network.unavailable } : {},
    master: () => findMaster(nodes),
    waitServing: (timeoutMs) => waitForMaster(nodes, timeoutMs),
    close: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await network.close();
      await ensemble.stop();
    },
  };
}
