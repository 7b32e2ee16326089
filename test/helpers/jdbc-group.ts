/**
 * JDBC master/slave groups of real broker processes: every broker gets an ActiveMQ-style XML
 * config pointing at one PostgreSQL database (a PGPoolingDataSource bean, as in ActiveMQ's docs)
 * and a fixed STOMP port, so a failover URL can list them all. Roles come from polling
 * `/api/status`; every process is stopped by PID.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './broker-process.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { BrokerNodeProcess } from './node-process.js';

export interface JdbcNodeStatus {
  role: 'master' | 'slave' | 'standby';
  epoch?: number;
  reason?: string;
  ha: Record<string, unknown>;
  connectors: Array<{ url: string; port: number }>;
}

export interface JdbcGroupOptions {
  /** postgres://user[:password]@host:port/database */
  databaseUrl: string;
  nodes?: number;
  lockKeepAlivePeriodMs?: number;
  lockAcquireSleepIntervalMs?: number;
  tablePrefix?: string;
}

export function jdbcXml(o: { brokerName: string; databaseUrl: string; stompPort: number; keepAliveMs: number; leaseMs: number; tablePrefix: string }): string {
  const u = new URL(o.databaseUrl);
  const password = u.password ? `\n    <property name="password" value="${decodeURIComponent(u.password)}"/>` : '';
  const statements = o.tablePrefix ? `\n      <statements><statements tablePrefix="${o.tablePrefix}"/></statements>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<beans xmlns="http://www.springframework.org/schema/beans">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="${o.brokerName}" dataDirectory="\${activemq.data}">
    <persistenceAdapter>
      <jdbcPersistenceAdapter dataSource="#pg-ds" lockKeepAlivePeriod="${o.keepAliveMs}" createTablesOnStartup="true">${statements}
        <locker>
          <lease-database-locker lockAcquireSleepInterval="${o.leaseMs}"/>
        </locker>
      </jdbcPersistenceAdapter>
    </persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${o.stompPort}"/>
    </transportConnectors>
  </broker>
  <bean id="pg-ds" class="org.postgresql.ds.PGPoolingDataSource">
    <property name="serverName" value="${u.hostname}"/>
    <property name="portNumber" value="${u.port || 5432}"/>
    <property name="databaseName" value="${u.pathname.slice(1)}"/>
    <property name="user" value="${decodeURIComponent(u.username)}"/>${password}
  </bean>
</beans>
`;
}

export class JdbcNode extends BrokerNodeProcess<JdbcNodeStatus> {}

export class JdbcGroup {
  constructor(readonly nodes: JdbcNode[]) {}

  failoverUrl(query = 'randomize=false&initialReconnectDelay=50&maxReconnectDelay=500'): string {
    return `failover:(${this.nodes.map((n) => n.url).join(',')})?${query}`;
  }

  statuses(): Promise<Array<JdbcNodeStatus | null>> {
    return Promise.all(this.nodes.map((n) => n.status()));
  }

  /** Waits until exactly one running node is master (optionally not `not`) and `slaves` others are slaves. */
  async waitForMaster(opts: { slaves?: number; timeoutMs?: number; not?: JdbcNode } = {}): Promise<{ master: JdbcNode; status: JdbcNodeStatus }> {
    return waitFor(
      `one master${opts.slaves !== undefined ? ` and ${opts.slaves} slave(s)` : ''}`,
      async () => {
        const st = await this.statuses();
        const masters = this.nodes.filter((_, i) => st[i]?.role === 'master');
        if (masters.length !== 1 || masters[0] === opts.not) return undefined;
        if (opts.slaves !== undefined && st.filter((s) => s?.role === 'slave').length < opts.slaves) return undefined;
        return { master: masters[0], status: st[this.nodes.indexOf(masters[0])]! };
      },
      opts.timeoutMs ?? 30_000,
      25,
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
  }
}

/** Writes the configs and starts the nodes in order (not waiting for roles). */
export async function startJdbcGroup(opts: JdbcGroupOptions): Promise<JdbcGroup> {
  const nodes: JdbcNode[] = [];
  for (let i = 0; i < (opts.nodes ?? 2); i++) {
    const dir = tempDir('qmq-jdbc-');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const stompPort = await freePort();
    const httpPort = await freePort();
    const name = `jdbc-${i + 1}`;
    const configFile = path.join(dir, 'activemq.xml');
    writeFileSync(
      configFile,
      jdbcXml({
        brokerName: name,
        databaseUrl: opts.databaseUrl,
        stompPort,
        keepAliveMs: opts.lockKeepAlivePeriodMs ?? 300,
        leaseMs: opts.lockAcquireSleepIntervalMs ?? 1500,
        tablePrefix: opts.tablePrefix ?? '',
      }),
    );
    nodes.push(new JdbcNode(name, dir, configFile, stompPort, httpPort));
  }
  for (const n of nodes) n.start();
  return new JdbcGroup(nodes);
}
