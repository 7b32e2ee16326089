/**
 * `jdbc`: brokers sharing one PostgreSQL database through `<jdbcPersistenceAdapter>` with a
 * lease locker (DESIGN §5). The lease holder serves; the others poll and take over once the
 * lease runs out, so a pause past the lease must cost the paused master its writes. With
 * partitions each broker runs in a network namespace and reaches PostgreSQL through its own
 * forwarder, so cutting a node cuts its database connection too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BrokerNode } from './broker-node.js';
import { failoverUrl, findMaster, waitForMaster, type ChaosCluster } from './cluster.js';
import { NodeNetwork } from './node-network.js';
import { freePort } from './ports.js';

export interface JdbcClusterOptions {
  size?: number;
  keepAliveMs?: number;
  /** The lease: a pause must outlast it (the run's pause default of 6 s does). */
  leaseMs?: number;
  /** Each broker in a network namespace, so `partition` faults can cut it (needs root). */
  partitions?: boolean;
}

async function loadPostgresScript(): Promise<typeof import('../../scripts/postgres.mjs')> {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  return (await import(pathToFileURL(path.join(root, 'scripts/postgres.mjs')).href)) as typeof import('../../scripts/postgres.mjs');
}

export function jdbcChaosXml(o: { brokerName: string; databaseUrl: string; host: string; stompPort: number; keepAliveMs: number; leaseMs: number }): string {
  const u = new URL(o.databaseUrl);
  const password = u.password ? `\n    <property name="password" value="${decodeURIComponent(u.password)}"/>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<beans xmlns="http://www.springframework.org/schema/beans">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="${o.brokerName}" dataDirectory="\${activemq.data}">
    <persistenceAdapter>
      <jdbcPersistenceAdapter dataSource="#chaos-pg" lockKeepAlivePeriod="${o.keepAliveMs}" createTablesOnStartup="true">
        <locker><lease-database-locker lockAcquireSleepInterval="${o.leaseMs}"/></locker>
      </jdbcPersistenceAdapter>
    </persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://${o.host}:${o.stompPort}"/>
    </transportConnectors>
  </broker>
  <bean id="chaos-pg" class="org.postgresql.ds.PGPoolingDataSource">
    <property name="serverName" value="${u.hostname}"/>
    <property name="portNumber" value="${u.port || 5432}"/>
    <property name="databaseName" value="${u.pathname.slice(1)}"/>
    <property name="user" value="${decodeURIComponent(u.username)}"/>${password}
  </bean>
</beans>
`;
}

export async function startJdbcCluster(dir: string, o: JdbcClusterOptions = {}): Promise<ChaosCluster> {
  const size = o.size ?? 3;
  const { startPostgres } = await loadPostgresScript();
  // PostgreSQL picks its own directory: it runs as the `postgres` user when we are root, and a
  // run's directory (often mkdtemp, mode 0700) may not be traversable by it.
  const pg = await startPostgres();
  const databaseUrl = await pg.createDatabase('qmq_chaos');
  const nodes: BrokerNode[] = [];
  let net: NodeNetwork | undefined;
  try {
    net = NodeNetwork.open(size, o.partitions ?? false);
    for (let i = 1; i <= size; i++) {
      const host = net.host(i - 1);
      // Node i's own way to the database: cutting its namespace cuts its connections too.
      const pgUrl = new URL(databaseUrl);
      const via = await net.serviceAddress(i - 1, Number(pgUrl.port || 5432));
      pgUrl.hostname = via.host;
      pgUrl.port = String(via.port);
      const nodeDir = path.join(dir, `node-${i}`);
      const dataDir = path.join(nodeDir, 'data');
      mkdirSync(dataDir, { recursive: true });
      const stompPort = await freePort();
      const configFile = path.join(nodeDir, 'activemq.xml');
      writeFileSync(configFile, jdbcChaosXml({ brokerName: `chaos-${i}`, databaseUrl: pgUrl.href, host, stompPort, keepAliveMs: o.keepAliveMs ?? 300, leaseMs: o.leaseMs ?? 1500 }));
      nodes.push(new BrokerNode({ name: `node-${i}`, dataDir, host, stompPort, httpPort: await freePort(), args: ['--config', configFile], netns: net.netns(i - 1) }));
    }
    for (const n of nodes) n.start();
    await waitForMaster(nodes, 60_000);
  } catch (e) {
    await Promise.all(nodes.map((n) => n.kill()));
    await net?.close();
    await pg.stop();
    throw e;
  }
  const network = net;
  return {
    mode: 'jdbc',
    nodes,
    clientUrl: failoverUrl(nodes, network.lab ? 3000 : undefined),
    network: network.lab,
    servicePorts: (i) => network.servicePorts(i),
    // The data lives in PostgreSQL, not on a broker's disk: no minority disk to damage.
    supports: new Set([
      'kill:master', 'kill:slave', 'pause:master', 'pause:slave',
      ...(network.lab ? ['partition:isolate-master', 'partition:isolate-slave', 'partition:split'] : []),
    ]),
    unsupported: network.unavailable ? { partition: network.unavailable } : {},
    master: () => findMaster(nodes),
    waitServing: (timeoutMs) => waitForMaster(nodes, timeoutMs),
    close: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await network.close();
      await pg.stop();
    },
  };
}
